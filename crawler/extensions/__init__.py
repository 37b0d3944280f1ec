"""Scrapy extensions and download handlers: stopping, CPU time, the job directory."""
