"""Operator text (nicknames, contacts, platforms, vote headers, validator errors) made plain: one policy.

Operator-controlled strings are hostile input.  Whatever reads one for
display, a summary or a feed removes the same characters: C0 controls (tab
and newline included), DEL, C1 controls, lone UTF-16 surrogates, the
bidirectional embedding/override/isolate controls (U+202A-202E,
U+2066-2069: they reorder the text around them, a spoofing tool) and the
noncharacters U+FFFE/U+FFFF (not allowed in XML).  Each run of
them becomes one space, so words they separated stay apart; the result is
trimmed and capped.  Escaping for HTML/XML is the templates' job (Mako's
``h`` filter), not this.
"""

from __future__ import annotations

import re

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]+")


def plain_text(value: str, limit: int | None = None, *, fold: bool = False, ellipsis: bool = False) -> str:
    """``value`` without unsafe characters, trimmed; ``fold``: every whitespace run one space;
    capped at ``limit`` characters (``ellipsis``: the cut ends in "…" within the limit)."""
    text = UNSAFE.sub(" ", value)
    text = " ".join(text.split()) if fold else text.strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…" if ellipsis else text[:limit]
    return text
