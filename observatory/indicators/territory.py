"""Territories and years of the warehouse: a code or a name resolved to its territory, its
parent, the years a portrait may show."""

from __future__ import annotations

from observatory import search, territories
from observatory.indicators.definitions import (
    LEVEL_LABELS,
    REGISTRY,
    SIRENE_SOURCE,
    Territory,
    YearError,
)
from observatory.indicators.static import _static
from observatory.secrecy.masks import PARENT
from observatory.territories import TerritoryError
from observatory.warehouse import Warehouse


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
