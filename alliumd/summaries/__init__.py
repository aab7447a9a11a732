"""Fetcher-side summarisers: upstream documents reduced to the cache summaries the renderer reads.

The fetchers call these pure functions; the renderer never does (it reads
the summaries through ``cache`` and ``model``).  Each summary's format and
version belong to the cache contract (``cache.names``, ``cache.graphs``,
``cache.validator``).
"""
