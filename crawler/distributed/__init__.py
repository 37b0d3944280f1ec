"""A crawl on several machines: site groups leased through Redis, the worker."""
