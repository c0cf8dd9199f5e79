"""How far each commune is from support: the nearest structure of its zone, and what a
région's communes, EPCIs and population are beyond 20, 30 and 45 km.

Distances are straight-line distances in a metric projection: Lambert-93 (EPSG:2154) for
mainland France and Corsica, the local UTM projection overseas. A commune is its reference
point (``data/reference/communes.parquet``); a structure is its own coordinates when given,
else its commune's point. A commune's nearest structure is looked for in its own zone (mainland,
Corsica, each overseas département): no distance crosses the sea."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd

from observatory import secrecy
from observatory.support.directory import (
    PHASES,
    THRESHOLDS_KM,
    TYPES,
    ZONE_EPSG,
    commune_coordinates,
)

# ---------------------------------------------------------------------------------------------
# Geography


def zone_of(departement_code: str) -> str:
    """Zone where distances are measured: mainland, Corsica, or an overseas département."""
    if departement_code in ("2A", "2B"):
        return "corse"
    return departement_code if departement_code in ZONE_EPSG else "metropole"


def project(lon, lat, zones) -> tuple[np.ndarray, np.ndarray]:
    """Metric coordinates (metres) of WGS 84 points, each in its zone's projection."""
    lon, lat, zones = np.asarray(lon, float), np.asarray(lat, float), np.asarray(zones)
    x, y = np.full(len(lon), np.nan), np.full(len(lon), np.nan)
    for zone in np.unique(zones):
        mask = zones == zone
        points = gpd.GeoSeries(gpd.points_from_xy(lon[mask], lat[mask]), crs=4326)
        projected = points.to_crs(ZONE_EPSG[zone])
        x[mask], y[mask] = projected.x.to_numpy(), projected.y.to_numpy()
    return x, y


def nearest(points: pd.DataFrame, structures: pd.DataFrame) -> pd.DataFrame:
    """For each point (``zone``, ``x``, ``y``), the nearest structure (``structure_id``, ``zone``,
    ``x``, ``y``) of the same zone and its distance in km (NaN when the zone has none); between
    equally near structures, the smallest identifier."""
    distance = np.full(len(points), np.nan)
    found = np.full(len(points), None, dtype=object)
    zones = points["zone"].to_numpy()
    for zone in np.unique(zones):
        candidates = structures[structures["zone"] == zone]
        if candidates.empty:
            continue
        rows = np.flatnonzero(zones == zone)
        crs = ZONE_EPSG[zone]
        left = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(points["x"].to_numpy()[rows], points["y"].to_numpy()[rows]),
            crs=crs,
        )
        right = gpd.GeoDataFrame(
            {"structure_id": candidates["structure_id"].to_numpy()},
            geometry=gpd.points_from_xy(candidates["x"], candidates["y"]),
            crs=crs,
        )
        joined = gpd.sjoin_nearest(left, right, distance_col="distance_m")
        joined = joined.sort_values("structure_id", kind="stable")
        joined = joined[~joined.index.duplicated()].sort_index()
        distance[rows] = joined["distance_m"].to_numpy() / 1000
        found[rows] = joined["structure_id"].to_numpy()
    return pd.DataFrame({"distance_km": distance, "structure_id": found}, index=points.index)


@lru_cache(maxsize=4)
def _commune_points(wh) -> pd.DataFrame:
    communes = wh.sql(
        "SELECT code, name, departement_code, region_code, epci_code, "
        "coalesce(epci_type = 'ME', false) AS metropole, "
        "coalesce(population, 0) AS population FROM territories "
        "WHERE level = 'commune' ORDER BY code"
    )
    coords = commune_coordinates().reindex(communes["code"])
    communes["lon"], communes["lat"] = coords["lon"].to_numpy(), coords["lat"].to_numpy()
    communes["zone"] = communes["departement_code"].map(zone_of)
    communes["x"], communes["y"] = project(communes["lon"], communes["lat"], communes["zone"])
    return communes.set_index("code", drop=False)


def commune_points(wh) -> pd.DataFrame:
    """Communes of the warehouse with name, parents, population, métropole membership, zone
    and metric coordinates, indexed by code."""
    return _commune_points(wh).copy()


def structures(wh, as_of: date | None = None) -> pd.DataFrame:
    """Structures open at ``as_of`` (default: today) with their location (given coordinates,
    or their commune's point) in their zone's projection."""
    return _structures(wh, as_of or date.today()).copy()


@lru_cache(maxsize=8)
def _structures(wh, as_of: date) -> pd.DataFrame:
    frame = wh.sql(
        "SELECT s.*, t.name AS commune_name, t.departement_code, t.region_code, t.epci_code "
        "FROM support_structures AS s "
        "JOIN territories AS t ON t.level = 'commune' AND t.code = s.commune_code "
        "WHERE (s.opening_date IS NULL OR s.opening_date <= $as_of) "
        "AND (s.closing_date IS NULL OR s.closing_date > $as_of) ORDER BY s.structure_id",
        dict(as_of=as_of),
    )
    points = commune_coordinates().reindex(frame["commune_code"])
    frame["lon"] = frame["longitude"].fillna(pd.Series(points["lon"].to_numpy(), frame.index))
    frame["lat"] = frame["latitude"].fillna(pd.Series(points["lat"].to_numpy(), frame.index))
    frame["zone"] = frame["departement_code"].map(zone_of)
    frame["x"], frame["y"] = project(frame["lon"], frame["lat"], frame["zone"])
    frame["phases"] = [
        ", ".join(PHASES[p] for p in PHASES if row[f"phase_{p}"]) for _, row in frame.iterrows()
    ]
    return frame


def select(
    frame: pd.DataFrame, structure_type: str | None = None, phase: str | None = None
) -> pd.DataFrame:
    """Structures of one type and serving one phase (``None``: any)."""
    keep = pd.Series(True, index=frame.index)
    if structure_type:
        keep &= frame["structure_type"] == structure_type
    if phase:
        keep &= frame[f"phase_{phase}"].astype(bool)
    return frame[keep]


# ---------------------------------------------------------------------------------------------
# Indicators


SCOPES = {
    "ensemble": "Ensemble de la région",
    "metropoles": "Communes des métropoles",
    "autres": "Autres communes",
}


@dataclass
class Access:
    """How far the communes of a région are from the selected support structures."""

    region: str
    region_name: str
    structure_type: str | None
    phase: str | None
    as_of: date
    year: int | None  # year of the ESS figures (None: no figures loaded)
    communes: pd.DataFrame  # every commune of the région with its distance and nearest structure
    structures: pd.DataFrame  # selected structures in the région or nearest to one of its communes
    summary: pd.DataFrame  # scope × threshold: population and ESS employees beyond, secrecy applied
    epcis: pd.DataFrame  # coverage of each EPCI, least served first


def commune_distances(
    wh,
    region: str | None = None,
    structure_type: str | None = None,
    phase: str | None = None,
    as_of: date | None = None,
) -> pd.DataFrame:
    """Every commune of ``region`` (default: France) with its distance (km) to the nearest
    selected structure, wherever that structure is."""
    return _commune_distances(wh, region, structure_type, phase, as_of or date.today()).copy()


@lru_cache(maxsize=64)
def _commune_distances(wh, region, structure_type, phase, as_of) -> pd.DataFrame:
    points = commune_points(wh)
    if region is not None:
        points = points[points["region_code"] == region]
    chosen = select(structures(wh, as_of), structure_type, phase)
    return points.join(nearest(points, chosen))


def ess_by_commune(wh) -> tuple[int | None, pd.DataFrame]:
    """Latest year and each commune's ESS establishments, employees and largest establishment."""
    years = wh.years()
    if not years:
        return None, pd.DataFrame(
            columns=["ess_establishments", "ess_employees", "ess_top_employees"]
        )
    frame = wh.sql(
        "SELECT code, ess_establishments, ess_employees, ess_top_employees "
        "FROM employment_by_territory WHERE level = 'commune' AND year = $year",
        dict(year=years[-1]),
    )
    return years[-1], frame.set_index("code").astype(float)


def access(
    wh,
    region: str,
    structure_type: str | None = None,
    phase: str | None = None,
    as_of: date | None = None,
) -> Access:
    """Distances, population and ESS employees beyond 20, 30 and 45 km, métropoles and the rest,
    coverage of each EPCI, for the communes of ``region``."""
    as_of = as_of or date.today()
    communes = commune_distances(wh, region, structure_type, phase, as_of)
    year, ess = ess_by_commune(wh)
    communes = communes.join(ess.reindex(communes.index).fillna(0))
    names = wh.sql(
        "SELECT name FROM territories WHERE level = 'region' AND code = $code", dict(code=region)
    )["name"]
    chosen = select(structures(wh, as_of), structure_type, phase)
    shown = chosen[
        (chosen["region_code"] == region)
        | chosen["structure_id"].isin(communes["structure_id"].dropna())
    ]
    return Access(
        region,
        names.iloc[0] if len(names) else region,
        structure_type,
        phase,
        as_of,
        year,
        communes,
        shown.reset_index(drop=True),
        summary(communes, year),
        epci_coverage(wh, communes, shown),
    )


def _beyond(distance: pd.Series, km: float) -> pd.Series:
    """Communes beyond ``km`` (a commune with no structure in its zone is beyond every
    threshold)."""
    return distance.isna() | (distance > km)


def summary(communes: pd.DataFrame, year: int | None) -> pd.DataFrame:
    """Population and ESS employees beyond each threshold, in the région, its métropoles and the
    rest, with shares; ESS figures under statistical secrecy are masked (``secret``)."""
    scopes = {
        "ensemble": communes,
        "metropoles": communes[communes["metropole"]],
        "autres": communes[~communes["metropole"]],
    }
    columns = [None, *THRESHOLDS_KM]  # None: every commune of the scope (the denominator)
    cells = []
    for scope, frame in scopes.items():
        for km in columns:
            part = frame if km is None else frame[_beyond(frame["distance_km"], km)]
            cells.append(
                dict(
                    scope=scope,
                    threshold_km=km,
                    communes=len(part),
                    population=float(part["population"].sum()),
                    establishments=float(part["ess_establishments"].sum()),
                    ess_employees=float(part["ess_employees"].sum()),
                    top=float(part["ess_top_employees"].max()) if len(part) else 0.0,
                )
            )
    cells = pd.DataFrame(cells)
    masked = secrecy.primary(cells["establishments"], cells["ess_employees"], cells["top"])
    relations = secrecy.Relations()
    n = len(columns)
    relations.add(np.arange(n), np.stack([np.arange(n) + n, np.arange(n) + 2 * n], axis=1))
    cells["secret"] = secrecy.secondary(cells["ess_employees"], masked, relations)
    totals = cells[cells["threshold_km"].isna()].set_index("scope")
    out = cells[cells["threshold_km"].notna()].copy()
    out["threshold_km"] = out["threshold_km"].astype(int)
    total_pop = totals.loc[out["scope"], "population"].to_numpy()
    total_ess = totals.loc[out["scope"], "ess_employees"].to_numpy()
    out["population_share"] = np.where(
        total_pop > 0, 100 * out["population"] / np.where(total_pop > 0, total_pop, 1), np.nan
    )
    out["ess_share"] = np.where(
        total_ess > 0, 100 * out["ess_employees"] / np.where(total_ess > 0, total_ess, 1), np.nan
    )
    out["secret"] |= totals.loc[out["scope"], "secret"].to_numpy()
    if year is None:
        out[["ess_employees", "ess_share"]] = np.nan
    out.loc[out["secret"], ["ess_employees", "ess_share"]] = np.nan
    out["scope_label"] = out["scope"].map(SCOPES)
    return out[
        [
            "scope",
            "scope_label",
            "threshold_km",
            "communes",
            "population",
            "population_share",
            "ess_employees",
            "ess_share",
            "secret",
        ]
    ].reset_index(drop=True)


def epci_coverage(wh, communes: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """Each EPCI of the région: population, structures inside, population-weighted mean and
    largest distance, share of the population beyond each threshold; least served first (no
    structure in reach, then the largest mean distance)."""
    frame = communes[communes["epci_code"].notna()]
    population, distance = frame["population"].astype(float), frame["distance_km"]
    groups = frame.assign(
        weighted=distance * population,
        unreachable=distance.isna(),
        **{f"beyond_{km}": population.where(_beyond(distance, km), 0.0) for km in THRESHOLDS_KM},
    ).groupby("epci_code")
    out = pd.DataFrame(
        {
            "population": groups["population"].sum().astype(float),
            "communes": groups.size(),
            "max_km": groups["distance_km"].max(),
        }
    )
    weight = out["population"].where(out["population"] > 0)
    out["mean_km"] = (groups["weighted"].sum() / weight).fillna(groups["distance_km"].mean())
    out.loc[groups["unreachable"].any(), "mean_km"] = np.nan
    for km in THRESHOLDS_KM:
        out[f"share_beyond_{km}"] = 100 * groups[f"beyond_{km}"].sum() / weight
    out["structures"] = shown.groupby("epci_code").size().reindex(out.index).fillna(0).astype(int)
    epcis = wh.sql("SELECT code, name, epci_type FROM territories WHERE level = 'epci'")
    out = out.rename_axis("code").reset_index().merge(epcis, on="code", how="left")
    out["unreachable"] = out["mean_km"].isna()
    out = out.sort_values(["unreachable", "mean_km", "code"], ascending=[False, False, True])
    columns = [
        "code",
        "name",
        "epci_type",
        "population",
        "communes",
        "structures",
        "mean_km",
        "max_km",
        *[f"share_beyond_{km}" for km in THRESHOLDS_KM],
    ]
    return out[columns].reset_index(drop=True)


def _mean_km(distance: np.ndarray, population: np.ndarray) -> float:
    """Population-weighted mean distance (plain mean without population; NaN when a commune
    has no structure in its zone)."""
    if np.isnan(distance).any() or not len(distance):
        return np.nan
    return float(np.average(distance, weights=population if population.sum() > 0 else None))


def distances_by_kind(wh, region: str, as_of: date | None = None) -> pd.DataFrame:
    """For every type and every phase: structures open in the région and the population-weighted
    mean distance of its communes to the nearest one, and the share of population beyond 30 km."""
    as_of = as_of or date.today()
    open_now = structures(wh, as_of)
    rows = []
    choices = [
        ("type", code, label, dict(structure_type=code)) for code, label in TYPES.items()
    ] + [("phase", code, label, dict(phase=code)) for code, label in PHASES.items()]
    for kind, code, label, selection in choices:
        communes = commune_distances(wh, region, as_of=as_of, **selection)
        chosen = select(open_now, **selection)
        population = communes["population"].to_numpy(float)
        distance = communes["distance_km"].to_numpy(float)
        rows.append(
            dict(
                kind=kind,
                code=code,
                label=label,
                structures=int((chosen["region_code"] == region).sum()),
                mean_km=_mean_km(distance, population),
                share_beyond_30=(
                    100
                    * population[_beyond(communes["distance_km"], 30).to_numpy()].sum()
                    / population.sum()
                    if population.sum() > 0
                    else np.nan
                ),
            )
        )
    return pd.DataFrame(rows)
