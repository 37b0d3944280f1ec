"""Publishing the archive with Datasette, extended through plugin hooks, never forked.

- ``prepare.py`` — the derived tables (regions, wide tables, search index), kept fresh
- ``views.py`` — the wide tables ``report_t2`` / ``report_t3`` / ``report_t4``
- ``search.py`` — Chinese full-text search (a bigram FTS5 index)
- ``plugin.py`` — the Datasette plugin: search rewriting, provenance, originals, CSV
- ``snapshots.py`` — the Datasette plugin that lists and serves snapshots
- ``serve.py`` — ``nianbao serve``: Datasette with the project's metadata and settings
"""

from archive.publish.prepare import PrepareSummary, prepare, prepare_file
from archive.publish.serve import metadata_path, serve

__all__ = ["PrepareSummary", "metadata_path", "prepare", "prepare_file", "serve"]
