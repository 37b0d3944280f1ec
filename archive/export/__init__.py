"""Exports of the archive for others to keep: WARC files of crawl runs, dated snapshots."""
