"""Logging to stderr, journald-friendly.

Under systemd (``$JOURNAL_STREAM`` set) each line carries a ``<N>`` syslog
priority prefix, which journald maps to PRIORITY, and no timestamp (journald
adds one).  Every line of a traceback gets the prefix, since journald splits
the stream at newlines.  The ``[role]`` tag tells processes apart, because
all children share the supervisor's stream.
"""

from __future__ import annotations

import logging
import os
import sys

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class _Formatter(logging.Formatter):
    def __init__(self, role: str, journald: bool):
        fmt = "[%(role)s] %(message)s" if journald else "%(asctime)s %(levelname)s [%(role)s] %(message)s"
        super().__init__(fmt, datefmt="%Y-%m-%d %H:%M:%S")
        self.role = role
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        record.role = self.role
        text = super().format(record)
        if not self.journald:
            return text
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in text.splitlines())


def setup(role: str, level: str = "info") -> logging.Logger:
    """Configure the root logger; ``$ALLIUM_LOG_LEVEL`` overrides ``level`` (``--once`` quiets children)."""
    level = os.environ.get("ALLIUM_LOG_LEVEL", level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(role, bool(os.environ.get("JOURNAL_STREAM"))))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("watchdog").setLevel(logging.WARNING)
    return logging.getLogger("alliumd")
