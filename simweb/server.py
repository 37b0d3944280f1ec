"""HTTP for the simulated sites: one listening socket per site, each on its own host.

Each site is bound to its own loopback address (127.0.0.2, 127.0.0.3 …; all of
127.0.0.0/8 reaches the loopback interface on Linux), so a crawler sees separate
hosts, as it would on the real web, and per-host politeness or allowed-domain
rules behave as they will in production. Responses carry Last-Modified and ETag
and answer conditional requests with 304, which incremental crawling relies on.
Sites built by :mod:`simweb.hostile` misbehave on purpose (challenges, 503 with
Retry-After, 500s, cut bodies, gzip, soft-404s, slowness, a move to another host), and
大汉's dataproxy.jsp answers POSTs. With ``--log-requests`` every request is one JSON line.
"""

from __future__ import annotations

import errno
import gzip
import json
import selectors
import socket
import socketserver
import ssl
import sys
import threading
import time
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from simweb.hostile import (
    HANWEB_COLUMN,
    HANWEB_PROXY,
    HANWEB_UNIT,
    JSL_CHALLENGE,
    RS_CHALLENGE,
    SOFT_404,
    hanweb_datastore,
)
from simweb.sites import Page, Site, find_page

PLAIN_ON_TLS = (
    "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head>"
    "<body><center><h1>400 Bad Request</h1></center><center>The plain HTTP request was sent "
    "to HTTPS port</center><hr><center>nginx</center></body></html>"
)
# A TLS alert record: fatal handshake_failure — what a client meets when it cannot agree on
# the handshake with a server (the way BAD_ECPOINT or a refused renegotiation ends it).
TLS_HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"
NOT_FOUND = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>404 Not Found</title>'
    "</head><body><h1>404 Not Found</h1><p>您访问的页面不存在。</p></body></html>"
)


class SiteHandler(BaseHTTPRequestHandler):
    """Serves the pages of the one site its server was built for."""

    protocol_version = "HTTP/1.1"
    site: Site
    log_requests = False
    plain_on_tls_port = False

    def version_string(self) -> str:
        return "nginx"

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def do_POST(self) -> None:  # noqa: N802
        """大汉's dataproxy.jsp takes a form (it names the column and unit); a pattern site's
        listing API (simweb.patterns, ``behaviour["posts"]``) answers what it is sent."""
        self._arrived = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        parts = urlsplit(self.path)
        if answer := self.site.behaviour.get("posts", {}).get(parts.path):
            body, ctype = answer(raw)
            self._send(200, body, ctype, False)
            return
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        if proxy := self.site.behaviour.get("hanweb_posts", {}).get(parts.path):
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            mine = (
                form.get("columnid") == proxy["columnid"] and form.get("unitid") == proxy["unitid"]
            )
            start, end = int(query.get("startrecord", 1)), int(query.get("endrecord", 15))
            chosen = proxy["records"] if mine else []
            self._send(200, hanweb_datastore(chosen, start, end), "text/xml; charset=utf-8", False)
            return
        records = self.site.behaviour.get("hanweb_records")
        if records is None or parts.path != HANWEB_PROXY:
            self._send(405, b"", "text/html", False)
            return
        if form.get("columnid") != HANWEB_COLUMN or form.get("unitid") != HANWEB_UNIT:
            self._send(200, hanweb_datastore([], 1, 0), "text/xml; charset=utf-8", False)
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        start, end = int(query.get("startrecord", 1)), int(query.get("endrecord", 15))
        self._send(200, hanweb_datastore(records, start, end), "text/xml; charset=utf-8", False)

    def _answer(self, head: bool) -> None:
        self._arrived = time.time()
        if self.plain_on_tls_port:  # what nginx answers plain http on its https port
            self._send(400, PLAIN_ON_TLS.encode(), "text/html", head)
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        path = unquote(parts.path) or "/"
        if self._misbehave(path, head):
            return
        page, redirect = find_page(self.site, path)
        if parts.query and path + "?" + parts.query in self.site.pages:
            page, redirect = self.site.pages[path + "?" + parts.query], None
        if page is None and not redirect and self.site.behaviour.get("soft_404"):
            self._send(200, SOFT_404.encode(), "text/html; charset=utf-8", head)
        elif redirect:
            self._send(301, b"", "text/html; charset=utf-8", head, {"Location": redirect})
        elif page is None:
            self._send(404, NOT_FOUND.encode(), "text/html; charset=utf-8", head)
        elif self._not_modified(page):
            self._send(304, b"", None, True, self._validators(page))
        else:
            self._send(200, page.body, page.content_type, head, self._validators(page))

    def _misbehave(self, path: str, head: bool) -> bool:
        """The site's misbehaviour (simweb.hostile), if it applies to this request."""
        how = self.site.behaviour
        if not how:
            return False
        if how.get("moved_base"):
            target = how["moved_base"].rstrip("/") + self.path
            self._send(301, b"", "text/html", head, {"Location": target})
            return True
        if path in how.get("redirects", {}):
            self._send(302, b"", "text/html", head, {"Location": how["redirects"][path]})
            return True
        if how.get("slow") and path != "/robots.txt":
            time.sleep(how["slow"])
        if how.get("challenge") == "rs-412":
            self._send(412, RS_CHALLENGE.encode(), "text/html; charset=utf-8", head)
            return True
        if how.get("challenge") == "jsl-521":
            self._send(521, JSL_CHALLENGE.encode(), "text/html", head)
            return True
        if path in how.get("always_fail", ()):
            self._send(500, b"<h1>500 Internal Server Error</h1>", "text/html", head)
            return True
        seen = how.setdefault("_seen", set())
        if how.get("retry_after") and path != "/robots.txt" and path not in seen:
            seen.add(path)
            self._send(
                503,
                b"<h1>503 Service Unavailable</h1>",
                "text/html",
                head,
                {"Retry-After": str(how["retry_after"])},
            )
            return True
        return False

    @staticmethod
    def _validators(page: Page) -> dict[str, str]:
        return {
            "Last-Modified": format_datetime(page.modified.astimezone(UTC), usegmt=True),
            "ETag": page.etag,
        }

    def _not_modified(self, page: Page) -> bool:
        """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since."""
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or page.etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            if since.tzinfo is None:
                return False
            return int(page.modified.timestamp()) <= int(since.timestamp())
        return False

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str | None,
        head: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        headers = dict(headers or {})
        if (
            self.site.behaviour.get("gzip")
            and body
            and status == 200
            and "gzip" in (self.headers.get("Accept-Encoding") or "")
        ):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._status, self._sent = status, 0 if head or status == 304 else len(body)
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        cut = status == 200 and urlsplit(self.path).path in self.site.behaviour.get("truncate", ())
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head and status != 304:
            self.wfile.write(body[: len(body) // 2] if cut else body)
        if cut:
            self.close_connection = True

    def log_request(self, code="-", size="-") -> None:
        """One JSON line per request on stderr, once answered: the time it arrived, host,
        path, status, bytes, whether it was conditional."""
        if self.log_requests:
            sys.stderr.write(
                json.dumps(
                    {
                        "t": round(getattr(self, "_arrived", time.time()), 3),
                        "host": self.site.ip,
                        "path": self.path,
                        "method": self.command,
                        "status": getattr(self, "_status", code),
                        "bytes": getattr(self, "_sent", 0),
                        "conditional": bool(
                            self.headers.get("If-None-Match")
                            or self.headers.get("If-Modified-Since")
                        ),
                        "ua": self.headers.get("User-Agent"),
                    }
                )
                + "\n"
            )
            sys.stderr.flush()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (signature of the base)
        if self.log_requests:
            sys.stderr.write(f"{self.site.ip} {self.address_string()} {format % args}\n")


class SiteServer(ThreadingHTTPServer):
    """One site's server. A site with ``behaviour["tls"]`` speaks both on its one port,
    told apart by the first byte (0x16 opens a TLS handshake): ``https-only`` answers TLS
    with a self-signed certificate and plain http with nginx's 400; ``http-only`` answers
    a TLS handshake with a fatal alert."""

    daemon_threads = True
    allow_reuse_address = True
    tls_context: ssl.SSLContext | None = None

    def finish_request(self, request, client_address) -> None:
        handler = self.RequestHandlerClass
        tls = handler.site.behaviour.get("tls")
        if tls:
            request.settimeout(20)
            try:
                first = request.recv(1, socket.MSG_PEEK)
            except OSError:
                return
            if first == b"\x16" and tls == "http-only":
                request.sendall(TLS_HANDSHAKE_FAILURE)
                return
            if first == b"\x16":
                try:
                    request = self.tls_context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
            elif tls == "https-only":
                handler = type(handler.__name__, (handler,), {"plain_on_tls_port": True})
        handler(request, client_address, self)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS lookup of the address (slow for 127.1.x.y)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = host, port


def bind(site: Site, port: int = 0, log_requests: bool = False) -> SiteServer:
    """A server for ``site`` on its own address; 127.0.0.1 (other port) if that is refused."""
    handler = type(
        f"Handler_{site.key}", (SiteHandler,), {"site": site, "log_requests": log_requests}
    )
    try:
        server = SiteServer((site.ip, port), handler)
    except OSError as exc:
        if exc.errno != errno.EADDRNOTAVAIL:
            raise
        sys.stderr.write(f"simweb: cannot bind {site.ip} ({exc}); using 127.0.0.1\n")
        site.ip = "127.0.0.1"
        server = SiteServer((site.ip, 0), handler)
    if site.behaviour.get("tls") == "https-only":
        server.tls_context = self_signed_context(site.ip, site.behaviour.get("host"))
    return server


def self_signed_context(ip: str, host: str | None = None) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for ``ip`` (and ``host``,
    the name a site is reached by, so that a client checking the name finds it)."""
    import datetime
    import ipaddress
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "simweb self-signed")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip))] + ([x509.DNSName(host)] if host else [])
            ),
            False,
        )
        .sign(key, hashes.SHA256())
    )
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as pem:
        pem.write(cert.public_bytes(serialization.Encoding.PEM))
        pem.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem.name)
    import os

    os.unlink(pem.name)
    return context


class Serving:
    """Every site's listening socket answered from one thread.

    A selector over all the listening sockets hands each new connection to its site's
    server, which answers it in a thread of its own (as ``ThreadingHTTPServer`` does). One
    ``serve_forever`` thread per site did not scale: at 3,000 sites the pollers' wake-ups
    (600 a second at a 5-s poll) queued for the interpreter lock behind the threads making
    pages, the simulated web took both cores and answered 1 page a second where it had
    answered 33 in its first minute. One thread for all of them costs the same at any size.
    """

    def __init__(self, servers: list[SiteServer], poll: float = 0.2):
        self.servers, self.poll = servers, poll
        self._selector = selectors.DefaultSelector()
        for server in servers:
            server.timeout = 0.0  # handle_request: accept what is there, never wait
            self._selector.register(server, selectors.EVENT_READ, server)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="simweb-accept", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            for key, _ in self._selector.select(self.poll):
                key.data.handle_request()

    def stop(self) -> None:
        """Stop accepting (within one poll) and close every listening socket."""
        self._stopping.set()
        self._thread.join()
        self._selector.close()
        for server in self.servers:
            server.server_close()


def serve(servers: list[SiteServer], poll: float = 0.2) -> Serving:
    """Answer every server from one accepting thread; ``stop()`` it when done."""
    return Serving(servers, poll)
