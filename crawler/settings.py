"""Scrapy settings of the nianbao crawler: polite by default.

Government servers are small and fragile: two connections per host, a delay,
AutoThrottle, long timeouts, robots.txt obeyed (its Crawl-delay too), a host paused
after failures (Retry-After, exponential backoff), JS challenges left alone, and a
User-Agent that names the project and a contact (set ``NIANBAO_CONTACT_URL``). Every
response, errors included, reaches the spider so the archive can record it.
"""

import os

from scrapy.settings import default_settings

from archive import __version__

BOT_NAME = "nianbao"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

NIANBAO_CONTACT_URL = os.environ.get(
    "NIANBAO_CONTACT_URL", "https://github.com/nianbao-archive/nianbao"
)
USER_AGENT = f"nianbao-archive/{__version__} (+{NIANBAO_CONTACT_URL})"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0  # Scrapy varies it by ±50 % by default
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
RETRY_ENABLED = True
RETRY_TIMES = 3
DOWNLOAD_MAXSIZE = 100 * 1024 * 1024
DOWNLOAD_WARNSIZE = 20 * 1024 * 1024
DEPTH_LIMIT = 8
# Items are written synchronously, one transaction each: Scrapy's 100 concurrent item
# slots per response only add scheduling overhead.
CONCURRENT_ITEMS = 4
# Error responses (404, 500 …) are captured too: the archive says what failed and why.
HTTPERROR_ALLOW_ALL = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

ITEM_PIPELINES = {"crawler.pipelines.ArchivePipeline": 300}

# Lower numbers see requests first and responses last. Resume answers from the archive
# before anything else; the challenge check and conditional requests sit outside
# Scrapy's robots.txt (100) and retry (550) middlewares; Crawl-delay right after
# robots.txt; the backoff nearer the downloader than the retry, so it sees failures first.
DOWNLOADER_MIDDLEWARES = {
    "crawler.incremental.ResumeMiddleware": 50,
    # Network scope (crawler/scope.py): before anything that could itself connect to the
    # host (robots.txt at 100), after the archive's answers; sees every redirect hop.
    "crawler.scope.NetworkScopeMiddleware": 55,
    "crawler.politeness.ChallengeMiddleware": 60,
    "crawler.incremental.ConditionalRequestMiddleware": 70,
    "crawler.politeness.CrawlDelayMiddleware": 110,
    "crawler.politeness.BackoffMiddleware": 560,
    # Nearest the downloader: a wrong scheme (http-only or https-only host) is asked for
    # again before retry and backoff count it as a failure; an undeclared charset is
    # sniffed before any middleware or the spider reads the text.
    "crawler.schemes.SchemeFallbackMiddleware": 580,
    "crawler.charset.UndeclaredCharsetMiddleware": 590,
}
# Backoff after a failure without Retry-After: base × 2^retry seconds (± jitter), capped;
# Retry-After is honoured up to the cap too. Crawl-delay beyond its cap is capped.
NIANBAO_BACKOFF_BASE = 2.0
NIANBAO_BACKOFF_MAX = 600.0
NIANBAO_MAX_CRAWL_DELAY = 60.0

# Where the archive lives; `nianbao crawl --db` sets it.
NIANBAO_DB = "nianbao.db"

# Fixed answers for host names, "name=address …" (as curl --resolve): a site's name on an
# intranet mirror, the tests' names for the simulated web. The resolver keeps Scrapy's cache.
NIANBAO_RESOLVE = ""
TWISTED_DNS_RESOLVER = "crawler.scope.PinnedResolver"
if not hasattr(default_settings, "TWISTED_DNS_RESOLVER"):  # Scrapy before the setting's rename
    DNS_RESOLVER = TWISTED_DNS_RESOLVER

# With --jobdir, Scrapy's saved queue is used only to continue a run paused cleanly
# (crawler/frontier.py); otherwise the archive alone says what is left to fetch.
EXTENSIONS = {"crawler.frontier.JobdirGuard": 0}

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
