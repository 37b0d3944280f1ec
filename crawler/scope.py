"""Scope: where the requests of a registry site may go.

A site's scope is what its registry row names in ``allowed_domains`` (a row names at
least the host of its start URL) and every host below those names; the hosts the site
moved to — a start or column page that redirects to another host takes the site along
(a consolidation of county sites onto a city's platform); and, for addresses that are
not public, only what the row names exactly: a host, an address, a network. That last
part is how the simulated web, the tests and an operator's intranet mirror are crawled,
while a link to 127.0.0.1 or a cloud's metadata service from a government page is not.

A name in ``allowed_domains`` may carry a port (``www.a.gov.cn:8080``, ``10.1.2.3:8443``,
``[fd00::5]:8080``, ``10.1.0.0/16:8080``): it then admits that port alone. Without one, a
public name admits every port, as a web browser would; a private place admits only the
web's ports (80, 443) and the host and port of the row's own start URLs — a private
machine is a web server for the crawl, not every service it runs (``:6379``, ``:22``).

The spiders ask a site's :class:`SiteScope` which links to follow; the network scope
middleware (:mod:`crawler.middlewares.scope`) asks it again for every request and
redirect hop, and adds what needs the network (resolving names, refusing private
addresses); a crawl that continues an interrupted one learns from the archive where its
sites had moved (:meth:`crawler.scheduling.frontier.ArchiveFrontier.moved_hosts`).

The scopes of one crawl live in one :class:`CrawlScope`, which the spider hands to its
crawler (:func:`attach`) and the middleware finds there (:func:`scope_for`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import ParseResult, SplitResult, urlsplit

from archive.store.registry import RegistryError, site_domains

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# The roles of a page whose redirect to another host moves the whole site there.
MOVING_ROLES = frozenset({"start", "column"})
# The ports a private place named without a port serves the crawl on: the web's.
WEB_PORTS = frozenset({80, 443})
DEFAULT_PORTS = {"http": 80, "https": 443}

_ATTRIBUTE = "_nianbao_scope"
# A host name: letters (any script: 政府.cn), digits, hyphens, dots.
_NAME = re.compile(r"[\w-]+(\.[\w-]+)*\.?")
_BRACKETED = re.compile(r"\[([^\]]+)\](?::(\d*))?")


def host_in_domains(host: str, domains: Iterable[str]) -> bool:
    """Is ``host`` one of ``domains``, or below one? By whole labels: ``www.a.gov.cn`` is
    below ``a.gov.cn``, ``evila.gov.cn`` is another agency's host."""
    host = host.lower()
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


def in_domains(url: str, domains: Iterable[str]) -> bool:
    """Is the URL's host one of ``domains``, or below one?"""
    return host_in_domains(urlsplit(url).hostname or "", domains)


def url_port(parts: SplitResult | ParseResult) -> int | None:
    """The port a URL connects to (its scheme's when it names none); None when the URL's
    port is not a port at all (``:99999``, ``:http``)."""
    try:
        port = parts.port
    except ValueError:
        return None
    return port if port is not None else DEFAULT_PORTS.get(parts.scheme)


@dataclass(frozen=True)
class Place:
    """One name of a row's ``allowed_domains``: a host name, an address or a network,
    on one port, or on any (``port`` None) when none is named."""

    name: str | None  # a host name or an address, as URLs spell it; None for a network
    network: IPNetwork | None  # the address or network; None for a host name
    port: int | None

    @classmethod
    def parse(cls, token: str) -> Place:
        """``a.gov.cn``, ``a.gov.cn:8080``, ``10.1.2.3``, ``10.0.0.0/8:8080``, ``fd00::1``,
        ``[fd00::1]:8080``; ValueError says what is wrong with anything else."""
        text = token.strip().lower()
        if "://" in text:
            raise ValueError("a URL, not a host (name its host, with a port if need be)")
        bracketed = _BRACKETED.fullmatch(text)
        if bracketed:
            host, port_text = bracketed.group(1), bracketed.group(2)
        elif text.count(":") == 1:
            host, port_text = text.split(":")
        else:  # no port, or a bare IPv6 address or network
            host, port_text = text, None
        port = _port(port_text) if port_text is not None else None
        try:
            network = ipaddress.ip_network(host, strict=False)
        except ValueError:
            if not _NAME.fullmatch(host):
                raise ValueError("not a host name, an address or a network") from None
            return cls(host.rstrip("."), None, port)
        name = None if "/" in host else str(network.network_address)
        return cls(name, network, port)

    def covers(self, host: str, port: int | None) -> bool:
        """Is ``host`` this name or below it, on the port named (if one is)? Networks
        are no names: an address in one may be reached, but is not in the site's scope.
        ``port`` None asks about every port, which a name with a port does not cover."""
        if self.name is None or not host_in_domains(_spelled(host), [self.name]):
            return False
        return self.port is None or self.port == port

    def names(self, host: str, address: IPAddress) -> bool:
        """Does this place name ``host`` (reached at ``address``) exactly: the host
        itself, or its address in the network? (A parent domain names no private host.)"""
        if self.network is None:
            return _spelled(host) == self.name
        return address.version == self.network.version and address in self.network

    def opens(self, port: int | None) -> bool:
        """Is ``port`` served to the crawl by a private place: the one it names, or
        without one the web's ports."""
        return port == self.port if self.port is not None else port in WEB_PORTS


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return int(text)


@lru_cache(maxsize=65536)
def _spelled(host: str) -> str:
    """A host as places spell it: lower case, no final dot, an address compressed.

    Asked for every request and link of a crawl about the same few thousand hosts, and a
    name costs a raised ValueError each time: kept once worked out."""
    host = host.lower().rstrip(".").strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def places_of(site: dict) -> list[Place]:
    """The places a row's ``allowed_domains`` names; a name that is none (checked before
    a crawl by :func:`check_allowed_domains`) admits nothing."""
    places = []
    for token in site_domains(site):
        try:
            places.append(Place.parse(token))
        except ValueError:
            continue
    return places


def check_allowed_domains(sites: Iterable[dict], registry: str) -> None:
    """Raise :class:`RegistryError` for the first ``allowed_domains`` name that names no
    place (a URL, a port that is not one), before a crawl that would ignore it."""
    for site in sites:
        for token in site_domains(site):
            try:
                Place.parse(token)
            except ValueError as exc:
                raise RegistryError(
                    f"{registry}: site {site.get('site_id')}: allowed_domains {token!r}: {exc}"
                    " (write a host, host:port, an address or a network)"
                ) from None


def start_urls(site: dict) -> list[str]:
    """The URLs a row starts from: ``start_url`` and its ``more_urls`` (kept in ``extra``)."""
    extra = json.loads(site.get("extra") or "{}")
    more = [u for u in (extra.get("more_urls") or "").split() if u.startswith("http")]
    return [u for u in [site.get("start_url") or "", *more] if u]


@dataclass
class Allowance:
    """The hosts, addresses and networks a registry row names exactly, with their ports:
    the only places off the public internet its crawl may reach (a parent domain is not
    enough). A place named without a port serves the web's ports, and the host and port
    of each of the row's start URLs — the start URL an operator wrote is always reached."""

    places: list[Place] = field(default_factory=list)
    starts: set[tuple[str, int]] = field(default_factory=set)  # (host, port) started from

    @classmethod
    def of(cls, site: dict) -> Allowance:
        starts = set()
        for url in start_urls(site):
            parts = urlsplit(url)
            port = url_port(parts)
            if parts.hostname and port is not None:
                starts.add((_spelled(parts.hostname), port))
        return cls(places_of(site), starts)

    def admits(self, host: str, address: IPAddress, port: int | None) -> bool:
        """May a request to ``host`` on ``port``, connected to the non-public
        ``address``, go out?"""
        named = [place for place in self.places if place.names(host, address)]
        return any(place.opens(port) for place in named) or (
            bool(named) and (_spelled(host), port) in self.starts
        )

    def names(self, host: str, address: IPAddress) -> bool:
        """Does the row name the host or its address at all, on some port?"""
        return any(place.names(host, address) for place in self.places)


@dataclass
class SiteScope:
    """Where the requests of one site may go: its domains, the hosts it moved to, and
    the non-public addresses its row names."""

    site_id: str
    places: list[Place]
    allowance: Allowance
    moved: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, site: dict, moved: set[str] | None = None) -> SiteScope:
        """The scope a registry row gives (with the hosts the site is known to have
        moved to; the set is kept, not copied, so that whoever fills it widens it)."""
        return cls(
            site.get("site_id") or "",
            places_of(site),
            Allowance.of(site),
            moved if moved is not None else set(),
        )

    def admits_host(self, host: str, port: int | None = None) -> bool:
        """Is ``host`` (on ``port``; None: on every port) one of the site's domains or
        hosts it moved to, or below one?"""
        return any(place.covers(host, port) for place in self.places) or host_in_domains(
            host, self.moved
        )

    def admits(self, url: str) -> bool:
        """May a link of the site be followed to ``url``?"""
        parts = urlsplit(url)
        port = url_port(parts)
        return port is not None and self.admits_host(parts.hostname or "", port)

    def allows(
        self, host: str, role: str | None = None, redirected: bool = False, port: int | None = None
    ) -> bool:
        """May a request, or a redirect hop, of the site go to ``host`` on ``port``? A hop
        of a start or column page may go anywhere in the site's scope and beyond: the site
        moves with it, and the page, once it arrives, brings its host in (:meth:`take_move`)."""
        return moves_site(role, redirected) or self.admits_host(host, port)

    def take_move(self, final_url: str, role: str | None, redirected: bool) -> str | None:
        """A start or column page redirected to a host outside the scope: the site moved
        there, and the host joins its scope. Returns the host when it is new."""
        if not moves_site(role, redirected):
            return None
        host = self.host_moved_to(final_url)
        if host is not None:
            self.moved.add(host)
        return host

    def host_moved_to(self, final_url: str) -> str | None:
        """The host a start or column page redirected to ``final_url`` moves the site to;
        None when the scope admits it already (on that URL's port). A crawl continued
        from the archive asks this too, so that it widens its scope exactly as the
        interrupted crawl did."""
        parts = urlsplit(final_url)
        host = parts.hostname
        if not host or self.admits_host(host, url_port(parts)):
            return None
        return host


def moves_site(role: str | None, redirected: bool) -> bool:
    """Does a page of this role, having been redirected, move its site (consolidation)?"""
    return redirected and role in MOVING_ROLES


class CrawlScope:
    """The scope of every site of one crawl, by site id.

    A site's scope is made from its row the first time it is asked for: a worker learns
    its sites as it leases them, discovery makes its rows as it walks, and a row does
    not change within a crawl. The hosts each site moved to are kept in :attr:`moved`,
    which a crawl continued from a ``--jobdir`` fills from the archive before it starts.
    """

    def __init__(self, sites: Iterable[dict] = ()):
        self.sites = list(sites)
        self.moved: dict[str, set[str]] = {}
        self._by_site: dict[str, SiteScope] = {}

    def of(self, site: dict) -> SiteScope:
        key = site["site_id"]
        scope = self._by_site.get(key)
        if scope is None:
            scope = SiteScope.of(site, self.moved.setdefault(key, set()))
            self._by_site[key] = scope
        return scope


def attach(crawler: Crawler, scope: CrawlScope) -> None:
    """Make ``scope`` the crawler's, for the middlewares that check its requests."""
    setattr(crawler, _ATTRIBUTE, scope)


def scope_for(crawler: Crawler) -> CrawlScope:
    """The crawler's scope: the one its spider attached, else an empty one, whose sites'
    scopes come from the rows their requests carry."""
    scope = getattr(crawler, _ATTRIBUTE, None)
    if scope is None:
        scope = CrawlScope()
        attach(crawler, scope)
    return scope
