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
``REGISTRY`` (read from ``catalogue.toml``); ``df.attrs`` carries the metadata of the indicators
in the frame.

The room: :mod:`.definitions` (what each indicator is, read from ``catalogue.toml``), :mod:`.years` (the years of the warehouse; territories are resolved by :mod:`observatory.territories`),
:mod:`.static` (what never changes for one warehouse), :mod:`.portrait` and :mod:`.themes` (the
figures of one territory and year), :mod:`.batch` (the inputs of many territories read at once),
:mod:`.engine` (the entry points). Secrecy is applied by
:mod:`observatory.secrecy` before anything leaves this package.
"""

from observatory.errors import YearError
from observatory.indicators.definitions import (
    COLUMNS,
    CRESS_SOURCE,
    DEMO_SOURCE,
    DENOMINATORS,
    EMPLOYMENT_SOURCE,
    ESS_COLUMNS,
    ESS_SOURCE,
    FACT_THEMES,
    GEOGRAPHY_SOURCE,
    INSEE_TABLES_SOURCE,
    LEVEL_LABELS,
    MEASURE_OF,
    NO_SOURCE,
    NOT_LOADED,
    POPULATION_SOURCE,
    PROVINCE_LABEL,
    REGISTRY,
    SIRENE_SOURCE,
    SOURCES,
    THEMES,
    UNKNOWN_MEASURE,
    URSSAF_SOURCE,
    Indicator,
    Territory,
    catalogue,
    display,
)
from observatory.indicators.engine import (
    compute,
    compute_many,
    indicator,
    store_commune_masks,
)
from observatory.indicators.years import (
    facts_source,
    has_facts,
    is_estimate,
    resolve_year,
    whole_epcis,
    years,
)
from observatory.secrecy.masks import IDF, MEASURES, PARENT, PROVINCE, TOPS
from observatory.territories import TerritoryError, guess_level, parent_of, resolve

__all__ = [
    "COLUMNS",
    "CRESS_SOURCE",
    "DEMO_SOURCE",
    "DENOMINATORS",
    "EMPLOYMENT_SOURCE",
    "ESS_COLUMNS",
    "ESS_SOURCE",
    "FACT_THEMES",
    "GEOGRAPHY_SOURCE",
    "IDF",
    "INSEE_TABLES_SOURCE",
    "LEVEL_LABELS",
    "MEASURES",
    "MEASURE_OF",
    "NOT_LOADED",
    "NO_SOURCE",
    "PARENT",
    "POPULATION_SOURCE",
    "PROVINCE",
    "PROVINCE_LABEL",
    "REGISTRY",
    "SIRENE_SOURCE",
    "SOURCES",
    "THEMES",
    "TOPS",
    "UNKNOWN_MEASURE",
    "URSSAF_SOURCE",
    "Indicator",
    "Territory",
    "TerritoryError",
    "YearError",
    "catalogue",
    "compute",
    "compute_many",
    "display",
    "facts_source",
    "guess_level",
    "has_facts",
    "indicator",
    "is_estimate",
    "parent_of",
    "resolve",
    "resolve_year",
    "store_commune_masks",
    "whole_epcis",
    "years",
]
