"""What the spider hands to the archive: one HTTP fetch, body untouched."""

import scrapy


class CaptureItem(scrapy.Item):
    site_id = scrapy.Field()
    url = scrapy.Field()  # the URL requested (first hop)
    final_url = scrapy.Field()  # the URL that answered, after redirects
    redirects = scrapy.Field()  # every hop, in order
    status = scrapy.Field()
    method = scrapy.Field()
    content_type = scrapy.Field()
    headers = scrapy.Field()
    body = scrapy.Field()  # bytes exactly as received (after transfer decoding)
    role = scrapy.Field()  # start | column | listing | report | attachment
    referer = scrapy.Field()
    error = scrapy.Field()  # why a fetch failed without a response
    fetched_at = scrapy.Field()
    revisit_of = scrapy.Field()  # a 304: the capture holding the unchanged bytes
