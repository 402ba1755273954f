# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP(S) for the Mimecast client over Python's standard library (``http.client`` and ``ssl``). Internal use
only: this API may change without notice.

:class:`HttpSession` posts to a URL and returns an :class:`HttpResponse`. It keeps one connection per scheme, host
and port open for the module run and verifies TLS (``ca_path`` or the default trust store), with a proxy given as
an option or by the environment. Every failure is a :class:`TransportError` whose ``sent`` says whether the
request may have reached the server: false only for failures before a byte of it was written (resolving,
connecting, the proxy's tunnel, the TLS handshake). It never sends a request twice: a connection that broke while
idle is replaced before sending, and any failure after sending is raised for the client's retry loop to judge.
"""

import base64
import http.client
import json
import os
import select
import socket
import ssl
import time
from urllib.parse import unquote, urlencode, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# A connection idle for longer is closed and a new one opened instead: servers and load balancers close idle
# connections after a few seconds, and a request written into one they dropped silently would be in doubt.
MAX_IDLE = 5.0
PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy", "no_proxy")


class TransportError(Exception):
    """A request that got no complete answer; the message never holds a secret (no proxy credentials).

    ``sent`` is False only when the request provably never left: nothing of it was written to a connection.
    """

    sent = True


class NotSent(TransportError):
    """A failure before any byte of the request was written: the server cannot have run it."""

    sent = False


class ResolveError(NotSent):
    """The API host's name could not be resolved."""


class ConnectError(NotSent):
    """No connection to the API host could be made (refused, unreachable)."""


class ConnectTimeout(ConnectError):
    """Connecting to the API host (its TLS handshake included) took longer than the timeout."""


class TLSError(NotSent):
    """The TLS handshake failed (an untrusted or mismatched certificate, no common protocol), or the CA bundle given
    cannot be loaded."""


class ProxyError(NotSent):
    """The proxy could not be reached, or refused to open the tunnel to the API host."""


class RequestError(NotSent):
    """The request could not be written at all (a header value HTTP does not allow)."""


class ReadTimeout(TransportError):
    """The request was sent and no answer came within the timeout: the server may be running it still."""


class ConnectionDropped(TransportError):
    """The connection broke after the request was (perhaps partly) written and before the answer's headers."""


class BrokenAnswer(TransportError):
    """The answer began but its body broke off."""


def _headers(pairs):
    """An :class:`http.client.HTTPMessage` (case-insensitive ``get``) holding ``pairs`` (a mapping or pairs)."""
    message = http.client.HTTPMessage()
    for name, value in pairs.items() if hasattr(pairs, "items") else pairs or ():
        message[name] = value
    return message


class HttpResponse:
    """What the client reads of an answer: ``status_code``, ``headers`` (case-insensitive ``get``), ``content``
    (bytes), ``text`` and ``json()``."""

    def __init__(self, status_code=200, headers=None, content=b""):
        self.status_code = status_code
        self.headers = headers if isinstance(headers, http.client.HTTPMessage) else _headers(headers or {})
        self.content = content

    @property
    def text(self):
        """The body as text, in the charset of its Content-Type (UTF-8 when none), undecodable bytes replaced."""
        charset = self.headers.get_content_charset() or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self):
        """The body parsed as JSON; ValueError when it is not JSON."""
        return json.loads(self.content)


class Proxy:
    """An ``http://`` proxy: where it listens and the Proxy-Authorization value its URL's credentials give."""

    def __init__(self, url, origin):
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        # Messages name the option or variable, never the URL: it may hold a password.
        if parts.scheme.lower() != "http":
            raise ValueError(
                "%s: only http:// proxies are supported (HTTPS goes through them by CONNECT), not %s://"
                % (origin, parts.scheme)
            )
        try:
            port = parts.port or DEFAULT_PORTS["http"]
        except ValueError:
            raise ValueError("%s is not a proxy URL: its port is not a number" % origin) from None
        if not parts.hostname:
            raise ValueError("%s is not a proxy URL: it names no host" % origin)
        self.host = parts.hostname
        self.port = port
        self.authorization = None
        self.secrets = []
        if parts.username is not None:
            password = unquote(parts.password or "")
            credentials = "%s:%s" % (unquote(parts.username), password)
            self.authorization = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
            # the password as written in the URL too (percent-encoded), as a task's options show it
            self.secrets = [value for value in (password, parts.password, self.authorization) if value]

    @property
    def address(self):
        """``host:port``, for messages."""
        return _authority(self.host, self.port)


def _authority(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def _host_header(scheme, host, port):
    name = "[%s]" % host if ":" in host else host
    return name if port == DEFAULT_PORTS[scheme] else "%s:%d" % (name, port)


def _environment_proxy(scheme, host, port):
    """The proxy the environment gives for a URL (``<scheme>_proxy``, else ``all_proxy``, either case; ``no_proxy``
    honoured), or None. ``urllib.request`` is imported only when such a variable is set: it is not cheap."""
    if not any(name.lower() in PROXY_VARIABLES for name in os.environ):
        return None
    import urllib.request  # pylint: disable=import-outside-toplevel

    proxies = urllib.request.getproxies_environment()
    key = scheme if proxies.get(scheme) else "all"
    if not proxies.get(key):
        return None
    if urllib.request.proxy_bypass_environment(host if ":" in host else "%s:%d" % (host, port), proxies):
        return None
    return Proxy(proxies[key], "the %s_proxy environment variable" % key)


class _Connection:
    """One open connection: the http.client connection over a socket this module opened, and when it went idle."""

    def __init__(self, connection):
        self.http = connection
        self.idle_since = time.monotonic()

    def usable(self):
        """True when it can carry a request: still open, idle briefly, and with nothing unread on it (data or an
        end of stream waiting on an idle connection means the server closed it or broke the exchange)."""
        sock = self.http.sock
        if sock is None or time.monotonic() - self.idle_since > MAX_IDLE:
            return False
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return False
        try:
            readable, _w, _x = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self):
        self.http.close()


class HttpSession:
    """POSTs over ``http.client``, one kept-alive connection per scheme, host and port, for one module run.

    ``validate_certs`` false turns certificate and host name checks off. Otherwise ``ca_path``, when given, is the
    only bundle trusted; without it, the default trust store (``ssl.create_default_context()``: the system's, or
    what OpenSSL's SSL_CERT_FILE and SSL_CERT_DIR name). ``proxy`` (an ``http://`` URL, optionally with
    ``user:password@``) is used for every request; without it the environment's proxy variables apply.
    ``timeout`` bounds connecting and each wait for the answer. ``headers`` are sent with every request.
    """

    def __init__(self, timeout, validate_certs=True, ca_path=None, proxy=None, headers=None):
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.headers = dict(headers or {})
        self._proxy = Proxy(proxy, "proxy") if proxy else None
        self._routes = {}  # (scheme, host, port) -> Proxy or None
        self._connections = {}  # (scheme, host, port) -> _Connection
        self._context = None

    @property
    def secrets(self):
        """The proxy passwords and Proxy-Authorization values known so far, for the caller to keep out of output."""
        proxies = [self._proxy] + list(self._routes.values())
        return [secret for proxy in proxies if proxy is not None for secret in proxy.secrets]

    def proxy_for(self, url):
        """The :class:`Proxy` requests to ``url`` go through, or None; ValueError when the one given cannot be used."""
        return self._route(*self._origin(url))

    def post(self, url, data=None, headers=None):
        """POST ``data`` (a dict, sent form-encoded; or text or bytes, sent as is) to ``url``; return the answer.

        Raises a :class:`TransportError` (see ``sent``) when no complete answer came.
        """
        scheme, host, port = origin = self._origin(url)
        parts = urlsplit(url)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        sent_headers = dict(self.headers)
        if isinstance(data, dict):
            data = urlencode(data)
            sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
        sent_headers.update(headers or {})
        sent_headers["Host"] = _host_header(scheme, host, port)
        body = data.encode("utf-8") if isinstance(data, str) else data or b""
        sent_headers["Content-Length"] = str(len(body))
        proxy = self._route(*origin)
        if proxy is not None and scheme == "http":
            # Plain HTTP goes to the proxy itself, the target as an absolute URI.
            target = "http://%s%s" % (sent_headers["Host"], target)
            if proxy.authorization:
                sent_headers["Proxy-Authorization"] = proxy.authorization

        connection = self._connections.pop(origin, None)
        if connection is not None and not connection.usable():
            connection.close()
            connection = None
        if connection is None:
            connection = _Connection(self._open(scheme, host, port, proxy))
        try:
            response = self._exchange(connection.http, target, sent_headers, body)
        except BaseException:
            connection.close()
            raise
        if connection.http.sock is not None:  # http.client closed it if the answer said so
            connection.idle_since = time.monotonic()
            self._connections[origin] = connection
        return response

    def close(self):
        """Close every kept connection."""
        while self._connections:
            self._connections.popitem()[1].close()

    # -- before sending: nothing of the request is written yet -----------------------------------------------

    @staticmethod
    def _origin(url):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("not an http:// or https:// URL with a host")
        return scheme, parts.hostname, parts.port or DEFAULT_PORTS[scheme]

    def _route(self, scheme, host, port):
        if self._proxy is not None:
            return self._proxy
        key = (scheme, host, port)
        if key not in self._routes:
            self._routes[key] = _environment_proxy(scheme, host, port)
        return self._routes[key]

    def _tls_context(self):
        if self._context is None:
            if not self.validate_certs:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            elif self.ca_path:
                # Only this bundle: create_default_context loads no default store when given a file.
                try:
                    context = ssl.create_default_context(cafile=self.ca_path)
                except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                    raise TLSError(
                        "ca_path %s cannot be loaded as PEM CA certificates (%s)" % (self.ca_path, exc)
                    ) from None
            else:
                context = ssl.create_default_context()
            self._context = context
        return self._context

    def _open(self, scheme, host, port, proxy):
        """Open a connection to the origin (through ``proxy``'s tunnel for HTTPS), TLS handshake done."""
        context = self._tls_context() if scheme == "https" else None
        if proxy is not None:
            sock = self._connect_proxy(proxy)
            if scheme == "https":
                self._tunnel(sock, proxy, host, port)
        else:
            sock = self._connect(host, port)
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except socket.timeout:
                sock.close()
                raise ConnectTimeout("timed out during the TLS handshake with %s" % _authority(host, port)) from None
            except ssl.SSLError as exc:  # a CertificateError is one
                sock.close()
                raise TLSError(str(exc)) from None
            except OSError as exc:
                sock.close()
                raise ConnectError("the connection broke during the TLS handshake: %s" % exc) from None
        connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        connection.sock = sock
        connection.auto_open = (
            0  # never let http.client connect by itself (no TLS, no proxy): a closed one is ours to replace
        )
        return connection

    def _connect(self, host, port):
        try:
            return socket.create_connection((host, port), self.timeout)
        except socket.gaierror as exc:
            raise ResolveError("could not resolve %s: %s" % (host, exc)) from None
        except socket.timeout:
            raise ConnectTimeout("timed out connecting to %s" % _authority(host, port)) from None
        except OSError as exc:
            raise ConnectError(str(exc)) from None

    def _connect_proxy(self, proxy):
        try:
            return socket.create_connection((proxy.host, proxy.port), self.timeout)
        except socket.gaierror as exc:
            raise ProxyError("could not resolve the proxy %s: %s" % (proxy.host, exc)) from None
        except socket.timeout:
            raise ProxyError("timed out connecting to the proxy %s" % proxy.address) from None
        except OSError as exc:
            raise ProxyError("could not connect to the proxy %s: %s" % (proxy.address, exc)) from None

    def _tunnel(self, sock, proxy, host, port):
        """Ask ``proxy`` for a tunnel to ``host:port`` (CONNECT); ProxyError unless it answers 200."""
        authority = _authority(host, port)
        lines = ["CONNECT %s HTTP/1.1" % authority, "Host: %s" % authority]
        if proxy.authorization:
            lines.append("Proxy-Authorization: %s" % proxy.authorization)
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            answer = http.client.HTTPResponse(sock, method="CONNECT")
            try:
                answer.begin()
            finally:
                answer.close()  # closes the reader only, not the socket
        except socket.timeout:
            sock.close()
            raise ProxyError("timed out waiting for the proxy %s to open a tunnel" % proxy.address) from None
        except (OSError, http.client.HTTPException) as exc:
            sock.close()
            raise ProxyError(
                "the proxy %s broke the tunnel request: %s" % (proxy.address, str(exc) or type(exc).__name__)
            ) from None
        if answer.status != 200:
            sock.close()
            raise ProxyError(
                "the proxy %s refused the tunnel to %s: %s %s"
                % (proxy.address, authority, answer.status, answer.reason)
            )

    # -- sending: from the first byte written on, the server may have run the request -------------------------

    @staticmethod
    def _exchange(connection, target, headers, body):
        try:
            connection.putrequest("POST", target, skip_host=True)
            for name, value in headers.items():
                connection.putheader(name, value)
        except (ValueError, TypeError, http.client.HTTPException) as exc:
            raise RequestError("the request could not be written: %s" % type(exc).__name__) from None
        try:
            connection.endheaders(body)
            answer = connection.getresponse()
        except socket.timeout:
            raise ReadTimeout("timed out waiting for the answer") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectionDropped(str(exc) or type(exc).__name__) from None
        try:
            content = answer.read()
        except socket.timeout:
            raise ReadTimeout("timed out reading the answer") from None
        except (OSError, http.client.HTTPException) as exc:
            raise BrokenAnswer("the answer broke off: %s" % (str(exc) or type(exc).__name__)) from None
        return HttpResponse(answer.status, answer.msg, content)
