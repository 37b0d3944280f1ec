"""`scrapy crawl reports` without `-a sites=` crawls the bundled registry, as `nianbao crawl`
does, instead of ending in a traceback."""

from __future__ import annotations

from pathlib import Path

from archive.store.registry import read_registry
from crawler.runner import BUNDLED_REGISTRY
from crawler.spiders.reports import ReportSpider


def test_the_spider_without_a_registry_takes_the_bundled_one():
    spider = ReportSpider()
    assert Path(spider.sites_csv) == BUNDLED_REGISTRY.resolve()
    assert len(spider.sites) == len(read_registry(str(BUNDLED_REGISTRY))) > 1000


def test_the_bundled_registry_is_inside_the_package():
    import crawler

    assert BUNDLED_REGISTRY.parent == Path(crawler.__file__).parent
