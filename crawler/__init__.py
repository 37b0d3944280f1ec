"""The Scrapy project: fetch report pages and files and hand every response to the archive.

The crawl stores what it fetched and nothing slower: parsing happens in its own
stage (:mod:`archive.jobs.process`) over the stored captures, so a slow PDF never
stalls the reactor and a parser bug never kills a crawl.
"""
