"""The renderer process: watch the cache, rebuild exactly the dependent pages.

- ``registry``  page families, their declared inputs, models
- ``inputs``    cache-file signatures, content hashes, document loading
- ``manifest``  what was rendered from what (persisted between runs)
- ``writer``    write-only-if-changed, delete vanished pages
- ``build``     one batch: changed inputs → affected families → pages
- ``watch``     watchdog handler that only enqueues
- ``main``      the process loop: debounce, rescan, commands, reports
"""
