# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The standard-library transport against real sockets: small HTTP/1.1 peers made here (keep-alive, a peer that
breaks off at each step, a CONNECT proxy), and the simulator over HTTPS. Each failure must land on the right side
of "sent": before it the request provably never left, after it a write may have run."""

import base64
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.auth import ApiKeyAuth, ClientCredentialsAuth
from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastClient
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import MimecastError
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import APP_KEY, SECRET_KEY
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.test_client_tls import (
    FIND,
    _load_simulator,
)

PROXY_VARIABLES = [name for variable in http_transport.PROXY_VARIABLES for name in (variable, variable.upper())]
ANSWER = b'{"meta": {"status": 200}, "data": [], "fail": []}'


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def read_request(reader):
    """``(request line, {lower-case header: value}, body)`` of one request, or None at the end of the stream."""
    line = reader.readline()
    if not line:
        return None
    headers = {}
    while True:
        header = reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _sep, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", 0)))
    return line.decode("latin-1").strip(), headers, body


def answer(status=200, body=ANSWER, extra=""):
    head = "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (
        status,
        len(body),
        extra,
    )
    return head.encode("latin-1") + body


class Peer:
    """A TCP server on 127.0.0.1: each accepted connection is given to ``behaviour(sock, reader, peer)`` in a thread
    of its own. It counts connections and records every request a behaviour read."""

    def __init__(self, behaviour, context=None):
        self.behaviour = behaviour
        self.context = context
        self.connections = 0
        self.requests = []
        self.closed = threading.Event()  # set when a behaviour closed a connection on purpose
        self.release = threading.Event()  # behaviours that hang wait for it
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if context else "http", self.port)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _address = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        reader = None
        try:
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_side=True)
            reader = sock.makefile("rb")
            self.behaviour(sock, reader, self)
        except OSError:
            pass
        finally:
            if reader is not None:
                reader.close()
            sock.close()

    def read(self, reader):
        request = read_request(reader)
        if request is not None:
            self.requests.append(request)
        return request

    def stop(self):
        self.release.set()
        self.listener.close()


@pytest.fixture
def peer():
    peers = []

    def start(behaviour, context=None):
        peers.append(Peer(behaviour, context))
        return peers[-1]

    yield start
    for each in peers:
        each.stop()


def keep_alive(sock, reader, peer):
    while peer.read(reader) is not None:
        sock.sendall(answer())


def close_after_answer(sock, reader, peer):
    """Answers as HTTP/1.1 (no "Connection: close") and closes anyway, as an idle timeout does."""
    if peer.read(reader) is not None:
        sock.sendall(answer())
        time.sleep(0.05)
        sock.shutdown(socket.SHUT_RDWR)
        peer.closed.set()


def close_after_request(sock, reader, peer):
    peer.read(reader)


def never_answer(sock, reader, peer):
    peer.read(reader)
    peer.release.wait(10)


def break_off_the_body(sock, reader, peer):
    peer.read(reader)
    sock.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"meta": {"sta')


def client_for(url, **options):
    """A client with the unit tests' API 1.0 keys: for the peers made here, which check no signature."""
    options.setdefault("max_retries", 0)
    return MimecastClient(url, ApiKeyAuth("unit-access-key", SECRET_KEY, "unit-app-id", APP_KEY), **options)


def sim_client(url, **options):
    """A client with the API 2.0 credentials the simulators of ``tls_servers`` know."""
    options.setdefault("max_retries", 0)
    return MimecastClient(url, ClientCredentialsAuth("tls-client", "tls-client-secret"), **options)


# -- keep-alive, bodies, headers ---------------------------------------------------------------------------------


def test_one_connection_carries_every_request_of_a_run(peer):
    server = peer(keep_alive)
    session = http_transport.HttpSession(5)
    answers = [session.post(server.url + "/api/x", data="{}") for _request in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert server.connections == 1 and len(server.requests) == 3
    assert answers[0].json()["meta"]["status"] == 200 and answers[0].headers.get("content-type") == "application/json"


def test_a_connection_the_server_closed_while_idle_is_replaced_and_nothing_is_sent_twice(peer):
    server = peer(close_after_answer)
    session = http_transport.HttpSession(5)
    assert session.post(server.url + "/api/a", data="{}").status_code == 200
    assert server.closed.wait(5)
    time.sleep(0.1)
    assert session.post(server.url + "/api/b", data="{}").status_code == 200
    assert server.connections == 2
    assert [line for line, _h, _b in server.requests] == ["POST /api/a HTTP/1.1", "POST /api/b HTTP/1.1"]


def test_a_connection_idle_longer_than_servers_keep_it_is_replaced(peer, monkeypatch):
    server = peer(keep_alive)
    session = http_transport.HttpSession(5)
    session.post(server.url + "/api/a", data="{}")
    monkeypatch.setattr(http_transport, "MAX_IDLE", 0.0)
    time.sleep(0.01)
    session.post(server.url + "/api/b", data="{}")
    assert server.connections == 2 and len(server.requests) == 2


def test_form_and_json_bodies_and_the_headers_sent(peer):
    server = peer(keep_alive)
    client = client_for(server.url)
    session = client.session
    session.post(server.url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": "a b&c"})
    client.call(FIND, [{"query": "Finance"}])
    (form_line, form_headers, form), (json_line, json_headers, body) = server.requests
    assert form_line == "POST /oauth/token HTTP/1.1"
    assert form_headers["content-type"] == "application/x-www-form-urlencoded"
    assert form == b"grant_type=client_credentials&client_id=a+b%26c"
    assert json_line == "POST %s HTTP/1.1" % FIND
    assert json_headers["content-type"] == "application/json" and json.loads(body) == {"data": [{"query": "Finance"}]}
    for headers in (form_headers, json_headers):
        assert headers["host"] == "127.0.0.1:%d" % server.port
        assert headers["accept"] == "application/json" and headers["user-agent"] == "community.mimecast"
    assert json_headers["authorization"].startswith("MC unit-access-key:")


# -- failures before sending: never sent, not counted --------------------------------------------------------------


def free_port():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


def test_a_refused_connection_was_never_sent():
    url = "http://127.0.0.1:%d" % free_port()
    with pytest.raises(http_transport.ConnectError) as info:
        http_transport.HttpSession(5).post(url + FIND, data="{}")
    assert info.value.sent is False and not isinstance(info.value, http_transport.ConnectTimeout)
    client = client_for(url)
    with pytest.raises(MimecastError) as failure:
        client.call(FIND)
    assert failure.value.message.startswith("Could not connect to %s" % url)
    assert failure.value.retryable and not failure.value.uncertain and not failure.value.still_running
    assert client.request_counts()["total"] == 0


def test_an_unresolvable_host_was_never_sent():
    with pytest.raises(http_transport.ResolveError) as info:
        http_transport.HttpSession(5).post("https://no-such-host.invalid" + FIND, data="{}")
    assert info.value.sent is False


def test_a_tls_handshake_that_never_completes_is_a_connect_timeout(peer):
    server = peer(never_answer)  # accepts, reads nothing: the client's hello waits for an answer
    url = "https://127.0.0.1:%d" % server.port
    started = time.monotonic()
    with pytest.raises(http_transport.ConnectTimeout) as info:
        http_transport.HttpSession(0.3).post(url + FIND, data="{}")
    assert info.value.sent is False and time.monotonic() - started < 3
    client = client_for(url, timeout=0.3)
    with pytest.raises(MimecastError) as failure:
        client.call(FIND)
    assert "Timed out after 0.3s connecting to" in failure.value.message and not failure.value.uncertain
    assert client.request_counts()["total"] == 0


# -- failures after sending: in doubt, counted ---------------------------------------------------------------------


def test_a_server_that_closes_after_reading_the_request_leaves_it_in_doubt(peer):
    server = peer(close_after_request)
    with pytest.raises(http_transport.ConnectionDropped) as info:
        http_transport.HttpSession(5).post(server.url + FIND, data="{}")
    assert info.value.sent is True and len(server.requests) == 1
    client = client_for(server.url)
    with pytest.raises(MimecastError) as failure:
        client.call(FIND)
    assert failure.value.message.startswith("Connection to %s failed" % server.url)
    assert failure.value.uncertain and failure.value.still_running and failure.value.retryable
    assert client.request_counts()["total"] == 1


def test_no_answer_within_the_timeout_is_a_read_timeout(peer):
    server = peer(never_answer)
    with pytest.raises(http_transport.ReadTimeout) as info:
        http_transport.HttpSession(0.3).post(server.url + FIND, data="{}")
    assert info.value.sent is True and len(server.requests) == 1
    client = client_for(server.url, timeout=0.3)
    with pytest.raises(MimecastError) as failure:
        client.call(FIND)
    assert "Timed out after 0.3s waiting for" in failure.value.message and failure.value.still_running
    assert client.request_counts()["total"] == 1


def test_a_body_that_breaks_off_leaves_the_request_in_doubt(peer):
    server = peer(break_off_the_body)
    with pytest.raises(http_transport.BrokenAnswer) as info:
        http_transport.HttpSession(5).post(server.url + FIND, data="{}")
    assert info.value.sent is True
    client = client_for(server.url)
    with pytest.raises(MimecastError) as failure:
        client.call(FIND)
    assert failure.value.message.startswith("Request to %s%s failed" % (server.url, FIND))
    assert failure.value.uncertain and client.request_counts()["total"] == 1


def test_a_header_http_does_not_allow_is_never_sent(peer):
    server = peer(keep_alive)
    with pytest.raises(http_transport.RequestError) as info:
        http_transport.HttpSession(5).post(server.url + FIND, data="{}", headers={"x-mc-app-id": "app\r\nX: y"})
    assert info.value.sent is False and "app" not in str(info.value) and server.requests == []


# -- TLS: the simulator over HTTPS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_servers(tmp_path_factory):
    sim = _load_simulator()
    servers = [
        sim.start_server(
            tls=True,
            cert_dir=str(tmp_path_factory.mktemp("tls")),
            log_requests=False,
            client_id="tls-client",
            client_secret="tls-client-secret",
        )
        for _server in range(2)
    ]
    yield servers
    for server in servers:
        server.shutdown()


def test_ssl_cert_file_cannot_replace_ca_path(tls_servers, monkeypatch):
    server, other = tls_servers
    monkeypatch.setenv("SSL_CERT_FILE", server.ca_cert)
    client = sim_client(server.url, ca_path=other.ca_cert)  # the other server's CA: not this server's
    with pytest.raises(MimecastError) as info:
        client.call(FIND)
    assert "TLS failure" in info.value.message and client.request_counts()["total"] == 0
    assert sim_client(server.url, ca_path=server.ca_cert).call(FIND)[1]["status"] == 200


def test_without_ca_path_the_default_trust_store_is_used(tls_servers, monkeypatch):
    server = tls_servers[0]
    monkeypatch.setenv("SSL_CERT_FILE", server.ca_cert)  # OpenSSL's own variable for the default store
    assert sim_client(server.url).call(FIND)[1]["status"] == 200


def test_a_ca_path_that_cannot_be_loaded_is_a_tls_failure_before_sending(tls_servers, tmp_path):
    bundle = tmp_path / "not-a-bundle.pem"
    bundle.write_text("not a certificate\n")
    for path in (str(bundle), str(tmp_path / "missing.pem")):
        client = sim_client(tls_servers[0].url, ca_path=path)
        with pytest.raises(MimecastError) as info:
            client.call(FIND)
        assert "TLS failure" in info.value.message and "ca_path %s cannot be loaded" % path in info.value.message
        assert client.request_counts()["total"] == 0


def test_one_tls_connection_carries_every_request_of_a_run(peer, tmp_path):
    ca_cert, cert_file, key_file = _load_simulator().generate_tls_files(str(tmp_path))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = peer(keep_alive, context)
    session = http_transport.HttpSession(5, ca_path=ca_cert)
    assert [session.post(server.url + FIND, data="{}").status_code for _request in range(3)] == [200] * 3
    assert server.connections == 1 and len(server.requests) == 3


# -- proxies ----------------------------------------------------------------------------------------------------


class ConnectProxy(Peer):
    """A proxy: CONNECT opens a tunnel to 127.0.0.1 at the port asked for, whatever the host name (so a name the
    certificate does not hold still reaches the simulator); a request with an absolute URI is answered by the proxy
    itself. With ``credentials``, anything else than their Basic Proxy-Authorization is answered 407."""

    def __init__(self, credentials=None):
        super().__init__(self._proxy)
        self.expected = None
        if credentials:
            self.expected = "Basic " + base64.b64encode(credentials.encode()).decode()

    def _proxy(self, sock, reader, peer):
        request = self.read(reader)
        if request is None:
            return
        line, headers, _body = request
        if self.expected and headers.get("proxy-authorization") != self.expected:
            sock.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            return
        method, target, _version = line.split(" ")
        if method != "CONNECT":
            sock.sendall(answer(extra="Connection: close\r\n"))
            return
        upstream = socket.create_connection(("127.0.0.1", int(target.rsplit(":", 1)[1])))
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pending = reader.peek(0) if hasattr(reader, "peek") else b""
        if pending:
            upstream.sendall(reader.read(len(pending)))
        threading.Thread(target=_pump, args=(upstream, sock), daemon=True).start()
        _pump(sock, upstream)

    def lines(self):
        return [line for line, _headers, _body in self.requests]


def _pump(source, target):
    try:
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def proxy():
    proxies = []

    def start(credentials=None):
        proxies.append(ConnectProxy(credentials))
        return proxies[-1]

    yield start
    for each in proxies:
        each.stop()


def test_https_goes_through_the_proxy_by_connect_with_its_credentials(tls_servers, proxy):
    server, port = tls_servers[0], tls_servers[0].url.rsplit(":", 1)[1]
    tunnel = proxy("ops:p@ss word")
    secrets = set()
    client = MimecastClient(
        server.url,
        ClientCredentialsAuth("tls-client", "tls-client-secret"),
        ca_path=server.ca_cert,
        proxy="http://ops:p%40ss%20word@127.0.0.1:" + str(tunnel.port),
        max_retries=0,
        register_secret=secrets.add,
    )
    data, _meta = client.call(FIND)
    assert data and tunnel.lines() == ["CONNECT 127.0.0.1:%s HTTP/1.1" % port] * 2  # token and call
    assert tunnel.requests[0][1]["proxy-authorization"] == tunnel.expected
    assert {"p@ss word", tunnel.expected} <= secrets


def test_a_proxy_refusing_the_credentials_is_named_without_them(tls_servers, proxy):
    tunnel = proxy("ops:right")
    client = sim_client(
        tls_servers[0].url, ca_path=tls_servers[0].ca_cert, proxy="http://ops:wrong@127.0.0.1:%d" % tunnel.port
    )
    with pytest.raises(MimecastError) as info:
        client.call(FIND)
    message = info.value.message
    assert message.startswith("Proxy failure reaching %s" % tls_servers[0].url) and "407" in message
    assert "wrong" not in message and not info.value.uncertain and client.request_counts()["total"] == 0


def test_the_host_name_is_checked_through_the_tunnel(tls_servers, proxy):
    tunnel = proxy()
    port = tls_servers[0].url.rsplit(":", 1)[1]
    client = sim_client(
        "https://wrong.example.test:%s" % port, ca_path=tls_servers[0].ca_cert, proxy="127.0.0.1:%d" % tunnel.port
    )
    with pytest.raises(MimecastError) as info:
        client.call(FIND)
    assert "TLS failure" in info.value.message and "wrong.example.test" in info.value.message
    assert tunnel.lines() == ["CONNECT wrong.example.test:%s HTTP/1.1" % port]


def test_plain_http_goes_to_the_proxy_with_an_absolute_uri(proxy):
    forward = proxy("ops:secret")
    session = http_transport.HttpSession(5, proxy="http://ops:secret@127.0.0.1:%d" % forward.port)
    assert session.post("http://mimecast.example.test:8080" + FIND, data="{}").status_code == 200
    ((line, headers, _body),) = forward.requests
    assert line == "POST http://mimecast.example.test:8080%s HTTP/1.1" % FIND
    assert headers["host"] == "mimecast.example.test:8080" and headers["proxy-authorization"] == forward.expected


def test_the_environment_gives_the_proxy_and_no_proxy_bypasses_it(tls_servers, proxy, monkeypatch):
    server = tls_servers[0]
    tunnel = proxy()
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % tunnel.port)
    assert sim_client(server.url, ca_path=server.ca_cert).call(FIND)[1]["status"] == 200
    assert len(tunnel.requests) == 2  # the token request and the call
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("no_proxy", "example.test,127.0.0.1")
    assert http_transport.HttpSession(5).proxy_for(server.url) is None  # no proxy variable but no_proxy
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % tunnel.port)
    assert sim_client(server.url, ca_path=server.ca_cert).call(FIND)[1]["status"] == 200
    assert len(tunnel.requests) == 2  # direct
    monkeypatch.delenv("no_proxy")
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("all_proxy", "http://127.0.0.1:%d" % tunnel.port)
    assert sim_client(server.url, ca_path=server.ca_cert).call(FIND)[1]["status"] == 200
    assert len(tunnel.requests) == 4


@pytest.mark.parametrize(
    "option, variable, named",
    [
        ("https://proxy.example.test:3128", None, "proxy: only http:// proxies"),
        (None, "socks5://proxy.example.test:1080", "the https_proxy environment variable: only http:// proxies"),
        ("http://proxy.example.test:port", None, "proxy is not a proxy URL"),
    ],
)
def test_a_proxy_that_cannot_be_used_is_refused_before_any_request(option, variable, named, monkeypatch):
    if variable:
        monkeypatch.setenv("HTTPS_PROXY", variable)
    with pytest.raises(ValueError) as info:
        client_for("https://api.example.test", proxy=option)
    assert str(info.value).startswith(named)


def test_urllib_request_is_imported_only_when_a_proxy_variable_is_set():
    code = (
        "import sys\n"
        "from ansible_collections.community.mimecast.plugins.module_utils import http_transport\n"
        "http_transport.HttpSession(5).proxy_for('https://api.example.test')\n"
        "print('urllib.request' in sys.modules)\n"
    )
    env = dict((k, v) for k, v in os.environ.items() if k.lower() not in http_transport.PROXY_VARIABLES)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    imported = [
        subprocess.run([sys.executable, "-c", code], env=extra, capture_output=True, text=True, check=True).stdout
        for extra in (env, dict(env, no_proxy="example.test"))
    ]
    assert imported == ["False\n", "True\n"]


# -- the rest of the edges -----------------------------------------------------------------------------------------


def test_text_falls_back_to_utf8_for_a_charset_python_does_not_know():
    answer_ = http_transport.HttpResponse(502, {"Content-Type": "text/html; charset=x-no-such"}, b"Bad gateway \xff")
    assert answer_.text == "Bad gateway \ufffd" and answer_.headers.get("CONTENT-TYPE").startswith("text/html")


def test_proxy_urls_without_a_host_or_with_an_ipv6_host():
    with pytest.raises(ValueError) as info:
        http_transport.Proxy("http://:3128", "proxy")
    assert str(info.value) == "proxy is not a proxy URL: it names no host"
    assert http_transport.Proxy("[::1]:3128", "proxy").address == "[::1]:3128"
    assert http_transport.Proxy("proxy.example.test", "proxy").address == "proxy.example.test:80"


def test_only_http_and_https_urls_are_posted_to():
    with pytest.raises(ValueError):
        http_transport.HttpSession(5).post("ftp://api.example.test/x", data="{}")


def test_close_ends_the_kept_connections(peer):
    server = peer(keep_alive)
    session = http_transport.HttpSession(5)
    session.post(server.url + FIND, data="{}")
    session.close()
    session.post(server.url + FIND, data="{}")
    assert server.connections == 2 and len(server.requests) == 2


def test_a_body_that_stops_coming_is_a_read_timeout(peer):
    def stall_in_the_body(sock, reader, peer):
        peer.read(reader)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
        peer.release.wait(10)

    server = peer(stall_in_the_body)
    with pytest.raises(http_transport.ReadTimeout) as info:
        http_transport.HttpSession(0.3).post(server.url + FIND, data="{}")
    assert info.value.sent is True and "reading the answer" in str(info.value)


def test_a_proxy_that_cannot_be_resolved_is_a_proxy_failure():
    session = http_transport.HttpSession(5, proxy="http://no-such-proxy.invalid:3128")
    with pytest.raises(http_transport.ProxyError) as info:
        session.post("https://api.example.test" + FIND, data="{}")
    assert info.value.sent is False and "could not resolve the proxy no-such-proxy.invalid" in str(info.value)


@pytest.mark.parametrize(
    "behaviour, reason",
    [(close_after_request, "broke the tunnel request"), (never_answer, "timed out waiting for the proxy")],
    ids=["closed", "silent"],
)
def test_a_proxy_that_breaks_or_never_answers_connect_is_a_proxy_failure(peer, behaviour, reason):
    tunnel = peer(behaviour)
    session = http_transport.HttpSession(0.3, proxy="127.0.0.1:%d" % tunnel.port)
    with pytest.raises(http_transport.ProxyError) as info:
        session.post("https://api.example.test" + FIND, data="{}")
    assert info.value.sent is False and reason in str(info.value)
    assert tunnel.requests[0][0] == "CONNECT api.example.test:443 HTTP/1.1"


def test_a_connection_reset_during_the_tls_handshake_was_never_sent(peer):
    def reset(sock, reader, peer):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        time.sleep(0.1)  # the client's hello has arrived: closing now sends a reset

    server = peer(reset)
    with pytest.raises((http_transport.ConnectError, http_transport.TLSError)) as info:
        http_transport.HttpSession(5).post("https://127.0.0.1:%d%s" % (server.port, FIND), data="{}")
    assert info.value.sent is False
