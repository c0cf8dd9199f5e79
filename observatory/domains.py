"""ESS activity domains: NAF rév. 2 sous-classes grouped as the ESS observatories' notes
present them (action sociale, enseignement, santé, sport et loisirs…).

The mapping is the observatory's own, written after the headings of the national ESS
observatory's « Panorama de l'ESS » and of the CRESS notes; every domain and its NAF codes are
justified in docs/domains.md. A sous-classe takes the domain of the most precise rule naming it:
its sous-classe (``94.99Z``), else its division (``88``), else its section (``P``); the rules
reach every sous-classe (a build check).
"""

from __future__ import annotations

# (code, French label, NAF codes as a reader sees them), in display order.
DOMAINS: list[tuple[str, str, str]] = [
    ("action_sociale", "Action sociale", "87, 88"),
    ("sante", "Santé humaine", "86"),
    ("enseignement", "Enseignement", "85"),
    ("sport_loisirs", "Sport et loisirs", "93"),
    ("arts_spectacles", "Arts, spectacles et patrimoine", "90, 91"),
    ("finance_assurance", "Activités financières et d'assurance", "64 à 66"),
    ("hebergement_restauration", "Hébergement et restauration", "55, 56"),
    ("commerce", "Commerce", "45 à 47"),
    ("industrie_construction", "Industrie et construction", "05 à 43"),
    ("agriculture", "Agriculture, sylviculture et pêche", "01 à 03"),
    ("soutien_entreprises", "Soutien aux entreprises", "69 à 82"),
    ("non_classes", "Associations non classées ailleurs", "94.99Z"),
    (
        "autres",
        "Autres activités",
        "49 à 53, 58 à 63, 68, 84, 92, 94 (sauf 94.99Z), 95 à 99",
    ),
]
DOMAIN_CODES = [code for code, _, _ in DOMAINS]

# (NAF code: sous-classe, division or section; domain code).
RULES: list[tuple[str, str]] = [
    ("A", "agriculture"),
    *[(section, "industrie_construction") for section in "BCDEF"],
    ("G", "commerce"),
    ("H", "autres"),
    ("I", "hebergement_restauration"),
    ("J", "autres"),
    ("K", "finance_assurance"),
    ("L", "autres"),
    ("M", "soutien_entreprises"),
    ("N", "soutien_entreprises"),
    ("O", "autres"),
    ("P", "enseignement"),
    ("86", "sante"),
    ("87", "action_sociale"),
    ("88", "action_sociale"),
    ("90", "arts_spectacles"),
    ("91", "arts_spectacles"),
    ("92", "autres"),
    ("93", "sport_loisirs"),
    ("S", "autres"),
    ("94.99Z", "non_classes"),
    ("T", "autres"),
    ("U", "autres"),
]


def domain_of(naf_code: str, a88_code: str, a21_code: str) -> str | None:
    """The domain of a NAF sous-classe by the rules above (as the warehouse's ``sectors``)."""
    rules = dict(RULES)
    return rules.get(naf_code) or rules.get(a88_code) or rules.get(a21_code)
