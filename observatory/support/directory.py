"""The directory of support structures for ESS projects (incubators, pépinières, DLA, CRESS
offices, PTCE, tiers-lieux): its vocabulary, the validation of a submitted file, the embedded
entries and the demo ones, stored in the warehouse."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from observatory import formatting, fsutil, reference, settings
from observatory.warehouse import sql

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
            file=f"observatory/support/directory.py (graine {DEMO_SEED})",
            loaded_at=now,
        )
        sources.append(
            dict(
                source="structures:demonstration",
                file=f"observatory/support/directory.py (graine {DEMO_SEED})",
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
