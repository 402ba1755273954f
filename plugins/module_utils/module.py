# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module base every community.mimecast module uses: the shared connection options (mirrored one for one
by the ``community.mimecast.mimecast`` doc fragment), credential checks, and the client built from them.
Internal use only: this API may change without notice.
"""

import contextlib
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.community.mimecast.plugins.module_utils.auth import ApiKeyAuth, ClientCredentialsAuth
from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastClient
from ansible_collections.community.mimecast.plugins.module_utils.credentials import (
    BASE_URL_ENV,
    SECRET_OPTIONS,
    ConnectionOptionsError,
    effective_base_url,
    resolve_credentials,
    validate_base_url,
)
from ansible_collections.community.mimecast.plugins.module_utils.group_api import GroupDirectory
from ansible_collections.community.mimecast.plugins.module_utils.http_transport import Proxy
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import MimecastError
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import (
    KEPT_OPTION,
    LOCKED_OPTION,
    REFUSED_RESULT_KEY,
    REUSE_OPTION,
    ROOT_OPTION,
    ROOT_RESULT_KEY,
    TOKEN_OPTION,
    TOKEN_RESULT_KEY,
    known_root,
)


def connection_argument_spec():
    """Return the argument spec of the connection options shared by every module."""
    return dict(
        base_url=dict(type="str", fallback=(env_fallback, [BASE_URL_ENV])),
        access_key=dict(type="str", no_log=False),
        secret_key=dict(type="str", no_log=True),
        app_id=dict(type="str"),
        app_key=dict(type="str", no_log=True),
        client_id=dict(type="str"),
        client_secret=dict(type="str", no_log=True),
        access_token=dict(type="str", no_log=True),
        reuse_token=dict(type="bool", default=True),
        kept_token=dict(type="bool", default=False),
        tenant_locked=dict(type="bool", default=False),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        proxy=dict(type="str"),
        timeout=dict(type="float", default=30),
        max_retries=dict(type="int", default=3),
        directory_root=dict(type="dict"),
    )


class MimecastModule(AnsibleModule):
    """AnsibleModule with the shared connection options, their checks, and one client per run."""

    def __init__(self, argument_spec=None, **kwargs):
        spec = connection_argument_spec()
        spec.update(argument_spec or {})
        super().__init__(argument_spec=spec, **kwargs)
        self._client = None
        self._directory = None
        self._mask_proxy_password(self.params.get("proxy"))

    def _mask_proxy_password(self, proxy):
        """Keep the password of a ``proxy`` URL out of all output from the start, also when the task fails before
        its client is built (http_transport.Proxy reads the URL, as the transport does)."""
        if not proxy:
            return
        try:
            secrets = Proxy(proxy, "proxy").secrets
        except ValueError:
            return  # the transport refuses the URL, naming the option only
        self.no_log_values.update(secrets)

    def directory(self):
        """Return the task's GroupDirectory, knowing what an earlier task of the run learnt of the directory's root
        (``directory_root``, which the action plugin fills; group_resolve.py)."""
        if self._directory is None:
            self._directory = GroupDirectory(
                self.client(),
                known_root=known_root(self.params.get(ROOT_OPTION)),
                warn=self.warn,
                locked=bool(self.params.get(LOCKED_OPTION)),
            )
        return self._directory

    def client(self):
        """Return the MimecastClient for this task; bad connection options fail the task before any request."""
        if self._client is None:
            try:
                self._client = self._build_client()
            except ValueError as exc:  # bad options, or a secret key that is not base64
                self.fail_json(msg=str(exc))
        return self._client

    def _build_client(self):
        params = self.params
        kind, credentials = resolve_credentials(params, os.environ)
        for option in SECRET_OPTIONS:
            if option in credentials:
                self.no_log_values.add(credentials[option])
        base_url = validate_base_url(effective_base_url(params, os.environ), kind)
        if params["timeout"] <= 0:
            raise ConnectionOptionsError("timeout must be a positive number of seconds, got %s" % params["timeout"])
        if params["max_retries"] < 0:
            raise ConnectionOptionsError("max_retries must be 0 or more, got %s" % params["max_retries"])
        if kind == "api1":
            auth = ApiKeyAuth(
                credentials["access_key"], credentials["secret_key"], credentials["app_id"], credentials["app_key"]
            )
        else:
            auth = ClientCredentialsAuth(
                credentials.get("client_id"),
                credentials.get("client_secret"),
                credentials.get(TOKEN_OPTION),
                kept=params.get(KEPT_OPTION) and params.get(REUSE_OPTION),
            )
        return MimecastClient(
            base_url,
            auth,
            validate_certs=params["validate_certs"],
            ca_path=params.get("ca_path"),
            timeout=params["timeout"],
            proxy=params.get("proxy"),
            max_retries=params["max_retries"],
            register_secret=self.no_log_values.add,
            warn=self.warn,
        )

    def exit_json(self, **kwargs):
        super().exit_json(**self._with_run_facts(kwargs))

    def fail_json(self, msg, **kwargs):
        super().fail_json(msg, **self._with_run_facts(kwargs))

    def _with_run_facts(self, result):
        """Add ``requests`` (what the task sent, and the last rate-limit figures: :meth:`request_counts`), and what
        later tasks of the run may reuse, for the action plugin to keep and remove from the result: the API 2.0
        token this task fetched (sealed), and what its listing proved of the directory's root."""
        result = dict(result, requests=self.request_counts())
        directory = getattr(self, "_directory", None)
        if directory is not None and directory.learnt_root is not None:
            result = dict(result, **{ROOT_RESULT_KEY: directory.learnt_root})
        return self._with_sealed_token(result)

    def request_counts(self):
        """What the task's client sent, by endpoint, and the last rate-limit figures; zeros before any client."""
        client = getattr(self, "_client", None)  # none yet when the options were refused
        if client is None:
            return {"total": 0, "by_endpoint": {}, "limit": None, "remaining": None}
        return client.request_counts()

    def _with_sealed_token(self, result):
        """Add the API 2.0 token this task fetched, for the action plugin to keep for the next task of the run.

        Only sealed with the client secret (module_utils/token_seal.py), so the module's output carries nothing
        usable without it, and only when ``reuse_token`` is on (the action plugin turns it off when it cannot
        keep the token: a credential it cannot see, an async job). The action plugin removes it from the result
        before anything else sees it.
        """
        sealed = None
        client = getattr(self, "_client", None)  # none yet when the argument spec itself failed
        if client is not None and getattr(client.auth, "kept_refused", False):
            result = dict(result, **{REFUSED_RESULT_KEY: True})  # nothing ran: the action plugin renews the token
        if client is not None and self.params.get(REUSE_OPTION):
            sealed = getattr(client.auth, "sealed_fetched_token", lambda: None)()
        if sealed is None:
            return result
        return dict(result, **{TOKEN_RESULT_KEY: sealed})

    @contextlib.contextmanager
    def failures(self):
        """Turn every failure inside the block into a clear failed task, never a bare Python traceback.

        Mimecast's own errors keep their HTTP status, code and messages; bad input found by the group
        logic (``ValueError``, GroupError) its message; anything else is reported as unexpected, with the
        traceback kept for ``-vvv``. Every message passes through the client's redaction.
        """
        try:
            yield
        except MimecastError as exc:
            self.fail_json(msg=exc.message, **exc.details())
        except ValueError as exc:  # GroupError is one
            self.fail_json(msg=self._redact(str(exc)))
        except Exception as exc:
            self.fail_json(
                msg="Unexpected error (%s): %s" % (type(exc).__name__, self._redact(str(exc))),
                exception=self._redact(traceback.format_exc()),
            )

    def _redact(self, text):
        return self._client.redact(text) if self._client else text
