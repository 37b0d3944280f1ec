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
# A broad crawl of many small hosts: politeness is per host (two connections, a
# delay); the crawl-wide limit only bounds resources. Room for hosts that never answer
# while they time out (crawler/scheduling/hostqueue.py keeps a quarter for hosts that do).
CONCURRENT_REQUESTS = 256
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
# before anything else; the host gate refuses dead hosts and times probes of new ones;
# the challenge check and conditional requests sit outside
# Scrapy's robots.txt (100) and retry (550) middlewares; Crawl-delay right after
# robots.txt; the backoff nearer the downloader than the retry, so it sees failures first.
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.incremental.ResumeMiddleware": 50,
    "crawler.middlewares.hosts.HostGateMiddleware": 52,
    # Network scope (crawler/middlewares/scope.py): before anything that could itself connect to the
    # host (robots.txt at 100), after the archive's answers; sees every redirect hop.
    "crawler.middlewares.scope.NetworkScopeMiddleware": 55,
    # Scrapy's robots.txt middleware, its request scoped to the site that asked for it.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.scope.SiteRobotsTxtMiddleware": 100,
    "crawler.middlewares.politeness.ChallengeMiddleware": 60,
    "crawler.middlewares.incremental.ConditionalRequestMiddleware": 70,
    "crawler.middlewares.politeness.CrawlDelayMiddleware": 110,
    "crawler.middlewares.politeness.BackoffMiddleware": 560,
    # Nearest the downloader: a wrong scheme (http-only or https-only host) is asked for
    # again before retry and backoff count it as a failure; an undeclared charset is
    # sniffed before any middleware or the spider reads the text.
    "crawler.middlewares.schemes.SchemeFallbackMiddleware": 580,
    "crawler.middlewares.charset.UndeclaredCharsetMiddleware": 590,
}
# Backoff after a failure without Retry-After: base × 2^retry seconds (± jitter), capped;
# Retry-After is honoured up to the cap too. Crawl-delay beyond its cap is capped.
NIANBAO_BACKOFF_BASE = 2.0
NIANBAO_BACKOFF_MAX = 600.0
NIANBAO_MAX_CRAWL_DELAY = 60.0
# A host is unproven until it answers anything: one request at a time, each given this
# long. It is dead for the run after this many connection failures (DNS, refused,
# timeout, TLS) without ever answering, or this many in a row after answering.
NIANBAO_PROBE_TIMEOUT = 15.0
NIANBAO_DEAD_AFTER_UNPROVEN = 2
NIANBAO_DEAD_AFTER = 5
# The scheduler hands a host's request out only when the host can take it
# (crawler/scheduling/hostqueue.py): waiting hosts hold no concurrency slot, and choosing the
# next host costs the same with 300 or 10,000 of them.
SCHEDULER_PRIORITY_QUEUE = "crawler.scheduling.hostqueue.HostQueue"
# Per-site failures are summed up in one line per site when the crawl ends.
RETRY_GIVE_UP_LOG_LEVEL = "INFO"

# SIGTERM / Ctrl-C: downloads in flight get this long, then are cut short (not stored,
# fetched by the next crawl); the run is closed and recorded as stopped.
NIANBAO_STOP_GRACE = 1.5
# With --jobdir, Scrapy's saved queue is used only to continue a run paused cleanly
# (crawler/extensions/jobdir.py); otherwise the archive alone says what is left to fetch.
# A JOBDIR that cannot be written (a full disk) stops the crawl in one line: the
# scheduler carries on in memory, the guard saves the spider's state in Scrapy's place.
SCHEDULER = "crawler.extensions.jobdir.JobdirScheduler"
EXTENSIONS = {
    "scrapy.extensions.spiderstate.SpiderState": None,
    "crawler.extensions.stopping.GracefulStop": 0,
    "crawler.extensions.cpustats.CpuTime": 0,
    "crawler.extensions.jobdir.JobdirGuard": 0,
}
DOWNLOAD_HANDLERS = {
    "http": "crawler.extensions.stopping.StoppableDownloadHandler",
    "https": "crawler.extensions.stopping.StoppableDownloadHandler",
}

# Captures are committed in batches: this many, or after this many seconds, in the order
# they were stored (a crawl killed loses at most one batch, which the next crawl fetches).
NIANBAO_COMMIT_EVERY = 100
NIANBAO_COMMIT_SECONDS = 1.0

# Where the archive lives; `nianbao crawl --db` sets it.
NIANBAO_DB = "nianbao.db"

# Fixed answers for host names, "name=address …" (as curl --resolve): a site's name on an
# intranet mirror, the tests' names for the simulated web. The resolver keeps Scrapy's cache.
NIANBAO_RESOLVE = ""
TWISTED_DNS_RESOLVER = "crawler.middlewares.scope.PinnedResolver"
if not hasattr(default_settings, "TWISTED_DNS_RESOLVER"):  # Scrapy before the setting's rename
    DNS_RESOLVER = TWISTED_DNS_RESOLVER

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
