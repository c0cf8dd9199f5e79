"""ESS families: codes used in the warehouse and their French labels."""

from __future__ import annotations

# (code, French label, short French label), in display order.
FAMILIES: list[tuple[str, str, str]] = [
    ("ASSO", "Associations", "Associations"),
    ("COOP", "Coopératives", "Coopératives"),
    ("MUT", "Mutuelles", "Mutuelles"),
    ("FOND", "Fondations", "Fondations"),
    ("AUTRE", "Autres organismes privés non lucratifs", "Autres"),
    ("SCESS", "Sociétés commerciales de l'ESS", "Sociétés commerciales"),
]

FAMILY_CODES = [code for code, _, _ in FAMILIES]
