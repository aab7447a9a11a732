"""What the files in ``cache_dir`` are called, how a sample is marked, and each summary format's version.

A summary format's version is bumped when the summary's shape changes: a
fetcher started with a newer alliumd re-derives the summary from the cached
document (no refetch), and a model refuses a summary of another version.
"""

from __future__ import annotations

SAMPLE_KEY = "alliumd_sample"          # top-level member of a bundled sample document (and its summary)
META_SUFFIX = ".meta"                  # beside a render file: its data time (see cache.meta)

UPTIME_SUMMARY_FORMAT = 3              # 3: every flag's [mean, points] (2: only the first priority flag's;
                                       # 1: everything on one line)
BANDWIDTH_SUMMARY_FORMAT = 2
COLLECTOR_SUMMARY_FORMAT = 1
CONSENSUS_HEALTH_SUMMARY_FORMAT = 1
AROI_SUMMARY_FORMAT = 1


def document_file(source: str, gzipped: bool = False) -> str:
    """The fetched document as published (the renderer reads it only for unsummarised sources);
    ``gzipped``: a history document, kept compressed (fetchers/stored.py)."""
    return f"{source}.json.gz" if gzipped else f"{source}.json"


def render_file(source: str, summarised: bool) -> str:
    """What the renderer reads: the summary derived from the document, or the document itself."""
    return f"{source}.summary.json" if summarised else document_file(source)


def meta_file(render_name: str) -> str:
    return render_name + META_SUFFIX
