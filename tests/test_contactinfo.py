"""ContactInfo parsing (CIISS v2) and proof files: real operators' files and domains, and hostile strings.

The parser must agree with ``identity.aroi_domain`` on every string (the
contact pages group operators by that domain), keep everything it returns
bounded plain text, and offer no link but ``https://`` + a strict domain.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pytest

from alliumd.model import contactinfo, identity
from alliumd.model.contactinfo import parse

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROOFS = FIXTURES / "real" / "aroi"
# file → (domain, fingerprints, first fingerprint upper-cased)
PROOF_FILES = {
    "rsa-fingerprint_emeraldonion.org_2021-01-05.txt": ("emeraldonion.org", 38,
                                                         "09DCA3360179C6C8A5A20DDDE1C54662965EF1BA"),
    "rsa-fingerprint_nothingtohide.nl_2023-02-05.txt": ("nothingtohide.nl", 127,
                                                        "FD3419724819084AABD85033CBF7005D3C1905BC"),
    "rsa-fingerprint_prsv.ch_2023-01-15.txt": ("prsv.ch", 86, "0268983473DD34ECF9239E86226C410D883CE175"),
    "rsa-fingerprint_brokenbotnet.com-shinobi.txt": ("brokenbotnet.com", 16,
                                                     "7F28C3E41DA9FD4A2B8143CB6038304634EDC396"),
}
DOMAINS = sorted(domain for domain, _, _ in PROOF_FILES.values())


def agrees(contact) -> contactinfo.ContactInfo:
    """Parse, and check the one invariant every string must keep: the same domain as identity finds."""
    info = parse(contact)
    assert info.aroi_domain == identity.aroi_domain(contact), repr(contact)[:200]
    for value in info.fields.values():
        assert len(value) <= contactinfo.MAX_VALUE_CHARS
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in value)
    if info.aroi_url is not None:
        assert info.aroi_url == f"https://{info.aroi_domain}" and info.aroi_url.isascii()
    return info


# -- the real proof files -------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROOF_FILES))
def test_real_proof_files(name):
    text = (PROOFS / name).read_text(encoding="utf-8")
    _, count, first = PROOF_FILES[name]
    fps = contactinfo.proof_fingerprints(text)
    assert len(fps) == count and fps[0] == first
    assert all(len(fp) == 40 and fp == fp.upper() for fp in fps)
    assert len(set(fps)) == len(fps)


def test_proof_file_quirks():
    nth = (PROOFS / "rsa-fingerprint_nothingtohide.nl_2023-02-05.txt").read_text()
    assert not nth.endswith("\n")                                        # the last line still counts
    assert contactinfo.proof_fingerprints(nth)[-1] == nth.rsplit("\n", 1)[1].strip().upper()
    prsv = (PROOFS / "rsa-fingerprint_prsv.ch_2023-01-15.txt").read_text()
    assert prsv.split("\n", 1)[0].islower()
    shinobi = (PROOFS / "rsa-fingerprint_brokenbotnet.com-shinobi.txt").read_text(encoding="utf-8")
    assert "🥷" in shinobi and sum(line.startswith("#") for line in shinobi.splitlines()) == 17
    fp = "abcdef0123" * 4
    messy = f"  # comment {fp}\n\n  {fp}  \r\nnot a fingerprint\n{fp.upper()}\n{fp}x\n"
    assert contactinfo.proof_fingerprints(messy) == [fp.upper()]


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("template", [
    "email:tor[]{d} url:https://{d} proof:uri-rsa ciissversion:2",
    "ciissversion:2 proof:dns-rsa url:{d}",
    "url:https://{d}/ proof:uri-rsa ciissversion:2 abuse:abuse[]{d} hoster:example.net",
    "url:HTTPS://{D}/.well-known/tor-relay/rsa-fingerprint.txt ciissversion:2 proof:uri-rsa",
    "Operator <tor@{d}> url:http://{d}. ciissversion:2 proof:dns-rsa",
    "url:https://{d}\tproof:uri-rsa\nciissversion:2",
])
def test_the_real_operators_domains(domain, template):
    contact = template.format(d=domain, D=domain.upper())
    info = agrees(contact)
    assert info.aroi_domain == domain and info.aroi_url == f"https://{domain}"
    assert info.missing == () and info.has_proof and info.ciissversion == "2"


def test_fields_first_occurrence_email_and_known_keys():
    info = agrees("email:ops[]example.org url:https://example.org proof:uri-rsa ciissversion:2 "
                  "email:other[]evil.example hoster:Hetzner https://not-a-field.example Matrix: @x:y")
    assert info.email == "ops@example.org"
    assert info.fields["email"] == "ops[]example.org"                       # first occurrence, as written
    assert info.fields["hoster"] == "Hetzner"
    assert set(info.fields) == {"email", "url", "proof", "ciissversion", "hoster"}   # no "https", "Matrix"
    assert parse("email:no-domain[]").email is None
    assert parse("email:<script>[]example.org").email is None
    assert parse("email:a[]b[]example.org").email is None                    # "a@b" is not a local part
    assert parse("email:x[]example.org/path").email is None


@pytest.mark.parametrize("contact, missing", [
    ("url:https://example.org proof:uri-rsa ciissversion:2", ()),
    ("url:https://example.org ciissversion:2", ("proof",)),
    ("url:https://example.org proof:uri-rsa", ("ciissversion",)),
    ("proof:dns-rsa ciissversion:2", ("url",)),
    ("ciissversion:2 proof:dns-rsa url:<marquee>x<b>evil", ("url",)),       # allium's injection: not a domain
    ("ciissversion:2 proof:dns-familyid-ed25519 url:example.org", ("proof",)),   # v3 proofs are not RSA
    ("ciissversion:2", ("proof", "url")),
    ("noc@example.org", ("ciissversion", "proof", "url")),
    ("ciissversion: proof:uri-rsa url:example.org", ()),                     # the key counts, like identity
])
def test_missing_fields(contact, missing):
    info = agrees(contact)
    assert info.missing == missing and info.has_contact
    assert (info.aroi_domain is None) == bool(missing)


# -- hostile strings ----------------------------------------------------------------------------

AROI = "ciissversion:2 proof:uri-rsa "


@pytest.mark.parametrize("contact", [
    AROI + "url:<marquee>x<b>evil",
    AROI + 'url:"example.org"',
    AROI + 'url:example.org"onmouseover="alert(1)',
    AROI + "url:example.org'><script>alert(1)</script>",
    AROI + "url:javascript:alert(1)",
    AROI + "url:javascript://example.org/%0aalert(1)",
    AROI + "url:data:text/html,<script>alert(1)</script>",
    AROI + "url:https://user@example.org",
    AROI + "url:https://example.org:8443",
    AROI + "url:https://exa\x00mple.org",
    AROI + "url:" + "a" * 10_000 + ".org",
    AROI + "url:https://-bad-.org",
    AROI + "url:localhost",
    AROI + "url:https://127.0.0.1",
    AROI + "url:https://example.123",
    AROI + "url:\ud800.org",
    "<script>alert(1)</script> " + AROI,
])
def test_hostile_urls_are_not_domains(contact):
    info = agrees(contact)
    assert info.aroi_domain is None and info.aroi_url is None and info.url_domain is None
    assert "url" in info.missing


def test_markup_stays_text_in_fields():
    info = agrees(AROI + "url:<marquee>x<b>evil email:<script>[]x.org")
    assert info.fields["url"] == "<marquee>x<b>evil"      # plain text for templates to escape, never a link
    assert info.email is None


def test_javascript_in_a_path_never_reaches_the_link():
    info = agrees(AROI + "url:https://example.org/javascript:alert(1)")
    assert info.aroi_domain == "example.org" and info.aroi_url == "https://example.org"


@pytest.mark.parametrize("written, punycode", [
    ("аpple.com", "xn--pple-43d.com"),              # Cyrillic а: a homograph of apple.com
    ("exаmple.org", "xn--exmple-4nf.org"),          # mixed script
    ("xn--pple-43d.com", "xn--pple-43d.com"),       # already punycode: unchanged
    ("bücher.de", "xn--bcher-kva.de"),
    ("ｅｘａｍｐｌｅ.org", "example.org"),            # full-width letters fold to ASCII (IDNA nameprep)
])
def test_idn_domains_come_out_as_ascii_punycode(written, punycode):
    info = agrees(AROI + f"url:https://{written}")
    assert info.aroi_domain == punycode and info.aroi_domain.isascii()
    assert "apple.com" != info.aroi_domain


def test_duplicate_keys_first_wins():
    assert agrees(AROI + "url:first.org url:second.org").aroi_domain == "first.org"
    assert agrees(AROI + "url:<b> url:good.org").aroi_domain is None          # an invalid first url wins too
    assert agrees("proof:none proof:uri-rsa ciissversion:2 url:example.org").missing == ("proof",)
    assert agrees("ciissversion:2 ciissversion:3 proof:uri-rsa url:example.org").ciissversion == "2"


def test_nul_control_characters_and_surrogates_are_cleaned():
    info = agrees("ciissversion:2\x00 proof:uri-rsa url:example.org hoster:A\x00B\x1b[31mC\ud800")
    assert info.aroi_domain == "example.org"
    assert info.fields["hoster"] == "A B [31mC" and info.fields["ciissversion"] == "2"
    assert info.ciissversion is None                      # "2\x00" is not a version number; the key still counts
    assert parse("\x00").has_contact and parse("\x00").missing == contactinfo.AROI_FIELDS


def test_ten_kilobytes():
    noise = "x" * 10_000
    info = agrees(noise + " " + AROI + "url:example.org hoster:" + noise)
    assert info.aroi_domain == "example.org" and len(info.fields["hoster"]) == contactinfo.MAX_VALUE_CHARS
    assert agrees(("url:x " * 2_000) + AROI).aroi_domain is None              # 12 kB of one repeated key
    assert agrees("k:v " * 3_000).fields == {}


@pytest.mark.parametrize("value", [None, "", "   \t\n", 5, b"url:example.org", ["url:example.org"]])
def test_no_contact(value):
    info = parse(value)
    assert info is contactinfo.NO_CONTACT and not info.has_contact and info.aroi_domain is None


def test_keys_are_lower_case_as_in_the_spec():
    assert agrees("URL:https://example.org CIISSVERSION:2 PROOF:uri-rsa").aroi_domain is None
    assert agrees("url:https://example.org ciissversion:2 proof:URI-RSA").missing == ("proof",)


def test_every_contact_of_the_fixtures_and_the_bundled_sample_agrees_with_identity():
    contacts = {r.get("contact") for r in json.loads((FIXTURES / "onionoo_details_small.json").read_text())["relays"]}
    sample = resources.files("alliumd.sample") / "onionoo_details.json.gz"
    with sample.open("rb") as raw, gzip.open(raw) as body:
        contacts |= {r.get("contact") for r in json.load(body)["relays"]}
    assert len(contacts) > 300
    found = {c: agrees(c).aroi_domain for c in contacts}
    assert sum(1 for d in found.values() if d) > 30
    assert all(d is None or (d.isascii() and "<" not in d) for d in found.values())
