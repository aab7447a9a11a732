"""Bundled offline sample data (package data ``alliumd.sample``).

About 1,000 relays and 50 bridges trimmed from the network-10k bench set
(real 2026-08-22 relay skeleton, synthetic detail), as gzipped Onionoo
details/uptime/bandwidth documents and an aroivalidator ``latest.json``.
Not live data.  See README.md here for provenance; regenerate with
``python tools/make_sample.py``.
"""
