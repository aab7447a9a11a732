"""ContactInfo strings per CIISS v2, and the proof files AROI validation reads (pure functions).

A relay's ContactInfo is whatever its operator typed: anything from an
e-mail address to markup, NUL bytes or kilobytes of noise.  CIISS v2 gives
it a structure: whitespace-separated ``key:value`` pairs, the first
occurrence of a key wins, ``[]`` stands for ``@`` in addresses, and an AROI
(Authenticated Relay Operator ID) needs ``ciissversion``, a
``proof:uri-rsa|dns-rsa`` and a ``url`` naming the operator's domain.

Domains go through ``identity.normalise_domain`` only (strict, IDNA-aware,
ASCII/punycode out), so the AROI domain found here is always the one
``identity.aroi_domain`` finds: contact pages, leaderboards and validation
agree on who an operator is.  Nothing here builds markup; the only link
target offered is ``https://`` + a validated domain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.text import plain_text

from . import identity

RSA_PROOFS = ("uri-rsa", "dns-rsa")                 # the proofs an AROI can rest on (CIISS v2)
KNOWN_PROOFS = RSA_PROOFS + ("dns-familyid-ed25519", "uri-familyid-ed25519")   # v3, recognised only
AROI_FIELDS = ("ciissversion", "proof", "url")

# CIISS v2 keys; other "words:with colons" (https://…, Matrix: @x:y) are not fields
KNOWN_KEYS = frozenset({
    "ciissversion", "url", "proof", "email", "abuse", "pgp", "keybase", "twitter", "mastodon", "matrix",
    "xmpp", "ricochet", "bitmessage", "hoster", "cost", "uplinkbw", "trafficacct", "memory", "cpu",
    "virtualization", "backups", "offlinemasterkey", "signingkey_lifetime", "sandbox", "os", "tls",
    "aesni", "autoupdate", "confmgmt", "dnslocation", "dnsqname", "dnssec", "dnslocalrootzone",
    "btc", "zec", "xmr", "donationurl", "operatorurl",
})
MAX_VALUE_CHARS = 256          # a stored field value (the raw string itself is never truncated)
_VERSION_RE = re.compile(r"[0-9]{1,3}")
_PROOF_RE = re.compile(r"[a-z0-9-]{1,40}")
_EMAIL_LOCAL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}")
_HEX40_RE = re.compile(r"[0-9A-Fa-f]{40}")


@dataclass(frozen=True)
class ContactInfo:
    """What a contact string says, as far as CIISS v2 goes (derived fields are computed once, in parse)."""

    fields: dict[str, str] = field(default_factory=dict)   # known keys → first value, cleaned and bounded
    ciissversion: str | None = None     # "2" (digits only), or None when absent or not a number
    proof: str | None = None            # a KNOWN_PROOFS value, or None
    url_domain: str | None = None       # the ``url`` field's domain (strict), or None
    email: str | None = None            # ``email`` with ``[]`` → ``@`` when well formed (text only)
    has_contact: bool = False           # a non-blank string at all
    has_ciissversion: bool = False      # the ``ciissversion`` key is present (any value, like identity)
    missing: tuple[str, ...] = AROI_FIELDS   # the AROI fields absent or unusable, in AROI_FIELDS order
    aroi_domain: str | None = None      # the operator's AROI domain: only when no AROI field is missing

    @property
    def has_proof(self) -> bool:
        return self.proof in RSA_PROOFS

    @property
    def has_url(self) -> bool:
        return self.url_domain is not None

    @property
    def aroi_url(self) -> str | None:
        """``https://<domain>``: the only link a contact string may produce."""
        return f"https://{self.aroi_domain}" if self.aroi_domain else None


NO_CONTACT = ContactInfo()


def parse(contact: object) -> ContactInfo:
    """Parse one ContactInfo string; anything that is not a string is "no contact".

    Tokens are split like ``identity.aroi_domain`` splits them (``str.split``)
    and the first occurrence of each key wins, so both always agree on the
    domain.  Unknown keys are ignored; values are cleaned of control
    characters and bounded; the input length itself is not limited (the
    scan is linear).
    """
    if not isinstance(contact, str) or not contact.strip():
        return NO_CONTACT
    raw: dict[str, str] = {}
    for token in contact.split():
        key, sep, value = token.partition(":")
        if sep and key in KNOWN_KEYS and key not in raw:
            raw[key] = value
    version = raw.get("ciissversion")
    proof = raw.get("proof")
    domain = identity.normalise_domain(raw["url"]) if "url" in raw else None
    present = {"ciissversion": "ciissversion" in raw, "proof": proof in RSA_PROOFS, "url": domain is not None}
    missing = tuple(name for name in AROI_FIELDS if not present[name])
    return ContactInfo(
        fields={k: _clean(v) for k, v in sorted(raw.items())},
        ciissversion=version if version is not None and _VERSION_RE.fullmatch(version) else None,
        proof=proof if proof in KNOWN_PROOFS else None,
        url_domain=domain,
        email=email_address(raw.get("email")),
        has_contact=True,
        has_ciissversion=present["ciissversion"],
        missing=missing,
        aroi_domain=domain if not missing else None,
    )


def email_address(value: str | None) -> str | None:
    """``tor[]example.org`` → ``tor@example.org`` when the local part and the domain are well formed."""
    if not value:
        return None
    local, sep, domain = value.replace("[]", "@").rpartition("@")
    if not sep or not _EMAIL_LOCAL_RE.fullmatch(local):
        return None
    host = identity.normalise_domain(domain) if "/" not in domain else None
    return f"{local}@{host}" if host else None


def _clean(value: str) -> str:
    return plain_text(value, MAX_VALUE_CHARS)


def proof_fingerprints(text: str) -> list[str]:
    """The relay fingerprints of a ``rsa-fingerprint.txt`` proof file, upper-cased, in file order.

    Real files differ: upper or lower case, with or without a final newline,
    ``#`` comment lines (with emoji), blank lines, surrounding spaces.  Lines
    that are not exactly one 40-hex fingerprint are skipped; duplicates are
    kept once.
    """
    out: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or not _HEX40_RE.fullmatch(line):
            continue
        fp = line.upper()
        if fp not in seen:
            seen.add(fp)
            out.append(fp)
    return out
