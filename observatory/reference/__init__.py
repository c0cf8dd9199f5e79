"""French reference geography (COG) and NAF rév. 2 nomenclature, read from data/reference.

The files are committed; ``python -m observatory.reference.rebuild`` regenerates them.
Every loader returns a fresh copy, so callers may modify the result.
"""

from __future__ import annotations

from functools import cache

import geopandas as gpd
import pandas as pd

from observatory import settings


@cache
def _read(name: str) -> pd.DataFrame:
    """Read ``<name>.parquet`` once, as a GeoDataFrame when it has a geometry."""
    path = settings.REFERENCE_DIR / f"{name}.parquet"
    if name in {"commune_aliases", "commune_history", "naf"}:
        return pd.read_parquet(path)
    return gpd.read_parquet(path)


def regions() -> gpd.GeoDataFrame:
    """The 18 régions: code, name, population, geometry (MultiPolygon, EPSG:4326)."""
    return _read("regions").copy()


def departements() -> gpd.GeoDataFrame:
    """The 101 départements: code, name, region_code, population, geometry."""
    return _read("departements").copy()


def epcis() -> gpd.GeoDataFrame:
    """EPCI à fiscalité propre: code (SIREN), name, epci_type, departement_code,
    region_code, population, geometry."""
    return _read("epcis").copy()


def communes() -> gpd.GeoDataFrame:
    """Communes: code, name (with its article: « La Rochelle »), departement_code,
    region_code, epci_code, population, geometry (Point)."""
    return _read("communes").copy()


def commune_polygons() -> gpd.GeoDataFrame:
    """Commune outlines, simplified as a coverage (neighbours share their borders): code,
    geometry (MultiPolygon). The four communes restored from Neussargues en Pinatelle
    (15031, 15035, 15047, 15171) have none: their territory is still in 15141's."""
    return _read("commune_polygons").copy()


def commune_aliases() -> pd.DataFrame:
    """Codes of arrondissements and communes déléguées or associées: code, kind, name,
    commune_code (the commune they belong to)."""
    return _read("commune_aliases").copy()


def commune_history() -> pd.DataFrame:
    """Former commune codes (communes merged since, or whose code changed): code,
    commune_code (the current commune holding their territory)."""
    return _read("commune_history").copy()


def naf() -> pd.DataFrame:
    """NAF rév. 2 sous-classes with their class, group, A88, A38 and A21 levels."""
    return _read("naf").copy()
