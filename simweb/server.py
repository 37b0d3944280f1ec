"""HTTP for the simulated sites: one listening socket per site, each on its own host.

Each site is bound to its own loopback address (127.0.0.2, 127.0.0.3 …; all of
127.0.0.0/8 reaches the loopback interface on Linux), so a crawler sees separate
hosts, as it would on the real web, and per-host politeness or allowed-domain
rules behave as they will in production. Responses carry Last-Modified and ETag
and answer conditional requests with 304, which incremental crawling relies on.
"""

from __future__ import annotations

import errno
import sys
import threading
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from simweb.sites import Page, Site, find_page

NOT_FOUND = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>404 Not Found</title>"
             "</head><body><h1>404 Not Found</h1><p>您访问的页面不存在。</p></body></html>")


class SiteHandler(BaseHTTPRequestHandler):
    """Serves the pages of the one site its server was built for."""

    protocol_version = "HTTP/1.1"
    site: Site
    log_requests = False

    def version_string(self) -> str:
        return "nginx"

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path) or "/"
        page, redirect = find_page(self.site, path)
        if redirect:
            self._send(301, b"", "text/html; charset=utf-8", head, {"Location": redirect})
        elif page is None:
            self._send(404, NOT_FOUND.encode(), "text/html; charset=utf-8", head)
        elif self._not_modified(page):
            self._send(304, b"", None, True, self._validators(page))
        else:
            self._send(200, page.body, page.content_type, head, self._validators(page))

    @staticmethod
    def _validators(page: Page) -> dict[str, str]:
        return {"Last-Modified": format_datetime(page.modified.astimezone(UTC), usegmt=True),
                "ETag": page.etag}

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

    def _send(self, status: int, body: bytes, ctype: str | None, head: bool,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (signature of the base)
        if self.log_requests:
            sys.stderr.write(f"{self.site.ip} {self.address_string()} {format % args}\n")


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def bind(site: Site, port: int = 0, log_requests: bool = False) -> SiteServer:
    """A server for ``site`` on its own address; 127.0.0.1 (other port) if that is refused."""
    handler = type(f"Handler_{site.key}", (SiteHandler,),
                   {"site": site, "log_requests": log_requests})
    try:
        return SiteServer((site.ip, port), handler)
    except OSError as exc:
        if exc.errno != errno.EADDRNOTAVAIL:
            raise
        sys.stderr.write(f"simweb: cannot bind {site.ip} ({exc}); using 127.0.0.1\n")
        site.ip = "127.0.0.1"
        return SiteServer((site.ip, 0), handler)


def serve(servers: list[SiteServer]) -> list[threading.Thread]:
    """Run every server in its own thread; stop them with ``shutdown()``."""
    threads = []
    for server in servers:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name=f"simweb-{server.server_address[0]}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
