"""Network scope: the crawler fetches from the sites of its registry, and nothing else.

A government page is not trusted to say where the crawler goes next. A link, a CMS
listing or a redirect hop may point at the machine the crawler runs on
(``127.0.0.1:6379``), at a cloud's metadata service (``169.254.169.254``), at the
operator's own network (``10.x``, ``192.168.x``), or at a host of another agency —
whose page would then be archived as this site's report. So before every request,
and again on every redirect hop (Scrapy sends each hop through the downloader
middlewares as a new request), :class:`NetworkScopeMiddleware`:

1. refuses a scheme other than http(s);
2. refuses a host outside the site's scope (:class:`crawler.scope.SiteScope`): its
   registry ``allowed_domains`` (and the hosts below them), plus a host the site moved
   to (a redirect of its start or column page);
3. resolves the host (through Scrapy's resolver and its cache, which the connection
   then uses too) and refuses an address that is not public: loopback, link-local,
   private, multicast, reserved, unspecified. A public name pointing at 127.0.0.1
   is refused like 127.0.0.1 itself;
4. checks the peer address a response actually came from, so a name that answers
   differently at connection time is still caught (the response is not archived).

Explicit exceptions: a registry row whose ``allowed_domains`` names a host or an
address (or a network, ``10.1.0.0/16``) exactly — not by a parent domain — may reach
it even when it is private (:class:`crawler.scope.Allowance`). That is how the
simulated web (``127.0.0.x``), the tests and an operator's intranet mirror are crawled
(``docs/interfaces.md``). A row's
``allowed_domains`` defaults to the host of its start URL, so a start URL the
operator wrote is always reachable.

A refusal raises :class:`ScopeRefused`; the spider records it as a capture with the
error ``refused: <reason>: …`` and the per-site counts show it as
``refused_<reason>`` in ``failed_by_reason``. The scopes are the crawl's
(:func:`crawler.scope.scope_for`), shared with the spider that widens them.

:class:`PinnedResolver` is Scrapy's caching resolver with fixed answers for some
names (``NIANBAO_RESOLVE = "name=address …"``, as ``curl --resolve``): a site reached
under its name on a mirror, or the tests' names for the simulated web.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import defer

from crawler.scope import Allowance, IPAddress, scope_for

logger = logging.getLogger(__name__)


class ScopeRefused(IgnoreRequest):
    """A request (or a redirect hop) outside the crawl's network scope; not fetched."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        super().__init__(f"refused: {reason}: {detail}")


def address_kind(address: IPAddress) -> str | None:
    """Why an address is off limits (``loopback``, ``private`` …), or None if public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind
    if not address.is_global:  # shared address space (100.64/10) and the like
        return "reserved"
    return None


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class NetworkScopeMiddleware:
    """Refuses requests and redirect hops outside the site's scope or to non-public
    addresses (see the module's docstring). Sits before every middleware that could
    itself make a request to the host (robots.txt) and after the archive's answers."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request: Request, spider=None) -> None:
        site = request.meta.get("site")
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            self.refuse(request, "scheme", f"{parts.scheme}: URLs are not fetched")
        host = (parts.hostname or "").lower()
        if not host:
            self.refuse(request, "no_host", f"{request.url} names no host")
        allowance = self.allowance(site)
        literal = ip_literal(host)
        if literal is not None:
            self.check_address(request, host, literal, allowance)
        if site is not None and not self.in_scope(request, host, site):
            self.refuse(
                request, "out_of_scope", f"{host} is not one of the hosts of {site['site_id']}"
            )
        if literal is None:
            self.check_address(request, host, await self.resolve(host), allowance)
        return None

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        """The address the response really came from (a name may answer differently
        when the connection is made than when it was checked)."""
        peer = getattr(response, "ip_address", None)
        if peer is not None:
            host = (urlparse_cached(request).hostname or "").lower()
            self.check_address(request, host, peer, self.allowance(request.meta.get("site")))
        return response

    # -- the tests ----------------------------------------------------------------
    def in_scope(self, request: Request, host: str, site: dict) -> bool:
        scope = scope_for(self.crawler).of(site)
        redirected = bool(request.meta.get("redirect_urls"))
        return scope.allows(host, request.meta.get("role"), redirected)

    def check_address(
        self, request: Request, host: str, address: IPAddress, allowance: Allowance
    ) -> None:
        kind = address_kind(address)
        if kind and not allowance.admits(host, address):
            shown = host if host == str(address) else f"{host} ({address})"
            self.refuse(
                request,
                kind,
                f"{shown} is a {kind.replace('_', '-')} address; a registry row's "
                "allowed_domains must name it to be crawled",
            )

    def allowance(self, site: dict | None) -> Allowance:
        """What the site's row names; for a request of no site (robots.txt), every row."""
        scope = scope_for(self.crawler)
        return scope.everyone if site is None else scope.of(site).allowance

    async def resolve(self, host: str) -> IPAddress:
        """The address the connection will use: Scrapy's resolver, with its cache."""
        from twisted.internet import reactor  # the one Scrapy installed, never before

        resolver: Any = reactor  # Twisted's annotation of resolve() says bytes, it takes str
        answer = await maybe_deferred_to_future(resolver.resolve(host))
        return ipaddress.ip_address(answer)

    def refuse(self, request: Request, reason: str, detail: str) -> None:
        self.crawler.stats.inc_value(f"nianbao/refused/{reason}")
        logger.warning("refused %s: %s", request.url, detail)
        raise ScopeRefused(reason, detail)


class PinnedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, with the fixed answers of ``NIANBAO_RESOLVE``."""

    def __init__(self, reactor, cache_size: int, timeout: float, pins: dict | None = None):
        super().__init__(reactor, cache_size, timeout)
        self.pins: dict[str, str] = pins or {}

    @classmethod
    def from_crawler(cls, crawler, reactor):
        resolver = super().from_crawler(crawler, reactor)
        resolver.pins = pinned_names(crawler.settings.get("NIANBAO_RESOLVE"))
        return resolver

    def getHostByName(self, name: str, timeout=()):  # noqa: N802 (Twisted's interface)
        pinned = self.pins.get(name.lower().rstrip("."))
        if pinned is not None:
            return defer.succeed(pinned)
        return super().getHostByName(name, timeout)


def pinned_names(value) -> dict[str, str]:
    """``"a.example=127.0.0.1 b.example=10.0.0.1"`` (or a dict) → {name: address}."""
    if not value:
        return {}
    pairs: Iterable[Any]
    if isinstance(value, dict):
        pairs = value.items()
    else:
        pairs = (item.split("=", 1) for item in str(value).replace(",", " ").split() if item)
    pins = {}
    for name, address in pairs:
        ipaddress.ip_address(address)  # a wrong address is a setting error, said at start
        pins[name.strip().lower().rstrip(".")] = address.strip()
    return pins
