"""Operator text (nicknames, contacts, platforms, vote headers, validator errors) made plain: one policy.

Operator-controlled strings are hostile input.  Whatever reads one for
display or a summary removes the same characters: C0 controls (tab and
newline included), DEL, C1 controls and lone UTF-16 surrogates.  Each run of
them becomes one space, so words they separated stay apart; the result is
trimmed and capped.  Escaping for HTML/XML is the templates' job (Mako's
``h`` filter), not this.
"""

from __future__ import annotations

import re

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]+")


def plain_text(value: str, limit: int | None = None, *, fold: bool = False, ellipsis: bool = False) -> str:
    """``value`` without unsafe characters, trimmed; ``fold``: every whitespace run one space;
    capped at ``limit`` characters (``ellipsis``: the cut ends in "…" within the limit)."""
    text = UNSAFE.sub(" ", value)
    text = " ".join(text.split()) if fold else text.strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…" if ellipsis else text[:limit]
    return text
