"""A DNS resolver for crawls that must not reach any real host: every lookup fails.

``-s DNS_RESOLVER=tests.crawler.offline.NoNetworkResolver`` makes a crawl of real
registry rows behave as on a machine without network (names do not resolve), whatever
network the test machine has. Rows whose host is an IP address bypass DNS: tests leave
them out."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer


@implementer(IResolverSimple)
class NoNetworkResolver:
    def __init__(self, reactor):
        self.reactor = reactor

    @classmethod
    def from_crawler(cls, crawler, reactor):
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout=()):  # noqa: N802 (Twisted's interface)
        return defer.fail(DNSLookupError(f"no network: {name} cannot be looked up"))
