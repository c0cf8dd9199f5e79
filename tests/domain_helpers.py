"""The ESS activity domains as docs/domains.md states them, restated by hand for the tests
(the code under test reads its rules from observatory/domains.py)."""

from __future__ import annotations

# (first division, last division, domain); 94.99Z apart; every other division « autres ».
DIVISIONS = (
    (1, 3, "agriculture"),
    (5, 43, "industrie_construction"),
    (45, 47, "commerce"),
    (55, 56, "hebergement_restauration"),
    (64, 66, "finance_assurance"),
    (69, 82, "soutien_entreprises"),
    (85, 85, "enseignement"),
    (86, 86, "sante"),
    (87, 88, "action_sociale"),
    (90, 91, "arts_spectacles"),
    (93, 93, "sport_loisirs"),
)
SPLIT = "94"  # 94.99Z « non classés », the rest of the division « autres »


def documented_domain(naf: str) -> str:
    """The domain of a NAF sous-classe (``88.10A``) or of a whole division (``88``)."""
    if naf == "94.99Z":
        return "non_classes"
    division = int(naf[:2])
    for low, high, domain in DIVISIONS:
        if low <= division <= high:
            return domain
    return "autres"
