"""A simulated government web for tests and the demo.

Several agencies' sites, modelled on real ones (TRS listings and pagination, PDF
attachments, GB2312 pages, look-alike documents), serving annual reports rendered
from known numbers, so that what the crawler, parser and checks make of them can
be compared with the truth. It runs on loopback addresses only.

- :mod:`simweb.truth`   — the numbers of every report, its planted faults and expected findings
- :mod:`simweb.render`  — a report as HTML article body and as PDF
- :mod:`simweb.sites`   — which pages each site has, and their bytes
- :mod:`simweb.server`  — HTTP, one loopback address per site
- :mod:`simweb.process` — ``SimWeb``: run it in a child process (``python -m simweb``)
"""
