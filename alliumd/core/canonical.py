"""One object per equal value: a table that swaps strings and lists of strings for a canonical equal.

Thousands of relay records repeat their values (flag lists, versions, platforms, countries, family
member lists); parsed from JSON each is its own object.  Where values are only read, equal ones can be
one object.  A table lives as long as the build that fills it, so a long-running process does not
accumulate every value it ever saw.
"""

from __future__ import annotations

from typing import Any


class Canonical:
    """The canonical strings and string lists of one build."""

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.lists: dict[tuple[str, ...], list[str]] = {}

    def text(self, value: str) -> str:
        return self.strings.setdefault(value, value)

    def string_list(self, value: list[str]) -> list[str]:
        """The canonical list equal to ``value`` (its strings canonical too); ``value`` holds strings only."""
        key = tuple(value)
        shared = self.lists.get(key)
        if shared is None:
            shared = self.lists[key] = [self.strings.setdefault(v, v) for v in key]
        return shared

    def value(self, value: Any) -> Any:
        """A string or list of strings made canonical; any other value as it is."""
        if isinstance(value, str):
            return self.strings.setdefault(value, value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return self.string_list(value)
        return value


def reuse_equal(new: Any, previous: Any) -> Any:
    """``previous`` when it is equal to ``new``, else ``new``: a value rebuilt from a new object (a relay
    view that is new only because something else in it changed) stays the very object consumers keyed by
    identity already know (the tables' row cache, models that reuse what was made from it)."""
    return previous if previous is not None and previous == new else new
