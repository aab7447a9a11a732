"""The renderer process: watch the cache, rebuild exactly the dependent pages.

The page families it renders, their registry and the Mako templates are ``alliumd.pages``
(``pages.registry``, ``pages.templates``): the renderer imports them, never the reverse.

- (the cache files themselves are read through ``alliumd.cache``: signatures, hashes, data times, lines)
- ``manifest``  what was rendered from what (persisted between runs)
- ``writer``    write-only-if-changed, delete vanished pages
- ``build``     one batch: changed inputs → affected families → pages that need work
- ``dispatch``  where those pages render: in-process, or on the render workers
- ``jobs``      render + write one page (shared by the renderer and its workers)
- ``pool``, ``worker``, ``frames``  the render worker processes and their pipe protocol
- ``watch``     watchdog handler that only enqueues
- ``main``      the process loop: debounce, rescan, commands, reports
"""
