"""The base models (relays, uptime, bandwidth), built from their cache documents line by line.

The details document and the uptime and bandwidth summaries have one relay
per line.  Reading them through ``RenderInputs.lines`` parses one relay at
a time into the model, so the renderer never holds a parsed document next
to the model built from it (for bandwidth, ~150 MB of objects); a document
in any other layout is parsed whole, which is correct, only costlier.
Rebuilt after a change, each model reuses what the previous one made of
the relays whose lines did not change (``RenderInputs.previous``).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..cache.layout import split_item
from ..model.bandwidth import build_bandwidth, build_bandwidth_from
from ..model.relays import DOWNTIME_DAYS, RelayModel, build_relays, build_relays_lines
from ..model.uptime import build_uptime, build_uptime_from
from .registry import ModelSpec, RenderInputs
from .common import BANDWIDTH, DETAILS, DETAILS_ONLY, UPTIME


def build_relays_model(inputs: RenderInputs) -> RelayModel:
    """Relay by relay; relays whose line did not change since the previous model keep their view."""
    days = inputs.settings.get("hide_down_after_days", DOWNTIME_DAYS)
    lines = inputs.lines(DETAILS, "relays")
    if lines is None:
        return build_relays(inputs.doc(DETAILS), days)
    return build_relays_lines(lines.envelope, lines.items, inputs.previous("relays"), days)


def build_uptime_model(inputs: RenderInputs):
    lines = inputs.lines(UPTIME, "relays")
    if lines is None:
        return build_uptime(inputs.doc(UPTIME))
    return build_uptime_from(lines.envelope, _summaries(lines.items), inputs.previous("uptime"))


def build_bandwidth_model(inputs: RenderInputs):
    lines = inputs.lines(BANDWIDTH, "relays")
    if lines is None:
        return build_bandwidth(inputs.doc(BANDWIDTH))
    return build_bandwidth_from(lines.envelope, _summaries(lines.items), inputs.previous("bandwidth"))


def _summaries(items: list[bytes]) -> Iterator[tuple[str, str]]:
    return filter(None, map(split_item, items))


# a relay whose view or uptime entry changed rewrites at least its page, its JSON and its metrics.txt, and a
# group page (ModelSpec.workload: the renderer starts its workers from this estimate)
JOBS_PER_CHANGED_RELAY = 4

MODELS = [
    ModelSpec("relays", DETAILS_ONLY, build_relays_model, workload=lambda m: m.parsed * JOBS_PER_CHANGED_RELAY),
    ModelSpec("uptime", frozenset({UPTIME}), build_uptime_model,
              workload=lambda m: m.changed * JOBS_PER_CHANGED_RELAY if m is not None else 0),
    ModelSpec("bandwidth", frozenset({BANDWIDTH}), build_bandwidth_model),
]
