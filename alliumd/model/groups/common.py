"""What every groups module shares: the group kinds, the listing words and titles, and operator text made safe."""

from __future__ import annotations

from typing import Any

from ...core.text import plain_text

KINDS = ("family", "as", "contact", "country", "platform", "flag", "first_seen")
ROLES = ("exit", "guard", "middle")

# listing kind (URL word) → group kind
LIST_KINDS = {"families": "family", "networks": "as", "contacts": "contact",
              "countries": "country", "platforms": "platform"}
LIST_TITLES = {"families": "Families", "networks": "Networks (AS)", "contacts": "Contacts",
               "countries": "Countries", "platforms": "Platforms"}

LABEL_LIMIT = 80            # list/table labels
CONTACT_TEXT_LIMIT = 2000   # the contact text on a contact page


def clean_text(value: Any, limit: int = LABEL_LIMIT) -> str | None:
    """Operator text fit for display: control chars and lone surrogates removed, length bounded."""
    if not isinstance(value, str) or not value:
        return None
    return plain_text(value, limit, ellipsis=True) or None
