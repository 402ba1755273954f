# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The contract between a module and its action plugin on the controller (plugins/plugin_utils/tenant_action.py):
what the action plugin passes in as options, what the module hands back in private result keys, and the names of
the facts the controller keeps for the rest of the run. The one place for these names; no I/O, no imports.
Internal use only: this API may change without notice.

Per task, the action plugin **decides** (tenant, lock, whether a kept token can be reused), **injects** the options
below, **runs** the module, **detaches** the private keys from its result (:func:`detach`) and **keeps** what they
carry for the next task of the run.
"""

# -- options the action plugin sets (a value given in a task is replaced, but for TOKEN_OPTION) -------------------

# An API 2.0 bearer token: a user's own, or the run's kept one (then KEPT_OPTION is true).
TOKEN_OPTION = "access_token"
# True when TOKEN_OPTION is the run's kept token: the module does not replace it itself when Mimecast refuses it at
# its first use, but says so (REFUSED_KEY); the action plugin renews it under the tenant's lock.
KEPT_OPTION = "kept_token"
# True when the task runs holding its tenant's lock (group_api removes a duplicate a resent create made only then).
LOCKED_OPTION = "tenant_locked"
# Off when the controller could not keep a token (a credential it cannot see, an async job): the module seals none.
REUSE_OPTION = "reuse_token"
# What an earlier listing of the run proved of the directory's root (group_resolve.py; :func:`known_root`).
ROOT_OPTION = "directory_root"
# The options only the action plugin may set: the task's own arguments show what the user gave, not these.
INJECTED_OPTIONS = (ROOT_OPTION, KEPT_OPTION, LOCKED_OPTION)

# -- private result keys: the module adds them, the action plugin removes them before anything else sees them ----

# The API 2.0 token the module fetched, sealed with the client secret (token_seal.py).
TOKEN_RESULT_KEY = "_community_mimecast_token"
# The kept token the module was given was refused at its first use, so nothing ran.
REFUSED_RESULT_KEY = "_community_mimecast_kept_token_refused"
# A directory root the module's full listing proved (a :func:`known_root` value).
ROOT_RESULT_KEY = "_community_mimecast_directory_root"

# -- the facts the controller keeps per tenant for the run (plugin_utils/run_store.py) -----------------------------

TOKEN_FACT = "token"
ROOT_FACT = "directory_root"


def known_root(value):
    """Return ``value`` as ``{"id": str, "groups": int, "witness": str (optional)}`` when it is one, else None (then
    nothing is known)."""
    if not isinstance(value, dict):
        return None
    root_id, groups = value.get("id"), value.get("groups")
    if not isinstance(root_id, str) or not root_id or isinstance(groups, bool):
        return None
    try:
        groups = int(groups)
    except (TypeError, ValueError):
        return None
    if groups < 0:
        return None
    fact = {"id": root_id, "groups": groups}
    witness = value.get("witness")
    if isinstance(witness, str) and witness:
        fact["witness"] = witness
    return fact


def detach(result):
    """Remove the private keys from a module's ``result``; return ``(sealed token or None, refused, known_root or
    None)``."""
    sealed = result.pop(TOKEN_RESULT_KEY, None)
    refused = bool(result.pop(REFUSED_RESULT_KEY, False))
    root = known_root(result.pop(ROOT_RESULT_KEY, None))
    return sealed, refused, root
