"""A render worker: renders and writes chunks of pages for the renderer process.

Run by :mod:`alliumd.renderer.pool` as ``python -m alliumd.renderer.worker
OUTPUT_DIR PARENT_PID [TEMPLATE_DIR [COMPILED_DIR]]`` (an empty one: the
default).  It reads length-prefixed pickled
:class:`~alliumd.renderer.jobs.Chunk` frames on stdin and answers each with
a :class:`~alliumd.renderer.jobs.ChunkResult` frame on stdout; EOF on stdin
means "stop".  A fresh interpreter (not a fork of the renderer, which has a
file watcher and a command thread and holds every model) that receives only
what its pages need: a relay page's job carries that relay's records, not
the network.  It dies with its parent (``PR_SET_PDEATHSIG``) and never
writes anything else to stdout, which is its channel to the renderer.
"""

from __future__ import annotations

import gc
import pickle
import queue
import signal
import sys
import threading
import traceback

from .. import childproc
from ..core import exitcodes
from ..core.gcpause import RENDER_THRESHOLDS
from ..core.parentdeath import die_with_parent, orphaned
from ..memory import release_free_memory
from .frames import read_frame, write_frame

READY = b"ready"
# a chunk this large (pickled) held a 10k-row table's views and page text: give its memory back at once,
# not only when the queue runs dry (a medium batch keeps it full), since the next chunk seldom needs as much
TRIM_AFTER = 512 * 1024


def _read_ahead(stdin, frames: queue.SimpleQueue) -> None:
    """Reader thread: every frame as soon as it arrives, then None at EOF.  Why: the chunks the renderer
    hands over (up to pool.IN_FLIGHT, ~150 kB each for relay pages) then leave its pipe at once, so its
    writes never wait for this worker to finish a chunk, and the renderer can turn to its own work (a model,
    a chunk of the backlog) with nothing left to hand over.  Whatever ends it, the worker's loop gets the
    None that ends it too (a worker waiting for a frame that never comes would hang its batch)."""
    try:
        while (frame := read_frame(stdin)) is not None:
            frames.put(frame)
    finally:
        frames.put(None)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    output_dir, parent = args[0], args[1]
    template_dir, compiled = (args[2:4] + ["", ""])[:2]
    die_with_parent(signal.SIGKILL)                  # nothing of a worker needs cleaning up
    if orphaned(int(parent)):
        return exitcodes.OK
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the renderer decides when its workers stop
    from .jobs import ChunkResult, PageRenderer        # imported after the parent check: it is slow
    from ..pages import rowcache
    renderer = PageRenderer(output_dir, template_dir or None, compiled or None)
    gc.freeze()                                        # modules and templates: never garbage
    gc.set_threshold(*RENDER_THRESHOLDS)               # it only renders: collect as the renderer's batches do
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    frames: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_read_ahead, args=(stdin, frames), name="read-ahead", daemon=True).start()
    write_frame(stdout, READY)
    while (frame := frames.get()) is not None:
        try:
            result = renderer.run(pickle.loads(frame))
        except Exception as e:          # a chunk that cannot even be unpickled fails, not the worker
            result = ChunkResult("", [], f"render worker: {type(e).__name__}: {e}",
                                 "".join(traceback.format_exception(e)))
        write_frame(stdout, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        rowcache.clear()                   # the chunk's row objects never come back (see pages/rowcache.py)
        if len(frame) >= TRIM_AFTER or frames.empty():
            release_free_memory()          # the chunk's views are garbage now
    renderer.writer.close()
    return exitcodes.OK


if __name__ == "__main__":
    childproc.exit_now(main())
