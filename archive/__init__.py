"""nianbao archive: everything after the fetch.

The pipeline, in the order data flows through it:

- :mod:`archive.store`     — the SQLite archive (raw captures byte for byte, parsed tables, findings)
- :mod:`archive.registry`  — the site registry CSV the crawler starts from
- :mod:`archive.parse`     — reading one report document into cells (HTML, PDF, text)
- :mod:`archive.checks`    — the arithmetic rules (勾稽关系) a report must satisfy
- :mod:`archive.process`   — the parse stage over stored captures
- :mod:`archive.publish`   — Datasette over the archive
- :mod:`archive.cli`       — the ``nianbao`` command, a thin layer over the above
"""

__version__ = "0.1.0"
