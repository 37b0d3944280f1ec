"""The Scrapy project: fetch report pages and files and hand every response to the archive.

The crawl stores what it fetched and nothing slower: parsing happens in its own
stage (:mod:`nianbao.process`) over the stored captures, so a slow PDF never
stalls the reactor and a parser bug never kills a crawl.
"""

from importlib import resources
from pathlib import Path

# The registry of real sites shipped with the project (each URL with its public source).
BUNDLED_REGISTRY = Path(str(resources.files(__name__).joinpath("sites.csv")))
