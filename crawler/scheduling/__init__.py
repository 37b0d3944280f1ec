"""What to fetch next: the per-host scheduler queue and the archive as the crawl's memory."""
