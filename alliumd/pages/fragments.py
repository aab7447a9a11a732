"""Parts of a page that only their own inputs decide, reused from the page's current file.

A relay page is rewritten whenever anything it shows changes: its percentile
ranks after other relays came or went, its family, a new details hour.  Its
history charts (four SVG charts, a third of the page's render time) depend
on nothing of that: only on the relay's uptime and bandwidth histories.  So
a view can hand its template a :class:`Fragment`: the part's name, a token
(a digest of everything the part is drawn from) and the function that
computes the part's view, called only if needed.

The template draws a fragment between two HTML comments naming it and its
token.  When the page is rendered again, the renderer reads the page's
current file (only if its SHA-256 is the manifest's: bytes this renderer
wrote) and, if the part with the same token is there, the template copies it
instead of computing it (templates/fragment.mako).  The code and templates
that draw a part are not in its token (the pages' bytes stay the same across
releases that do not change them): parts are reused only while the manifest's
build info is the running code's (renderer/build.py), i.e. every page on disk
was written by this code and these templates; the first batch after an
upgrade, which rewrites every page anyway, reuses nothing.  So the page's
bytes are the same either way: the same token means the same inputs, and the
same code drew that text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(eq=False)
class Fragment:
    """A reusable part of a view: ``fn(*args)`` is the part's own view, built at most once."""

    name: str                                    # [a-z_]+: one per page
    token: str                                   # digest of the inputs (fn and args decide nothing else)
    fn: Callable[..., Any] = field(repr=False)
    args: tuple = field(default=(), repr=False)
    html: str | None = field(default=None, repr=False)     # the part as the current file holds it
    _value: Any = field(default=None, repr=False)
    _built: bool = field(default=False, repr=False)

    @property
    def value(self) -> Any:
        if not self._built:
            self._value, self._built = self.fn(*self.args), True
        return self._value


def token_of(*parts: str | bytes | None) -> str:
    """A digest of a fragment's inputs given as text (e.g. the history entries' summary texts)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(b"\0" if part is None else b"\1" + (part.encode() if isinstance(part, str) else part))
        h.update(b"\0")
    return h.hexdigest()


def opening(name: str, token: str) -> str:
    return f"<!--part {name} {token}-->"


def closing(name: str) -> str:
    return f"<!--/part {name}-->"


def find(page: str, name: str, token: str) -> str | None:
    """The text of the part ``name`` drawn for ``token`` in ``page``, or None when it is not there.

    Operator strings cannot fake a marker: every one is HTML-escaped (``<``
    becomes ``&lt;``), and only a file the renderer wrote is searched.
    """
    start = page.find(opening(name, token))
    if start < 0:
        return None
    start += len(opening(name, token))
    end = page.find(closing(name), start)
    return page[start:end] if end >= 0 else None


def fragments_of(view: Any) -> list[Fragment]:
    """The fragments among a view's top-level values (a page has at most a few)."""
    if not isinstance(view, dict):
        return []
    return [v for v in view.values() if type(v) is Fragment]
