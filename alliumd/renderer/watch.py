"""Watching the cache directory with watchdog.

The handler runs on watchdog's dispatcher thread, where an exception kills
the observer silently, so it does nothing but put a source name on a queue.
Publishes happen via temp files in ``.tmp/`` (not watched: the watch is
non-recursive) and ``os.replace``, which inotify reports as a created or
moved-to event for the final name; both ``src_path`` and ``dest_path`` are
considered.  Inotify is a latency optimisation; the periodic rescan in
``main`` is the correctness guarantee.
"""

from __future__ import annotations

import os
import queue

from watchdog.events import (FileClosedEvent, FileCreatedEvent, FileDeletedEvent, FileMovedEvent,
                             FileSystemEventHandler)
from watchdog.observers import Observer

from ..sources import SOURCES

_BY_FILE = {spec.render_file: name for name, spec in SOURCES.items()}
EVENT_TYPES = [FileCreatedEvent, FileMovedEvent, FileClosedEvent, FileDeletedEvent]


class CacheEventHandler(FileSystemEventHandler):
    def __init__(self, events: "queue.Queue[tuple[str, str]]"):
        self.events = events

    def on_any_event(self, event) -> None:
        if event.is_directory:
            return
        for path in (event.src_path, getattr(event, "dest_path", "")):
            name = _BY_FILE.get(os.path.basename(os.fsdecode(path))) if path else None
            if name:
                self.events.put(("input", name))


def start_observer(cache_dir, events: "queue.Queue") -> Observer:
    observer = Observer()
    observer.schedule(CacheEventHandler(events), str(cache_dir), recursive=False, event_filter=EVENT_TYPES)
    observer.daemon = True
    observer.start()
    return observer
