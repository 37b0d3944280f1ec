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
it even when it is private, on the port it names (``10.1.2.3:8080``) or, named without
one, on the web's ports and its start URLs' own (:class:`crawler.scope.Allowance`). That
is how the simulated web (``127.0.0.x``), the tests and an operator's intranet mirror
are crawled (``docs/interfaces.md``), while the other services of such a machine
(``:6379``, ``:22``) stay out of reach. A row's ``allowed_domains`` defaults to the host
of its start URL, so a start URL the operator wrote is always reachable.

Scrapy asks for a host's robots.txt by itself, on the first request to the host.
:class:`SiteRobotsTxtMiddleware` makes that request carry the site of the request that
asked (:data:`ROBOTS_FOR`): robots.txt is fetched in that site's scope — the host the
site's request was let through to, the site's hosts, its row's private places — and a
robots.txt that redirects elsewhere, even to a place another row names, is refused
(then, as for any robots.txt that cannot be fetched, the host's pages are allowed).

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

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import defer

from crawler.scope import Allowance, IPAddress, host_in_domains, scope_for, url_port

logger = logging.getLogger(__name__)

# The meta key of a robots.txt request: the site whose request asked for it, and the
# host that request was let through to ({"site": dict | None, "host": str}).
ROBOTS_FOR = "nianbao_robots_for"


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
        site, robots_host = site_of(request)
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            self.refuse(request, "scheme", f"{parts.scheme}: URLs are not fetched")
        host = (parts.hostname or "").lower()
        if not host:
            self.refuse(request, "no_host", f"{request.url} names no host")
        port = url_port(parts)
        allowance = self.allowance(site)
        literal = ip_literal(host)
        if literal is not None:
            self.check_address(request, host, port, literal, allowance)
        if site is not None and not self.in_scope(request, host, port, site, robots_host):
            self.refuse(
                request, "out_of_scope", f"{host} is not one of the hosts of {site['site_id']}"
            )
        if literal is None:
            self.check_address(request, host, port, await self.resolve(host), allowance)
        return None

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        """The address the response really came from (a name may answer differently
        when the connection is made than when it was checked)."""
        peer = getattr(response, "ip_address", None)
        if peer is not None:
            parts = urlparse_cached(request)
            host = (parts.hostname or "").lower()
            site, _ = site_of(request)
            self.check_address(request, host, url_port(parts), peer, self.allowance(site))
        return response

    # -- the tests ----------------------------------------------------------------
    def in_scope(
        self, request: Request, host: str, port: int | None, site: dict, robots_host: str | None
    ) -> bool:
        """Is ``host`` in the site's scope for this request? A robots.txt request may also
        go to the host its site's request was let through to (a hop that moves the site
        is let through before the host joins the site), and below it."""
        scope = scope_for(self.crawler).of(site)
        if robots_host is not None:
            return host_in_domains(host, [robots_host]) or scope.admits_host(host, port)
        redirected = bool(request.meta.get("redirect_urls"))
        return scope.allows(host, request.meta.get("role"), redirected, port)

    def check_address(
        self,
        request: Request,
        host: str,
        port: int | None,
        address: IPAddress,
        allowance: Allowance,
    ) -> None:
        kind = address_kind(address)
        if not kind or allowance.admits(host, address, port):
            return
        shown = host if host == str(address) else f"{host} ({address})"
        what = f"{kind.replace('_', '-')} address"
        if allowance.names(host, address):
            detail = (
                f"port {port} of {shown}, a {what}, is not one the registry row's "
                f"allowed_domains names (name it as {host}:{port} to crawl it)"
            )
        else:
            detail = (
                f"{shown} is a {what}; a registry row's allowed_domains must name it to be crawled"
            )
        self.refuse(request, kind, detail)

    def allowance(self, site: dict | None) -> Allowance:
        """What the site's row names; a request of no site may reach no private place."""
        return Allowance() if site is None else scope_for(self.crawler).of(site).allowance

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


def site_of(request: Request) -> tuple[dict | None, str | None]:
    """The site a request is made for, and for a robots.txt request the host its site's
    request was let through to (None for any other request)."""
    site = request.meta.get("site")
    if site is not None:
        return site, None
    robots = request.meta.get(ROBOTS_FOR)
    if robots:
        return robots.get("site"), robots.get("host")
    return None, None


class SiteRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, whose robots.txt request carries the site of the
    request that asked for it (:data:`ROBOTS_FOR`), so that the network scope middleware
    checks it, and every redirect hop of it, in that site's scope — not in every row's.

    A host's robots.txt is still fetched once per crawl and obeyed by every site that
    goes there; only the first request to the host asks for it."""

    async def robot_parser(self, request: Request):
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            await self._fetch(request, netloc)
        return await super().robot_parser(request)

    async def _fetch(self, request: Request, netloc: str) -> None:
        """Scrapy's own fetch of robots.txt (the parser's place is taken first, so the
        host's other requests wait for it), with the asking site on the request."""
        self._parsers[netloc] = defer.Deferred()
        parts = urlparse_cached(request)
        robots = Request(
            f"{parts.scheme}://{netloc}/robots.txt",
            priority=self.DOWNLOAD_PRIORITY,
            meta={
                "dont_obey_robotstxt": True,
                ROBOTS_FOR: {"site": request.meta.get("site"), "host": parts.hostname or ""},
            },
            callback=NO_CALLBACK,
        )
        assert self.crawler.engine is not None  # requests flow only while it runs
        try:
            response = await self.crawler.engine.download_async(robots)
            await self._parse_robots(response, netloc, request)
        except Exception as exc:  # noqa: BLE001 (what Scrapy's middleware does: allow all)
            if not isinstance(exc, IgnoreRequest):
                logger.error("could not fetch %s: %s", robots.url, exc)
            self._robots_error(exc, netloc)
        self._stats.inc_value("robotstxt/request_count")


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
