"""Page keys derived from what a deferred view reads, never listed by hand.

A :class:`~alliumd.pages.registry.Deferred` view is a module-level
function of plain-data arguments (they are pickled to a render worker, which
has nothing else to read), so the function and its arguments are everything
its page depends on besides the code, the templates and the chrome (which
salt every key, see build.py).  The key is therefore a digest of all the
arguments: an input a page module forgot to mention cannot exist, because
there is no list to forget it from.

Hashing every argument of ~55k keyed pages (10k relays) on every build would cost more
than the pages it skips, so :class:`KeyMemo` keeps each page's arguments and
key from the build before and reuses the key while every argument is the
very same object or an equal one.  That is sound because models never change
an object they have handed out (``model.uptime.mark_outliers`` copies an
entry whose mark changes); ``verify`` re-derives each reused key and fails
loudly when that rule is broken (the test suite runs with it on).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Callable

try:                                   # optional speed-up (pyproject.toml); the stdlib is the fallback
    import orjson
except ImportError:                    # pragma: no cover - depends on the environment
    orjson = None

VERIFY_ENV = "ALLIUMD_VERIFY_PAGE_KEYS"     # "1": re-derive every reused key (tests)
_SCALARS = (str, int, float, bool, type(None))


def derive(fn: Callable[..., Any], args: tuple, shared: dict | None = None) -> str:
    """The key of ``fn(*args)``: the function's name and a digest of every argument.

    ``shared`` (one dict per build, see :class:`KeyMemo`) remembers the digest of
    each argument that is a tuple (a group of records), so one tuple many pages
    receive (a relay's records: its HTML, JSON and metrics pages) is serialised
    once per build.  Only those are remembered, to keep the build's memory
    small.  The key is the same with or without it.

    A function with a ``ship`` (registry.Deferred.__reduce__) is keyed by what it ships: the function and
    the slim arguments a render worker builds the very same view from.  They decide the page as much as
    the full arguments do, cost a fraction to serialise (a relay's metrics.txt: a few fields instead
    of its relay view and uptime entry; the keys' serialisation in a 10k-relay cold build, under
    cProfile, 1.18 → 1.06 s), and a worker that receives only them derives the same key.
    """
    ship = getattr(fn, "ship", None)
    if ship is not None:
        fn, args = ship(*args)
    h = hashlib.blake2b(f"{fn.__module__}.{fn.__qualname__}".encode(), digest_size=16)
    for arg in args:
        h.update(b"\0")
        h.update(_digest(arg, shared))
    return h.hexdigest()


def _digest(value: Any, shared: dict | None) -> bytes:
    """A scalar's own JSON, anything else the digest of its JSON: one serialisation of the whole argument
    (a tuple of ten records is one call, not ten), which is most of what a key costs."""
    if isinstance(value, _SCALARS):
        return key_bytes(value)
    remember = shared is not None and type(value) is tuple
    if remember:
        hit = shared.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
    digest = hashlib.blake2b(key_bytes(value), digest_size=16).digest()
    if remember:
        shared[id(value)] = (value, digest)    # the tuple is kept alive, so its id is not reused this build
    return digest


def _plain(value: Any) -> Any:
    """What JSON cannot say itself, said deterministically: sets sorted, dataclasses by every field."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"a page view argument of type {type(value).__name__} has no key")


def key_bytes(args: Any) -> bytes:
    """Every argument's full content as JSON (a type that cannot be serialised raises: no silent gap)."""
    if orjson is not None:
        try:
            return orjson.dumps(args, default=_plain, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:              # e.g. a lone surrogate: the stdlib decides what happens
            pass
    return json.dumps(args, ensure_ascii=False, separators=(",", ":"), default=_plain).encode("utf-8")


def salted_key(fn: Callable[..., Any], args: tuple, salt: bytes, shared: dict | None = None) -> str:
    """What :meth:`FamilyKeys.key` stores for ``fn(*args)`` in a family salted with ``salt``."""
    return salted(derive(fn, args, shared), salt)


def same_arguments(old: tuple, new: tuple) -> bool:
    """Every argument the same object or equal.

    Equal plain data serialises alike, except numbers of another type (``1 == 1.0 == True``): the
    models parse one type per field, and in the test suite ``verify`` would report such a change.
    """
    if old is new:
        return True
    if len(old) != len(new):
        return False
    for a, b in zip(old, new):              # a loop, not all(): this runs for every keyed page of a build
        if a is not b and a != b:
            return False
    return True


def resolve(entries: dict[str, tuple[Callable, tuple, str | None]], path: str, key: str) -> None:
    """The key derived for a page whose key was deferred (FamilyKeys.key), once it is rendered.
    ``entries``: the family's ``FamilyKeys.new``, which the memo keeps after a complete expansion (only
    that dict is held until the family's pages are done, not the previous build's entries)."""
    entry = entries.get(path)
    if entry is not None and entry[2] is None:
        entries[path] = (entry[0], entry[1], key)


def unresolved(entries: dict[str, tuple[Callable, tuple, str | None]], path: str) -> None:
    """A deferred page that was not rendered (it failed): no entry without a key is kept, so the next
    build derives it."""
    entry = entries.get(path)
    if entry is not None and entry[2] is None:
        del entries[path]


class StaleKey(AssertionError):
    """A reused key no longer matches its arguments: something changed an object in place."""


def salted(key: str, salt: bytes) -> str:
    """A derived key bound to the code, templates and chrome (``salt``) of the family's build."""
    h = hashlib.blake2b(salt, digest_size=16)
    h.update(b"\0")
    h.update(key.encode())
    return h.hexdigest()


class FamilyKeys:
    """One family's keys during one expansion: the previous build's entries and the new ones.

    Entries hold salted keys (what the manifest stores), so a reused key costs no hashing at all;
    the previous entries are only offered while the family's salt is the same.
    """

    def __init__(self, old: dict[str, tuple[Callable, tuple, str]], verify: bool, shared: dict, salt: bytes):
        self.old, self.new, self.verify, self.shared, self.salt = old, {}, verify, shared, salt
        self.derived = 0
        self._last: tuple = (None, None, False)     # (new args, old args, same?): a page's HTML and JSON share them

    def key(self, path: str, fn: Callable[..., Any], args: tuple, known: str | None = None,
            defer: bool = False) -> str | None:
        """The salted key of ``fn(*args)`` at ``path``.  ``known``: the key the manifest holds for the page;
        when equal, that string is the one kept here too (after a start, every key is derived once
        anew: without this, the memo and the manifest held an equal copy of each, ~5 MB at 60k pages).

        ``defer``: None instead of a key that cannot match ``known`` (the page is new, or its arguments
        differ from the last build's), so the page must be rendered anyway; whoever renders it derives
        the key (:func:`salted_key`) and hands it to :func:`resolve`.  A render worker then does the
        hashing, not the renderer process, which is the critical path of a batch.
        """
        old = self.old.get(path)
        key = self._reused(path, old, fn, args)
        if key is None:
            if defer and (known is None or (old is not None and old[0] is fn and old[2] == known)):
                self.new[path] = (fn, args, None)
                return None
            key = salted_key(fn, args, self.salt, self.shared)
            self.derived += 1
        if key is not known and key == known:
            key = known
        self.new[path] = (fn, args, key)
        return key

    def unchanged(self, path: str, fn: Callable[..., Any], args: tuple, known: str | None) -> bool:
        """Whether the page at ``path`` keeps ``known``, the key the manifest holds for it: its entry of
        the last build has the same function, the same arguments and that key (the entry is then kept).
        The expansion's fast path: most pages of a batch end here, without the work of :meth:`key`."""
        old = self.old.get(path)
        if known is None or old is None or old[2] != known or self._reused(path, old, fn, args) is None:
            return False
        self.new[path] = (fn, args, known)
        return True

    def _reused(self, path: str, old: tuple | None, fn: Callable[..., Any], args: tuple) -> str | None:
        """The key of ``old`` (the path's entry of the last build) if it is of the same function and the same
        arguments, else None; under ``verify`` the key is derived again and must be the same."""
        if old is None or old[0] is not fn or old[2] is None or not self._same(old[1], args):
            return None
        if self.verify and salted_key(fn, args, self.salt) != old[2]:
            raise StaleKey(f"{path}: an argument of {fn.__qualname__} changed in place")
        return old[2]

    def _same(self, old: tuple, new: tuple) -> bool:
        last_new, last_old, same = self._last
        if new is last_new and old is last_old:
            return same
        same = same_arguments(old, new)
        self._last = (new, old, same)
        return same


class KeyMemo:
    """Salted keys per family and page path, carried from one build to the next (with the family's salt)."""

    def __init__(self, verify: bool | None = None):
        self.verify = os.environ.get(VERIFY_ENV) == "1" if verify is None else verify
        self._families: dict[str, tuple[bytes, dict[str, tuple[Callable, tuple, str]]]] = {}
        self._shared: dict = {}  # id → (object, digest) of this build's arguments (see derive)
        self.derived = 0        # keys hashed (the rest were reused): for tests and profiling

    def new_build(self) -> None:
        """Forget the argument digests of the last build (its objects may change identity or be freed)."""
        self._shared = {}

    def begin(self, family: str, salt: bytes) -> FamilyKeys:
        """``salt``: the family's code, template and chrome salt; another one than last time reuses nothing."""
        old_salt, entries = self._families.get(family, (None, {}))
        return FamilyKeys(entries if old_salt == salt else {}, self.verify, self._shared, salt)

    def finish(self, family: str, keys: FamilyKeys, *, complete: bool) -> None:
        """End a family's expansion: its pages' entries replace the old ones (``complete``) or join them."""
        self._families[family] = (keys.salt, keys.new if complete else {**keys.old, **keys.new})
        self.derived += keys.derived
