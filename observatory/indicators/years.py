"""The years of the warehouse a portrait may show, and what is known of each (its source,
whether it holds ESS facts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from observatory.errors import YearError
from observatory.indicators.definitions import (
    REGISTRY,
    SIRENE_SOURCE,
)
from observatory.indicators.static import _static

if TYPE_CHECKING:
    from observatory.warehouse import Warehouse


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
