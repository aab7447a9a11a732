"""Models built ahead of a batch, from the sources whose documents are final (``alliumd --once``).

Why: a cold ``--once`` fetches for seconds (the 242 MB uptime document),
while the details document, which most models read, is published within
the first second; the batch then started by building those models for ~2 s
with the render workers idle, since no page can go out before them.  The
renderer is told each source that is final (its fetcher has exited) and
builds every model that reads only final sources meanwhile; the batch finds
them in the model cache, keyed by the same content hashes.

Only a pure function of final documents and plain settings may be built
early.  :class:`EarlyInputs` refuses everything else (a source that is not
final, source descriptions and staleness, the status snapshot, the history
store, whose recording has to happen in the batch, at the batch's time):
such a model raises :class:`NotFinal` before it has done anything, and the
batch builds it as it always did.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

from ..pages.registry import RenderInputs
from .documents import Documents

log = logging.getLogger("alliumd.renderer")

# settings only the batch may read: the history store records a publication when its model is built
BATCH_ONLY_SETTINGS = frozenset({"history"})


class NotFinal(Exception):
    """A model asked for something that only the batch can give it."""


class _Refused(dict):
    """A mapping that refuses to be read (source descriptions, the status snapshot: the batch's)."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def __getitem__(self, key):
        raise NotFinal(f"{self.what}[{key!r}]")

    def get(self, key, default=None):
        raise NotFinal(f"{self.what}[{key!r}]")

    def __contains__(self, key) -> bool:
        raise NotFinal(f"{self.what}[{key!r}]")


class _Settings(dict):
    """The batch's settings minus those only a batch may use."""

    def __getitem__(self, key):
        if key in BATCH_ONLY_SETTINGS:
            raise NotFinal(f"settings[{key!r}]")
        return super().__getitem__(key)

    def get(self, key, default=None):
        if key in BATCH_ONLY_SETTINGS:
            raise NotFinal(f"settings[{key!r}]")
        return super().get(key, default)


class EarlyInputs(RenderInputs):
    """RenderInputs that give a model final documents and plain settings, and nothing else."""

    def __init__(self, docs: Documents, hashes: dict[str, str], models: dict, model_cache: dict,
                 settings: dict[str, Any], now: float, final: frozenset[str]):
        super().__init__(docs, hashes, _Refused("sources"), models, model_cache, None, _Settings(settings), now)
        self.status = _Refused("status")
        self.final = final

    def _require(self, source: str) -> None:
        if source not in self.final:
            raise NotFinal(source)

    def doc(self, source: str) -> Any:
        self._require(source)
        return super().doc(source)

    def has(self, source: str) -> bool:
        self._require(source)
        return super().has(source)

    def lines(self, source: str, member: str) -> Any:
        self._require(source)
        return super().lines(source, member)

    def model(self, name: str) -> Any:
        if not self._models[name].inputs <= self.final:
            raise NotFinal(name)
        return super().model(name)


def build_early(inputs: EarlyInputs, models: dict, stop: Callable[[], bool] = lambda: False) -> list[str]:
    """Build every model of ``models`` that reads only final sources and is not cached yet, until ``stop()``
    (asked before each) says the batch is due; the names of those built.  A model that fails here for any
    other reason is left to the batch, which builds it again and reports its error where it always did."""
    built = []
    for name, spec in models.items():
        if not spec.inputs or not spec.inputs <= inputs.final or inputs.built(name):
            continue
        if stop():
            break
        try:
            inputs.model(name)
        except NotFinal as e:
            log.debug("model %s is left to the batch (it reads %s)", name, e)
            continue
        except Exception:                                    # noqa: BLE001 - the batch reports it
            log.debug("model %s failed ahead of the batch", name, exc_info=True)
            continue
        built.append(name)
    gc.freeze()              # out of the collections that follow (the batch freezes what it starts with too)
    return built
