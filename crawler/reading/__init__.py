"""Reading a fetched page: report and column links, pagination, CMS adapters."""
