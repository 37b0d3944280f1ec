"""Scope: where the requests of a registry site may go.

A site's scope is what its registry row names in ``allowed_domains`` (a row names at
least the host of its start URL) and every host below those names; the hosts the site
moved to — a start or column page that redirects to another host takes the site along
(a consolidation of county sites onto a city's platform); and, for addresses that are
not public, only what the row names exactly: a host, an address, a network. That last
part is how the simulated web, the tests and an operator's intranet mirror are crawled,
while a link to 127.0.0.1 or a cloud's metadata service from a government page is not.

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from archive.store.registry import site_domains

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# The roles of a page whose redirect to another host moves the whole site there.
MOVING_ROLES = frozenset({"start", "column"})

_ATTRIBUTE = "_nianbao_scope"


def host_in_domains(host: str, domains: Iterable[str]) -> bool:
    """Is ``host`` one of ``domains``, or below one? By whole labels: ``www.a.gov.cn`` is
    below ``a.gov.cn``, ``evila.gov.cn`` is another agency's host."""
    host = host.lower()
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


def in_domains(url: str, domains: Iterable[str]) -> bool:
    """Is the URL's host one of ``domains``, or below one?"""
    return host_in_domains(urlsplit(url).hostname or "", domains)


@dataclass
class Allowance:
    """The hosts, addresses and networks a registry row names exactly: the only places
    off the public internet its crawl may reach (a parent domain is not enough)."""

    names: set[str] = field(default_factory=set)
    networks: list[IPNetwork] = field(default_factory=list)

    @classmethod
    def of(cls, sites: Iterable[dict]) -> Allowance:
        allowance = cls()
        for site in sites:
            for token in site_domains(site):
                try:
                    allowance.networks.append(ipaddress.ip_network(token, strict=False))
                except ValueError:
                    allowance.names.add(token.lower().rstrip("."))
        return allowance

    def admits(self, host: str, address: IPAddress) -> bool:
        return host.lower().rstrip(".") in self.names or any(
            address in net for net in self.networks if net.version == address.version
        )


@dataclass
class SiteScope:
    """Where the requests of one site may go: its domains, the hosts it moved to, and
    the non-public addresses its row names."""

    site_id: str
    domains: list[str]
    allowance: Allowance
    moved: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, site: dict, moved: set[str] | None = None) -> SiteScope:
        """The scope a registry row gives (with the hosts the site is known to have
        moved to; the set is kept, not copied, so that whoever fills it widens it)."""
        return cls(
            site.get("site_id") or "",
            site_domains(site),
            Allowance.of([site]),
            moved if moved is not None else set(),
        )

    def admits_host(self, host: str) -> bool:
        """Is ``host`` one of the site's domains or hosts it moved to, or below one?"""
        return host_in_domains(host, self.domains) or host_in_domains(host, self.moved)

    def admits(self, url: str) -> bool:
        """May a link of the site be followed to ``url``?"""
        return self.admits_host(urlsplit(url).hostname or "")

    def allows(self, host: str, role: str | None = None, redirected: bool = False) -> bool:
        """May a request, or a redirect hop, of the site go to ``host``? A hop of a start
        or column page may go anywhere in the site's scope and beyond: the site moves
        with it, and the page, once it arrives, brings its host in (:meth:`take_move`)."""
        return moves_site(role, redirected) or self.admits_host(host)

    def take_move(self, final_url: str, role: str | None, redirected: bool) -> str | None:
        """A start or column page redirected to a host outside the scope: the site moved
        there, and the host joins its scope. Returns the host when it is new."""
        if not moves_site(role, redirected):
            return None
        host = urlsplit(final_url).hostname
        if not host or self.admits_host(host):
            return None
        self.moved.add(host)
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

    @cached_property
    def everyone(self) -> Allowance:
        """What the crawl's rows name, together: the allowance of a request made for no
        site in particular (Scrapy's robots.txt), which may go to any site's host."""
        return Allowance.of(self.sites)


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
