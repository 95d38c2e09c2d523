"""aiohttp request handlers, one module per endpoint family; each exposes ``routes``."""
