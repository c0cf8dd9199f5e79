"""ESS families: codes used in the warehouse and their French labels."""

from __future__ import annotations

import pandas as pd

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


def families_frame() -> pd.DataFrame:
    """The family dimension as a DataFrame (code, label, short_label, sort_order)."""
    return pd.DataFrame(
        [
            {"family_code": code, "label": label, "short_label": short, "sort_order": i + 1}
            for i, (code, label, short) in enumerate(FAMILIES)
        ]
    )
