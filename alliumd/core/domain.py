"""The strict DNS-name grammar for operator-supplied domains (AROI urls, validator answers).

Shared by the summarisers (a validator answer keeps a domain only when it
is strict) and the models (page ids): one grammar, so a domain accepted on
one side is accepted on the other.
"""

from __future__ import annotations

import re

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_TLD_RE = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")


def normalise_domain(text: str | None) -> str | None:
    """A lower-case ASCII (IDNA/punycode) DNS name with at least two labels, or None.

    Accepts ``example.org``, ``https://example.org/path``, ``Example.ORG.``;
    refuses anything with markup, spaces, quotes, ports, user info or a
    label that is not LDH.  Unicode names are converted with IDNA.
    """
    if not isinstance(text, str) or not text or len(text) > 300:
        return None
    host = text.strip()
    for prefix in ("https://", "http://"):
        if host.lower().startswith(prefix):
            host = host[len(prefix):]
            break
    host = host.split("/", 1)[0].rstrip(".")
    if not host or any(c in host for c in "@:<>\"' \t\\"):
        return None
    try:
        host = host.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None
    if len(host) > 253 or not DOMAIN_RE.fullmatch(host):
        return None
    if not _TLD_RE.fullmatch(host.rsplit(".", 1)[1]):
        return None
    return host
