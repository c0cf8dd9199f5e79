"""Support structures for ESS projects (incubators, pépinières, DLA, CRESS offices, PTCE,
tiers-lieux): the directory (validation, embedded and demo entries) and how far each commune
is from support.

Distances are straight-line distances in a metric projection: Lambert-93 (EPSG:2154) for
mainland France and Corsica, the local UTM projection overseas. A commune is its reference
point (``data/reference/communes.parquet``); a structure is its own coordinates when given,
else its commune's point. A commune's nearest structure is looked for in its own zone (mainland,
Corsica, each overseas département): no distance crosses the sea.

    >>> from observatory import open_warehouse, support
    >>> access = support.access(open_warehouse(), "76", structure_type="pepiniere")
    >>> access.summary        # population and ESS employees beyond 20, 30 and 45 km
    >>> access.epcis.head(10) # the least-served EPCIs
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from observatory import formatting, fsutil, reference, secrecy, settings
from observatory.warehouse import sql

# The directory's code lists: code → French label, in display order.
TYPES = {
    "incubateur": "Incubateur",
    "pepiniere": "Pépinière",
    "dla": "Dispositif local d'accompagnement (DLA)",
    "cress": "CRESS (siège ou antenne)",
    "ptce": "Pôle territorial de coopération économique (PTCE)",
    "tiers_lieu": "Tiers-lieu",
    "autre": "Autre structure d'accompagnement",
}
PHASES = {
    "emergence": "Émergence",
    "creation": "Création",
    "post_creation": "Post-création (0-3 ans)",
    "changement_echelle": "Changement d'échelle",
}
# Accepted spellings (accents, case, hyphens and underscores ignored) → code.
TYPE_SYNONYMS = {
    "pepiniere d entreprises": "pepiniere",
    "dispositif local d accompagnement": "dla",
    "pole territorial de cooperation economique": "ptce",
    "tiers lieux": "tiers_lieu",
    "tierslieu": "tiers_lieu",
    "incubateur d innovation sociale": "incubateur",
}
PHASE_SYNONYMS = {
    "post creation": "post_creation",
    "post creation 0 3 ans": "post_creation",
    "0 3 ans": "post_creation",
    "changement d echelle": "changement_echelle",
    "scale up": "changement_echelle",
    "developpement": "changement_echelle",
}
THRESHOLDS_KM = (20, 30, 45)
MAX_OFFSET_KM = 30  # coordinates farther than this from the commune's point are refused
REQUIRED_COLUMNS = ["identifiant", "nom", "type", "code_commune", "phases"]
OPTIONAL_COLUMNS = ["latitude", "longitude", "date_ouverture", "date_fermeture", "source"]
STORED_COLUMNS = [
    "structure_id",
    "name",
    "structure_type",
    "commune_code",
    "latitude",
    "longitude",
    *[f"phase_{p}" for p in PHASES],
    "opening_date",
    "opening_precision",
    "closing_date",
    "source",
    "line",
]
DATE_HELP = "formats acceptés : 2013, 2013-09, 2013-09-15, 15/09/2013"

# Projection of each zone (mainland France and Corsica: Lambert-93; overseas: UTM).
ZONE_EPSG = {
    "metropole": 2154,
    "corse": 2154,
    "971": 5490,
    "972": 5490,
    "973": 2972,
    "974": 2975,
    "976": 4471,
}

EMBEDDED_FILE = "support_structures.csv"
DEMO_SEED = 7
# What a visitor reads of a demo structure (its provenance, in `observatory sources`, keeps
# the module and the seed that placed it).
DEMO_SOURCE = f"{settings.DEMO_LABEL} : structure fictive, placée au hasard, à ne pas citer"
DEMO_PHASES = {
    "incubateur": ("emergence", "creation"),
    "pepiniere": ("creation", "post_creation"),
    "dla": ("post_creation", "changement_echelle"),
    "cress": ("emergence", "creation", "post_creation", "changement_echelle"),
    "ptce": ("emergence", "changement_echelle"),
    "tiers_lieu": ("emergence", "creation"),
}
GEOGRAPHY_NOTE = (
    "Distances à vol d'oiseau entre le point de référence de chaque commune et "
    "la structure la plus proche (Lambert-93 en métropole, UTM outre-mer), "
    "sans traverser la mer."
)


# ---------------------------------------------------------------------------------------------
# Parsing


def key(text) -> str:
    """Lower case without accents, hyphens, underscores or apostrophes, for matching codes."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[-_'’]", " ", text).split())


def clean(value) -> str | None:
    """Trimmed text with runs of spaces collapsed; ``None`` when empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = " ".join(str(value).replace("\u00a0", " ").replace("\u202f", " ").split())
    return text or None


def parse_number(text: str | None) -> float | None:
    """``43,61`` or ``43.61`` or ``1 500`` → float; ``None`` when not a number."""
    if text is None:
        return None
    digits = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
    try:
        value = float(digits)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_date(text: str | None) -> tuple[date, str] | None:
    """A date and its precision (``année``, ``mois``, ``jour``); ``None`` when unreadable.

    Accepted: ``2013``, ``2013-09``, ``09/2013``, ``2013-09-15``, ``15/09/2013``."""
    if text is None:
        return None
    patterns = (
        (r"(\d{4})", "année"),
        (r"(\d{4})-(\d{1,2})", "mois"),
        (r"(\d{1,2})/(\d{4})", "mois"),
        (r"(\d{4})-(\d{1,2})-(\d{1,2})", "jour"),
        (r"(\d{1,2})/(\d{1,2})/(\d{4})", "jour"),
    )
    for pattern, precision in patterns:
        found = re.fullmatch(pattern, text.strip())
        if not found:
            continue
        parts = [int(p) for p in found.groups()]
        if "/" in pattern:
            parts.reverse()
        year, month, day = ([*parts, 1, 1])[:3]
        if not 1900 <= year <= 2100:
            return None
        try:
            return date(year, month, day), precision
        except ValueError:
            return None
    return None


def code_of(text: str | None, codes: dict[str, str], synonyms: dict[str, str]) -> str | None:
    """The code of a type or phase given by its code or label (accents and case ignored)."""
    if text is None:
        return None
    given = key(text)
    by_key = {key(code): code for code in codes} | {
        key(label): code for code, label in codes.items()
    }
    return by_key.get(given) or synonyms.get(given)


@lru_cache(maxsize=1)
def commune_lookup() -> dict[str, str]:
    """Every code a commune can be given by → its official code: official codes, arrondissements
    and communes déléguées or associées, former codes (communes merged since), codes that lost
    their leading zero (``1053``)."""
    communes = reference.communes()
    lookup = {code: code for code in communes["code"]}
    for table in (reference.commune_aliases(), reference.commune_history()):
        for alias, commune in zip(table["code"], table["commune_code"]):
            if commune in lookup and alias not in lookup:
                lookup[alias] = commune
    for code in list(lookup):
        stripped = code.lstrip("0")
        if stripped != code and stripped not in lookup:
            lookup[stripped] = lookup[code]
    return lookup


@lru_cache(maxsize=1)
def commune_coordinates() -> pd.DataFrame:
    """Longitude and latitude of every commune's reference point, indexed by code."""
    communes = reference.communes()
    return pd.DataFrame(
        {"lon": communes.geometry.x.to_numpy(), "lat": communes.geometry.y.to_numpy()},
        index=communes["code"],
    )


def haversine_km(lon1, lat1, lon2, lat2) -> float:
    """Great-circle distance in km (for sanity checks of given coordinates only)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (lon1, lat1, lon2, lat2))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def normalise_header(rows: pd.DataFrame) -> pd.DataFrame:
    """Column names as the templates spell them: lower case, no accents, ``_`` for spaces."""
    rows = rows.copy()
    rows.columns = [key(c).replace(" ", "_") if c != "line" else c for c in rows.columns]
    return rows


# ---------------------------------------------------------------------------------------------
# Validation of directory rows


def validate(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check directory rows (text columns named as in the template, plus ``line``).

    Returns the accepted structures (``STORED_COLUMNS``) and the problems (``line``,
    ``column``, ``value``, ``reason``), the first problem of each rejected row."""
    rows = normalise_header(rows)
    for column in OPTIONAL_COLUMNS:
        if column not in rows:
            rows[column] = None
    lookup, points = commune_lookup(), commune_coordinates()
    accepted, problems, seen = [], [], {}
    for row in rows.to_dict("records"):
        values = {c: clean(row.get(c)) for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
        result = _check_row(values, lookup, points, seen)
        if isinstance(result, tuple):
            column, reason = result
            problems.append(
                dict(line=row["line"], column=column, value=values[column], reason=reason)
            )
        else:
            seen[values["identifiant"]] = row["line"]
            accepted.append({**result, "line": row["line"]})
    return (
        pd.DataFrame(accepted, columns=STORED_COLUMNS),
        pd.DataFrame(problems, columns=["line", "column", "value", "reason"]),
    )


def _check_row(v: dict, lookup: dict, points: pd.DataFrame, seen: dict) -> dict | tuple:
    """The stored structure, or (column, reason) of the row's first problem."""
    for column in REQUIRED_COLUMNS:
        if v[column] is None:
            return column, "valeur obligatoire manquante"
    if v["identifiant"] in seen:
        return "identifiant", f"identifiant en double (déjà à la ligne {seen[v['identifiant']]})"
    kind = code_of(v["type"], TYPES, TYPE_SYNONYMS)
    if kind is None:
        return "type", f"type inconnu (attendu : {', '.join(TYPES)})"
    commune = lookup.get(v["code_commune"])
    if commune is None:
        return "code_commune", "commune inconnue du Code officiel géographique (code INSEE attendu)"
    phases = [
        code_of(p, PHASES, PHASE_SYNONYMS) for p in re.split(r"[|;,+/]", v["phases"]) if p.strip()
    ]
    if not phases or None in phases:
        return "phases", (f"phase inconnue (attendu : {', '.join(PHASES)}, séparées par « | »)")
    lat, lon = parse_number(v["latitude"]), parse_number(v["longitude"])
    for column, value, bound in (("latitude", lat, 90), ("longitude", lon, 180)):
        if v[column] is not None and (value is None or abs(value) > bound):
            return column, (
                f"coordonnée invalide (nombre décimal en degrés WGS 84, entre -{bound} et {bound})"
            )
    if (lat is None) != (lon is None):
        missing = "longitude" if lon is None else "latitude"
        return missing, "latitude et longitude vont ensemble : donnez les deux ou aucune"
    if lat is not None:
        point = points.loc[commune]
        offset = haversine_km(lon, lat, point["lon"], point["lat"])
        if offset > MAX_OFFSET_KM:
            return "latitude", (
                f"coordonnées à {offset:.0f} km de la commune {commune} (plus de "
                f"{MAX_OFFSET_KM} km) : vérifiez la commune, ou une inversion "
                "latitude/longitude"
            )
    opening = parse_date(v["date_ouverture"])
    if v["date_ouverture"] is not None and opening is None:
        return "date_ouverture", f"date invalide ({DATE_HELP})"
    closing = parse_date(v["date_fermeture"])
    if v["date_fermeture"] is not None and closing is None:
        return "date_fermeture", f"date invalide ({DATE_HELP})"
    if opening and closing and closing[0] < opening[0]:
        return "date_fermeture", "date de fermeture antérieure à la date d'ouverture"
    return dict(
        structure_id=v["identifiant"],
        name=v["nom"],
        structure_type=kind,
        commune_code=commune,
        latitude=lat,
        longitude=lon,
        **{f"phase_{p}": p in phases for p in PHASES},
        opening_date=opening[0] if opening else None,
        opening_precision=opening[1] if opening else None,
        closing_date=closing[0] if closing else None,
        source=v["source"],
    )


# ---------------------------------------------------------------------------------------------
# Storage


def store(
    con, frame: pd.DataFrame, *, synthetic: bool, file: str, loaded_at: datetime | str
) -> None:
    """Insert structures into ``support_structures``, replacing those with the same identifier."""
    frame = frame[STORED_COLUMNS].assign(synthetic=synthetic, file=file, loaded_at=loaded_at)
    frame = frame.astype({"latitude": float, "longitude": float, "line": "Int64"})
    for column in ("opening_date", "closing_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[s]")
    con.register("new_support_structures", frame)
    con.execute(
        "DELETE FROM support_structures WHERE structure_id IN "
        "(SELECT structure_id FROM new_support_structures)"
    )
    columns = ", ".join([*STORED_COLUMNS, "synthetic", "file", "loaded_at"])
    con.execute(
        f"INSERT INTO support_structures ({columns}) SELECT {columns} "
        "FROM new_support_structures ORDER BY structure_id"
    )
    con.unregister("new_support_structures")


def embedded_path() -> Path:
    return settings.REFERENCE_DIR / EMBEDDED_FILE


def embedded() -> pd.DataFrame:
    """The structures our documents name (data/reference/support_structures.csv), validated."""
    path = embedded_path()
    rows = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    rows.insert(0, "line", range(2, len(rows) + 2))
    frame, problems = validate(rows)
    if len(problems):
        first = problems.iloc[0]
        raise ValueError(
            f"{path}, ligne {first['line']}, colonne {first['column']} : {first['reason']}"
        )
    return frame


def seed(con, with_demo: bool) -> list[dict]:
    """At build time: create the landing tables, store the embedded structures (and the demo
    ones), and return their rows for ``sources``."""
    sql.run_file(con, "landing/03_support.sql")
    now = datetime.now(UTC)
    real = embedded()
    path = embedded_path()
    store(con, real, synthetic=False, file=str(path), loaded_at=now)
    sources = [
        dict(
            source="reference:support_structures",
            file=str(path),
            vintage="annuaire intégré",
            file_sha256=fsutil.sha256(path),
            rows_read=len(real),
            rows_loaded=len(real),
            rows_rejected=0,
            synthetic=False,
        )
    ]
    if with_demo:
        communes = pd.DataFrame(reference.communes()).drop(columns="geometry")
        demo = demo_structures(communes, real)
        fingerprint = hashlib.sha256(demo.to_csv(index=False).encode()).hexdigest()
        store(
            con,
            demo,
            synthetic=True,
            file=f"observatory/support.py (graine {DEMO_SEED})",
            loaded_at=now,
        )
        sources.append(
            dict(
                source="structures:demonstration",
                file=f"observatory/support.py (graine {DEMO_SEED})",
                vintage=settings.DEMO_LABEL.lower(),
                file_sha256=fingerprint,
                rows_read=len(demo),
                rows_loaded=len(demo),
                rows_rejected=0,
                synthetic=True,
            )
        )
    return sources


# ---------------------------------------------------------------------------------------------
# Demo entries


def demo_structures(communes: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Deterministic demo structures for the map elsewhere: a DLA and two tiers-lieux in every
    département; in every région without such real entries, an incubator, a pépinière and a
    CRESS office in its largest communes, and two PTCE in mid-sized communes."""
    rng = np.random.default_rng(DEMO_SEED)
    communes = communes.assign(population=communes["population"].fillna(0).astype(float))
    communes = communes.sort_values(["population", "code"], ascending=[False, True])
    real_regions = communes.set_index("code")["region_code"].reindex(real["commune_code"])
    covered = set(zip(real_regions.to_numpy(), real["structure_type"]))
    rows = []

    def add(kind: str, commune: pd.Series, what: str) -> None:
        rows.append(
            dict(
                structure_id=f"DEMO-{len(rows) + 1:04d}",
                name=f"{what} {formatting.of_name(commune['name'])} (démo)",
                structure_type=kind,
                commune_code=commune["code"],
                latitude=None,
                longitude=None,
                **{f"phase_{p}": p in DEMO_PHASES[kind] for p in PHASES},
                opening_date=date(int(rng.integers(2005, 2023)), 1, 1),
                opening_precision="année",
                closing_date=None,
                source=DEMO_SOURCE,
                line=None,
            )
        )

    for _, group in communes.groupby("departement_code", sort=True):
        add("dla", group.iloc[0], "DLA")
        towns = group[group["population"] >= 1000].iloc[1:]
        if len(towns):
            weights = np.sqrt(towns["population"].to_numpy())
            picks = rng.choice(
                len(towns), size=min(2, len(towns)), replace=False, p=weights / weights.sum()
            )
            for pick in sorted(picks):
                add("tiers_lieu", towns.iloc[pick], "Tiers-lieu")
    for region, group in communes.groupby("region_code", sort=True):
        for kind, rank, what in (
            ("incubateur", 0, "Incubateur"),
            ("pepiniere", 1, "Pépinière"),
            ("cress", 0, "CRESS, antenne"),
        ):
            if (region, kind) not in covered:
                add(kind, group.iloc[min(rank, len(group) - 1)], what)
        mid = group[group["population"].between(2000, 50000)]
        if (region, "ptce") not in covered and len(mid):
            for pick in sorted(rng.choice(len(mid), size=min(2, len(mid)), replace=False)):
                add("ptce", mid.iloc[pick], "PTCE")
    return pd.DataFrame(rows, columns=STORED_COLUMNS)


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
