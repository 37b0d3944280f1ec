"""Hosts that cannot be crawled, the ways real registry rows fail (``--dead N``).

A national registry always holds sites that moved, died or sit behind a firewall.
Each of these gets its own host (a name, or an address 127.3.x.y), so a crawler sees
separate hosts as it would on the real web:

* ``dns`` — a name under ``.invalid`` (RFC 6761: never resolves);
* ``refused`` — an address where nothing listens: the connection is refused at once;
* ``blackhole`` — a listener whose accept queue is full and never drained: the
  kernel drops new connection attempts, so they time out (a firewall dropping packets);
* ``silent`` — accepts connections and never answers (a hung server);
* ``tls`` — an HTTP server listed with an ``https://`` URL: the TLS handshake fails;
* ``slow`` — a small working site that takes ``SLOW_SECONDS`` per page: alive, crawled
  whole, just slowly.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass

from simweb.sites import Site

KINDS = ("dns", "refused", "blackhole", "silent", "tls", "slow")
SLOW_SECONDS = 3.0


@dataclass
class DeadHost:
    kind: str
    site_id: str
    name: str
    start_url: str
    host: str


def dead_ip(n: int) -> str:
    return f"127.3.{n // 250}.{n % 250 + 1}"


class _Blackhole:
    """A listening socket with a full accept queue: further connects get no answer."""

    def __init__(self, ip: str):
        self.sock = socket.socket()
        self.sock.bind((ip, 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fill = []
        for _ in range(2):  # one fills the queue (backlog 0 holds one), one more to be sure
            client = socket.socket()
            client.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                client.connect((ip, self.port))
            self.fill.append(client)


class _Silent:
    """Accepts every connection and never answers."""

    def __init__(self, ip: str):
        self.sock = socket.socket()
        self.sock.bind((ip, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name=f"silent-{ip}").start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)


class _PlainHttp:
    """Answers every connection with a plain-HTTP 400: what a TLS client cannot read."""

    def __init__(self, ip: str):
        self.sock = socket.socket()
        self.sock.bind((ip, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name=f"plain-{ip}").start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                conn.settimeout(2)
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            finally:
                conn.close()


def _free_port(ip: str) -> int:
    """A port on ``ip`` nothing listens on (bound and released at once)."""
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def slow_site(n: int, ip: str) -> Site:
    """A small, working site whose every page (robots.txt excepted) takes SLOW_SECONDS."""
    from simweb.hostile import _html, _links, _report_page, _site

    site = _site(f"dslow{n}", ip, f"迟缓测试第{n}县人民政府", "410726", {"slow": SLOW_SECONDS})
    site.site_id = f"dead-slow-{n:04d}"
    title = f"{site.name}2024年政府信息公开工作年度报告"
    site.add("/", _html(site.name, _links([("/xxgknb/", "政府信息公开年报")])))
    site.add("/xxgknb/index.html", _html("年报", _links([("/xxgknb/2024.html", title)])))
    site.add("/xxgknb/2024.html", _report_page(title))
    site.add("/robots.txt", b"User-agent: *\nDisallow: /search/\n", "text/plain")
    return site


def dead_hosts(count: int, kinds: tuple[str, ...] = KINDS) -> tuple[list[DeadHost], list, list]:
    """``count`` failing hosts, cycling through ``kinds``.

    Returns the registry rows, the listeners to keep alive while serving, and the slow
    sites (served by the caller like any other site; their URLs are filled in then)."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown dead-host kind(s) {sorted(unknown)}; choose from {KINDS}")
    rows, keep, slow = [], [], []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        ip = dead_ip(n)
        site_id = f"dead-{kind}-{n:04d}"
        name = f"不可达测试第{n}县人民政府"
        if kind == "dns":
            host = f"site-{n}.nianbao-sim.invalid"
            rows.append(DeadHost(kind, site_id, name, f"http://{host}/", host))
        elif kind == "refused":
            rows.append(DeadHost(kind, site_id, name, f"http://{ip}:{_free_port(ip)}/", ip))
        elif kind in ("blackhole", "silent", "tls"):
            listener = {"blackhole": _Blackhole, "silent": _Silent, "tls": _PlainHttp}[kind](ip)
            keep.append(listener)
            scheme = "https" if kind == "tls" else "http"
            rows.append(DeadHost(kind, site_id, name, f"{scheme}://{ip}:{listener.port}/", ip))
        else:
            slow.append(slow_site(n, ip))
    return rows, keep, slow
