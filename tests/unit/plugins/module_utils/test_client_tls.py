# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The client's TLS, timeout and proxy handling against the real simulator over HTTPS (no stubbed transport)."""

import importlib.util
import pathlib

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.auth import ClientCredentialsAuth
from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastClient
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import MimecastError

SIMULATOR = pathlib.Path(__file__).resolve().parents[3] / "simulator" / "mimecast_simulator.py"
FIND = "/api/directory/find-groups"


def _load_simulator():
    spec = importlib.util.spec_from_file_location("mimecast_simulator_for_tls_tests", SIMULATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    sim = _load_simulator()
    server = sim.start_server(
        tls=True,
        cert_dir=str(tmp_path_factory.mktemp("tls")),
        log_requests=False,
        client_id="tls-client",
        client_secret="tls-client-secret",
    )
    yield server
    server.shutdown()


def client_for(server, **options):
    options.setdefault("max_retries", 0)
    return MimecastClient(server.url, ClientCredentialsAuth("tls-client", "tls-client-secret"), **options)


def test_https_url_is_served(tls_server):
    assert tls_server.url.startswith("https://127.0.0.1:")


def test_private_ca_given_by_ca_path_is_trusted(tls_server):
    data, _meta = client_for(tls_server, ca_path=tls_server.ca_cert).call(FIND)
    assert data and data[0]["folders"] == []


def test_unknown_ca_fails_with_a_tls_message(tls_server):
    with pytest.raises(MimecastError) as info:
        client_for(tls_server).call(FIND)
    assert "TLS failure" in info.value.message and "ca_path" in info.value.message


def test_requests_ca_bundle_cannot_override_the_verification_choice(tls_server, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_server.ca_cert)
    monkeypatch.setenv("CURL_CA_BUNDLE", tls_server.ca_cert)
    with pytest.raises(MimecastError) as info:
        client_for(tls_server).call(FIND)
    assert "TLS failure" in info.value.message


def test_validate_certs_false_skips_verification(tls_server):
    data, _meta = client_for(tls_server, validate_certs=False).call(FIND)
    assert data


def test_slow_answer_times_out_with_a_clear_message(tls_server):
    client = client_for(tls_server, ca_path=tls_server.ca_cert, timeout=0.3)
    client.call(FIND)  # fetch the token first, so the delay below hits the API call
    tls_server.state.set_faults({"rules": [{"kind": "delay", "ms": 1500, "times": 1}]})
    try:
        with pytest.raises(MimecastError) as info:
            client.call(FIND)
    finally:
        tls_server.state.set_faults([])
    assert "Timed out after 0.3s waiting for" in info.value.message


def test_unreachable_proxy_is_named(tls_server):
    client = client_for(tls_server, ca_path=tls_server.ca_cert, proxy="http://127.0.0.1:9")
    with pytest.raises(MimecastError) as info:
        client.call(FIND)
    assert info.value.message.startswith("Proxy failure reaching https://127.0.0.1:")
