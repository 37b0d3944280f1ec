"""nianbao archive: everything after the fetch, one folder per stage of the pipeline.

In the order data flows through it (each stage imports only the stages before it;
``tests/test_layout.py`` holds the project to that):

- :mod:`archive.store`    — the SQLite archive (captures byte for byte, reports, cells,
  findings), its schema and migrations, the report templates, regions, the site registry
- :mod:`archive.parse`    — one document's bytes → a Document → the report's cells
- :mod:`archive.checks`   — the arithmetic rules (勾稽关系) → findings
- :mod:`archive.export`   — WARC files of crawl runs, dated snapshots
- :mod:`archive.publish`  — Datasette: derived tables, Chinese search, plugins, serving
- :mod:`nianbao`     — the parse stage, the nightly job, the demo and the ``nianbao``
  command: the only layer that drives ``crawler`` and ``simweb``
"""

__version__ = "0.1.0"
