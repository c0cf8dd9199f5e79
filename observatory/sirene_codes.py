"""SIRENE code lists used to classify establishments: legal categories → ESS families, staff
bands → estimated employees. Both are registered in the warehouse (``legal_categories``,
``staff_bands``) so that every figure derived from them can be traced to this table.

ESS membership of a unité légale, in this order (the rule used is recorded, ``ess_rule``):
1. ``economieSocialeSolidaireUniteLegale = 'O'`` in SIRENE (``drapeau SIRENE``);
2. its SIREN is on ESS France's list (``liste ESS France``);
3. its legal category is ESS by status (associations, coopératives, mutuelles, fondations:
   loi n° 2014-856, article 1) (``statut juridique``).
Otherwise it is outside the ESS. The family comes from the legal category; an ESS unité légale
(rules 1 and 2) whose category is not in the table is a « société commerciale de l'ESS »
(``SCESS``) when the category starts with 5 (sociétés commerciales), ``AUTRE`` otherwise.
Establishments of legal categories starting with 4 or 7 (personnes morales de droit public)
outside the ESS are counted as public employment.
"""

from __future__ import annotations

# INSEE catégories juridiques (niveau III) → ESS family; True when ESS by status.
_ASSO = ["9210", "9220", "9221", "9222", "9223", "9224", "9230", "9260"]
# fmt: off
_COOP = [
    "5191", "5192", "5193", "5194", "5195", "5196", "5203", "5307", "5309", "5443", "5451",
    "5453", "5454", "5455", "5458", "5459", "5460", "5543", "5547", "5551", "5552", "5553",
    "5554", "5555", "5558", "5559", "5560", "5643", "5647", "5651", "5652", "5653", "5654",
    "5655", "5658", "5659", "5660", "6316", "6317", "6318", "6543", "6551", "6554", "6558",
    "6560", "6595", "6596",
]
# fmt: on
_MUT = ["6411", "8210", "8250", "8290"]
_FOND = ["9300"]
# Private non-profit bodies that are ESS only when flagged (rules 1 and 2).
_AUTRE = ["8310", "8311", "9240", "9900", "9970"]

LEGAL_CATEGORIES: list[tuple[str, str, bool]] = (
    [(code, "ASSO", True) for code in _ASSO]
    + [(code, "COOP", True) for code in _COOP]
    + [(code, "MUT", True) for code in _MUT]
    + [(code, "FOND", True) for code in _FOND]
    + [(code, "AUTRE", False) for code in _AUTRE]
)

# INSEE staff bands (tranche d'effectif salarié) → documented estimate: the band's midpoint;
# 10 000 for the open band; 0 for NN (no employee), 00 and an empty band (unknown).
STAFF_BANDS: list[tuple[str, str, float]] = [
    ("", "tranche non renseignée", 0.0),
    ("NN", "unité non employeuse", 0.0),
    ("00", "0 salarié", 0.0),
    ("01", "1 ou 2 salariés", 1.5),
    ("02", "3 à 5 salariés", 4.0),
    ("03", "6 à 9 salariés", 7.5),
    ("11", "10 à 19 salariés", 14.5),
    ("12", "20 à 49 salariés", 34.5),
    ("21", "50 à 99 salariés", 74.5),
    ("22", "100 à 199 salariés", 149.5),
    ("31", "200 à 249 salariés", 224.5),
    ("32", "250 à 499 salariés", 374.5),
    ("41", "500 à 999 salariés", 749.5),
    ("42", "1 000 à 1 999 salariés", 1499.5),
    ("51", "2 000 à 4 999 salariés", 3499.5),
    ("52", "5 000 à 9 999 salariés", 7499.5),
    ("53", "10 000 salariés et plus", 10000.0),
]
