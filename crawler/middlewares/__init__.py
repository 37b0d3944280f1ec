"""Downloader middlewares, one concern each (wired in crawler/settings.py)."""
