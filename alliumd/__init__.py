"""alliumd: keeps a static Tor relay metrics site fresh.

The package layout is the architecture:

- ``config``      TOML schema, validation, frozen dataclasses (single source of truth)
- ``atomic``      atomic file publication (temp + fsync + rename + dir fsync)
- ``paths``       validation of path components that come from data
- ``states``      pure state enums and transitions (leaf module, stdlib only)
- ``sourcestate`` per-source durable state files under ``state_dir``
- ``http``        one conditional, size-capped, deadline-bounded fetch
- ``fetchers/``   the fetcher process runtime and one module per source
- ``supervisor/`` the single-threaded supervisor, its children, control socket, sd_notify
- ``renderer/``   the watching renderer: page registry, manifest, writer
- ``model/``      pure functions from documents to view models
- ``pages/``      page family declarations (which template, which inputs, which paths)
- ``ctl/``        ``alliumctl``
"""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/alliumd/alliumd"
