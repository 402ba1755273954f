# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # Connection options shared by every community.mimecast module; mirrors
    # plugins/module_utils/module.py connection_argument_spec() one for one.
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/community.mimecast.mimecast) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - community.mimecast.mimecast
options:
  base_url:
    description:
      - Base URL of the Mimecast API host, without a path.
      - For API 2.0 credentials it defaults to the global gateway V(https://api.services.mimecast.com);
        V(https://uk-api.services.mimecast.com) and V(https://us-api.services.mimecast.com) keep data in region.
      - Required with API 1.0 keys; use your account's regional host, for example V(https://eu-api.mimecast.com),
        V(https://us-api.mimecast.com), V(https://de-api.mimecast.com), V(https://ca-api.mimecast.com),
        V(https://za-api.mimecast.com), V(https://au-api.mimecast.com) or V(https://je-api.mimecast.com).
      - Plain V(http://) is refused except to a loopback address (a local test simulator).
      - If not set (or null), the E(MIMECAST_BASE_URL) environment variable is used.
    type: str
  access_key:
    description:
      - API 1.0 access key. Use together with O(secret_key), O(app_id) and O(app_key).
      - Credentials are taken as one set, either all from task options or all from the environment variables
        E(MIMECAST_ACCESS_KEY), E(MIMECAST_SECRET_KEY), E(MIMECAST_APP_ID), E(MIMECAST_APP_KEY),
        E(MIMECAST_CLIENT_ID), E(MIMECAST_CLIENT_SECRET); the variables are read only when no credential option
        is set. Exactly one complete set, API 1.0 or API 2.0, must be given.
    type: str
  secret_key:
    description:
      - API 1.0 secret key (base64, as Mimecast issued it). Used to sign each request; never sent.
      - Environment variable E(MIMECAST_SECRET_KEY), see O(access_key).
    type: str
  app_id:
    description:
      - API 1.0 application ID of the registered API application.
      - Environment variable E(MIMECAST_APP_ID), see O(access_key).
    type: str
  app_key:
    description:
      - API 1.0 application key of the registered API application.
      - Environment variable E(MIMECAST_APP_KEY), see O(access_key).
    type: str
  client_id:
    description:
      - API 2.0 client ID. Use together with O(client_secret). A bearer token is requested from
        C({base_url}/oauth/token) with the client-credentials grant, once per run and credentials (see
        O(reuse_token)).
      - The API 2.0 application needs the C(User and Group Management) product.
      - Environment variable E(MIMECAST_CLIENT_ID), see O(access_key).
    type: str
  client_secret:
    description:
      - API 2.0 client secret.
      - Environment variable E(MIMECAST_CLIENT_SECRET), see O(access_key).
    type: str
  access_token:
    description:
      - An API 2.0 bearer token fetched earlier, used instead of fetching one.
      - With O(client_id) and O(client_secret) (options or environment variables), a token Mimecast refuses
        (expired or revoked) is replaced by a new one transparently, once, whatever O(max_retries) (the
        replacement spends no retry). Given alone, a refused token fails the task with an error that names
        O(access_token).
      - Not needed for reuse within a run, which is automatic, see O(reuse_token). Cannot be used with API 1.0
        keys.
    type: str
  reuse_token:
    description:
      - Reuse one API 2.0 bearer token for every task of the run with the same O(base_url), O(client_id) and
        O(client_secret), instead of fetching one per task.
      - The token a task fetched is removed from its result on the controller and kept in a file (mode 0600) in
        the run's own local temporary directory (under C(local_tmp), by default C(~/.ansible/tmp)), which Ansible
        removes when the run ends; the next task with the same credentials is given it. A token with less than
        five minutes left is not passed on; a refused one is replaced by a new one, which is kept in turn.
      - With V(false) every task fetches its own token and nothing is kept.
      - No effect with API 1.0 keys, with a task run with C(async), or when the task runs on another host and
        its credentials or O(base_url) come from that host's environment (the controller cannot tell them).
      - A kept token Mimecast refuses (revoked) is replaced once for all the forks that meet it, under the
        tenant's lock, and that replacement costs no retry of O(max_retries).
    type: bool
    default: true
  kept_token:
    description:
      - Set by the collection's action plugin, not by hand; a value given in a task is replaced. V(true) when
        O(access_token) is the token the run kept. If Mimecast refuses it at its first use, the module sends
        nothing more and the action plugin runs it once more, holding the tenant's lock, with the token another
        task kept meanwhile or with none (a new one is fetched and kept). Nothing ran in the first run.
    type: bool
    default: false
  tenant_locked:
    description:
      - Set by the collection's action plugin, not by hand; a value given in a task is replaced. V(true) when the
        task runs holding its tenant's lock. Only then is a second empty group of a name this task created (after
        a create sent again) provably this task's own and removed; without the lock the task fails naming both
        ids.
    type: bool
    default: false
  validate_certs:
    description:
      - Whether to verify the API host's TLS certificate. Only set to V(false) against a test host.
    type: bool
    default: true
  ca_path:
    description:
      - Path of a PEM bundle of CA certificates to trust instead of the default ones, for a TLS-inspecting
        proxy or a private CA. When given, it is the only bundle trusted; no environment variable replaces it
        or adds to it.
      - If not set, the default trust store of Python's C(ssl) module is used (the system's CA certificates, or
        what OpenSSL's E(SSL_CERT_FILE) and E(SSL_CERT_DIR) name). E(REQUESTS_CA_BUNDLE) plays no part.
    type: path
  proxy:
    description:
      - URL of an HTTP proxy for all requests, V(http://host:port), optionally with credentials
        (V(http://user:password@host:port), sent as Basic C(Proxy-Authorization)). HTTPS requests go through it
        by C(CONNECT), so TLS runs end to end with Mimecast. V(https://) and C(socks) proxy URLs are refused
        before any request.
      - If not set, the E(HTTPS_PROXY), E(HTTP_PROXY) and E(ALL_PROXY) environment variables apply (either case,
        the same rules), and E(NO_PROXY) names the hosts reached directly.
    type: str
  timeout:
    description:
      - Seconds to wait for a connection or for an answer, per request.
      - After any failure of a write that may have reached Mimecast (a timeout, a dropped or reset connection,
        an HTTP 5xx, a gateway's page), Mimecast may still be running it, so it is confirmed by reading more than
        once over a settle window of twice O(timeout) after the failure, and sent again only if it is still absent
        after the window. Only a rate limit (HTTP 429) and a failure to connect skip the window.
      - A group create sent again is read once more one settle window after its answer; a second group of that
        name under that parent that the task's earlier try made (empty, no child, a cloud group) is deleted, with
        a warning. So a first try that lands up to twice the window after its failure (5 x O(timeout) after it was
        sent, for a timed-out create) leaves no duplicate. Any other second group fails the task, naming both ids.
    type: float
    default: 30
  max_retries:
    description:
      - How many times a failed request is retried. The budget is per request. It covers every send of that
        request (HTTP 429 waits, bearer token refreshes and, for a write, the sends between its confirmation
        rounds alike) and the API 2.0 token request sent for it. A read sent to confirm what a write did is a
        request of its own, with a budget of its own, so a write is sent at most O(max_retries) + 1 times and so
        is each read that confirms it. A rate-limited request (HTTP 429) is retried after the wait
        Mimecast asks for; reads are retried after server errors and dropped connections with jittered
        exponential backoff. A write whose outcome is unknown is never re-sent blindly; the directory is read
        first. Each retry is reported as a warning. V(0) disables retries.
      - When O(max_retries) is used up with writes whose outcome is still unknown, the task fails, names them
        in the result key C(unknown), and reports C(changed); a re-run converges.
    type: int
    default: 3
  directory_root:
    description:
      - Set by the collection's action plugin, not by hand; a value given in a task is replaced. It holds what an
        earlier task of the same ansible-playbook run learnt from a full listing of the tenant's directory, the id
        of its invisible root (C(id)), how many groups it held (C(groups)) and the name of one root-level group
        (C(witness), whose search shows that the root's id is still current). With it, a group is found by name
        searches instead of the full listing; in any doubt the listing is read as without it. Kept on the
        controller for the run only, like the API 2.0 token.
    type: dict
notes:
  - All community.mimecast modules are in the action group C(community.mimecast.mimecast), so
    C(module_defaults) can set the connection once for all of them.
  - Keep the secrets in C(module_defaults) fed from Ansible Vault, or in the E(MIMECAST_*) variables of the
    controller's environment (as AWX and AAP credentials inject them); never in a task's or play's C(environment)
    keyword, whose values Ansible prints at C(-vvv).
  - Paths of groups (O(community.mimecast.mimecast_group#module:parent),
    O(community.mimecast.mimecast_group_tree#module:groups), O(community.mimecast.mimecast_group_tree#module:root),
    O(community.mimecast.mimecast_group_info#module:parent), and every path a module returns) are group names from
    the root joined by C(/). A C(/) inside a name is written V(\\/) and a backslash V(\\\\); no other escape
    exists. So V(Sales\\/Marketing) is the one root group C(Sales/Marketing), and V(A/B\\/C) the group C(B/C)
    under C(A). In YAML, write such a path unquoted or in single quotes (V('Sales\\/Marketing')); in double quotes
    each backslash is doubled (V("Sales\\\\/Marketing")). A lone backslash, any other escape, or an empty name
    (V(A//B)) is refused before any request.
requirements:
  - Python 3.9 or later on the host that runs the module; nothing beyond its standard library.
"""
