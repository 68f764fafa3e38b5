"""GenBank accession numbers in sequence ids: ``X`` and ``X.1`` are one accession, ``X.1`` and
``X.2`` are not.

An INSDC accession is a prefix of letters and digits, optionally followed by ``.version``
(``KJ848781``, ``KJ848781.1``, ``NC_001921.1``). A record id that is not an accession (``CDVH-1``)
only ever matches itself. Panel ids such as ``KJ848781.1|L1|L1.1|CN|2014|RACOON`` carry the
accession as their first ``|`` field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ACCESSION = re.compile(r"^([A-Za-z]{1,6}_?\d{5,9})(?:\.(\d+))?$")


def parse_accession(identifier: str) -> tuple[str, int | None] | None:
    """``'KJ848781.1|L1|...'`` -> ``('KJ848781', 1)``; ``'JN812975'`` -> ``('JN812975', None)``;
    None when the first ``|``/space-separated field is not an accession."""
    field = re.split(r"[|\s]", identifier.strip(), maxsplit=1)[0]
    match = ACCESSION.match(field)
    if not match:
        return None
    return match[1].upper(), int(match[2]) if match[2] else None


def same_accession(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` name the same accession: same base, and equal versions or at least
    one without a version. Ids that are not accessions match only when identical."""
    if a.strip() == b.strip():
        return True
    pa, pb = parse_accession(a), parse_accession(b)
    if pa is None or pb is None or pa[0] != pb[0]:
        return False
    return pa[1] is None or pb[1] is None or pa[1] == pb[1]


def find_accession(identifier: str, candidates: Iterable[str]) -> str | None:
    """The one candidate that is ``identifier`` or the same accession as it; None if there is
    none or more than one (an unversioned id and two versions of it are ambiguous)."""
    candidates = list(candidates)
    if identifier in candidates:
        return identifier
    matches = [c for c in candidates if same_accession(identifier, c)]
    return matches[0] if len(matches) == 1 else None
