"""Stable, path-safe identities of the groups pages are made for.

Everything here turns operator-controlled text into an identifier that is
safe as one path segment, or refuses.  The grammar is strict on purpose:
allium built paths and links from a loosely matched AROI domain and so let
``<marquee>`` into its pages.
"""

from __future__ import annotations

import hashlib
import re

from .. import paths
from ..core.domain import DOMAIN_RE, normalise_domain   # noqa: F401  (identities use the one grammar)

_OS_RE = re.compile(r"[^a-z0-9]+")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AS_RE = re.compile(r"AS(\d{1,10})")
_CC_RE = re.compile(r"[a-z]{2}")
_FLAG_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")


def contact_hash(contact: str) -> str:
    """allium's contact key (md5 of the raw string), kept so existing contact URLs keep working."""
    return hashlib.md5(contact.encode("utf-8", "surrogatepass")).hexdigest()


def family_id(members: list[str]) -> str | None:
    """A family is named by its smallest member fingerprint (needs two or more valid members)."""
    valid = sorted({m.upper() for m in members if paths.is_fingerprint(str(m).upper())})
    return valid[0] if len(valid) >= 2 else None


def as_id(value: str | None) -> str | None:
    """'AS3' → 'AS3'; anything else → None."""
    if not isinstance(value, str):
        return None
    m = _AS_RE.fullmatch(value.strip().upper())
    return f"AS{int(m.group(1))}" if m else None


def country_id(value: str | None) -> str | None:
    if not isinstance(value, str):
        return None
    cc = value.strip().lower()
    return cc if _CC_RE.fullmatch(cc) else None


OS_FAMILIES = {"linux": "Linux", "freebsd": "FreeBSD", "openbsd": "OpenBSD", "netbsd": "NetBSD",
               "dragonfly": "DragonFly", "windows": "Windows", "darwin": "Darwin", "sunos": "SunOS",
               "solaris": "SunOS", "android": "Android", "kfreebsd": "kFreeBSD", "haiku": "Haiku",
               "bitrig": "Bitrig", "cygwin": "Windows", "illumos": "SunOS"}


def os_family(os_text: str | None) -> str | None:
    """The operating system of a platform's "on <OS>" part, as one of a known set, else "Other".

    Relays choose their platform string, so grouping by free text would let any
    operator mint platform pages; 'Linux', 'Windows 8 [server]', 'GNU/kFreeBSD'
    map to Linux, Windows, kFreeBSD.
    """
    if not isinstance(os_text, str) or not os_text.strip():
        return None
    word = os_text.strip().split(" ", 1)[0].split("/")[-1].lower()
    return OS_FAMILIES.get(word, "Other")


def platform_id(os_name: str | None) -> str | None:
    """'Linux' → 'linux', 'kFreeBSD' → 'kfreebsd'; empty → None."""
    if not isinstance(os_name, str):
        return None
    slug = _OS_RE.sub("-", os_name.strip().lower()).strip("-")[:40].strip("-")
    return slug or None


def flag_id(flag: str | None) -> str | None:
    if not isinstance(flag, str) or not _FLAG_RE.fullmatch(flag):
        return None
    return flag.lower()


def date_id(value: str | None) -> str | None:
    """'2026-08-22 11:00:00' → '2026-08-22'."""
    if not isinstance(value, str):
        return None
    day = value[:10]
    return day if _DATE_RE.fullmatch(day) else None


def aroi_domain(contact: str | None) -> str | None:
    """The AROI domain of a CIISS contact string, or None.

    Needs ``ciissversion:``, ``proof:uri-rsa`` or ``proof:dns-rsa`` and ``url:``;
    the first occurrence of a key wins; the url must be a valid domain.
    """
    if not isinstance(contact, str) or "ciissversion:" not in contact:
        return None
    fields: dict[str, str] = {}
    for token in contact.split():
        key, sep, value = token.partition(":")
        if sep and key and key not in fields:
            fields[key] = value
    if "ciissversion" not in fields or fields.get("proof") not in ("uri-rsa", "dns-rsa"):
        return None
    return normalise_domain(fields.get("url"))


def contact_id(contact: str | None) -> str | None:
    """The contact page id: the AROI domain when there is one, else the contact hash; None without contact."""
    if not isinstance(contact, str) or not contact.strip():
        return None
    return aroi_domain(contact) or contact_hash(contact)
