"""The six data sources: names, labels, default settings and fetcher modules.

One table so that the config schema, the supervisor, the renderer and
``alliumctl`` agree on what a source is called and what it defaults to.
"""

from dataclasses import dataclass

from .cache import names

MB = 1_000_000


@dataclass(frozen=True)
class SourceSpec:
    name: str
    label: str
    url: str
    enabled: bool
    interval: int
    timeout: int
    retries: int
    max_bytes: int
    max_age: int
    fetcher: str                 # module under alliumd.fetchers
    cache_file: str              # the fetched document, under cache_dir
    render_file: str             # what the renderer reads: the document itself, or a summary derived from it
    # each poll of the daemon in a forked child (fetchers/pollchild.py): the idle fetcher stays ~24 MB.  Not
    # for details: its hourly publication drives most pages, and a child's fresh import of requests would
    # add ~0.1 s to every one of them (its 22 MB document's heap is released after each poll anyway)
    poll_in_child: bool = True
    # the document kept gzipped (the history documents: a fraction of their size, inflated only when summarised)
    stored_gzip: bool = False


def _spec(name, label, url, *, enabled=False, interval, timeout, retries=3,
          max_bytes, max_age, fetcher, summarised=False, poll_in_child=True, stored_gzip=False):
    return SourceSpec(name, label, url, enabled, interval, timeout, retries, max_bytes, max_age, fetcher,
                      names.document_file(name, stored_gzip), names.render_file(name, summarised),
                      poll_in_child, stored_gzip)


SOURCES: dict[str, SourceSpec] = {s.name: s for s in (
    _spec("onionoo_details", "Onionoo details", "https://onionoo.torproject.org/details",
          enabled=True, interval=3600, timeout=300, max_bytes=200 * MB, max_age=6 * 3600,
          fetcher="onionoo_details", poll_in_child=False),
    # ~240 MB raw for the whole network, reduced to a summary while validated (fetchers/onionoo_uptime.py);
    # its 1-month graph has 4-hour points, so polling more often than that shows nothing new
    _spec("onionoo_uptime", "Onionoo uptime", "https://onionoo.torproject.org/uptime",
          interval=4 * 3600, timeout=1200, retries=2, max_bytes=1000 * MB, max_age=12 * 3600,
          fetcher="onionoo_uptime", summarised=True, stored_gzip=True),
    # ~45 MB raw; a relay's bandwidth history changes only with a new descriptor (up to ~18 h)
    _spec("onionoo_bandwidth", "Onionoo bandwidth", "https://onionoo.torproject.org/bandwidth",
          interval=6 * 3600, timeout=600, retries=2, max_bytes=500 * MB, max_age=36 * 3600,
          fetcher="onionoo_bandwidth", summarised=True, stored_gzip=True),
    # the index, then only new files (consensus, every authority's vote, the bandwidth files they used);
    # the cached document is a bundle manifest, the summary a per-authority table + vote matrix
    _spec("collector", "CollecTor votes", "https://collector.torproject.org/index/index.json",
          interval=1800, timeout=300, max_bytes=200 * MB, max_age=3 * 3600,
          fetcher="collector", summarised=True),
    # the abbreviated HTML page, scraped into a plain-text summary (fetchers/consensus_health.py)
    _spec("consensus_health", "consensus-health", "https://consensus-health.torproject.org/",
          interval=1800, timeout=60, max_bytes=20 * MB, max_age=3 * 3600,
          fetcher="consensus_health", summarised=True),
    # ~3.7 MB for the whole network, reduced to a per-fingerprint verdict table (fetchers/aroi.py)
    _spec("aroi", "AROI validator", "https://aroivalidator.1aeo.com/latest.json",
          interval=3600, timeout=120, retries=2, max_bytes=100 * MB, max_age=6 * 3600,
          fetcher="aroi", summarised=True),
)}
