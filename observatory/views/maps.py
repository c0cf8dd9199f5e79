"""The maps of the territories inside a territory: one source of light shapes, one classifier
(Fisher-Jenks natural classes), one choropleth builder and one MapLibre view, the maps' tables
kept on disk for every kernel of the machine."""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import formatting, fsutil, indicators, secrecy, settings
from observatory.views import charts, html, messages
from observatory.views.blocks import SHARE_LABEL, Block, counted, finish

# Map of the territories inside a territory: level → possible child levels.
CHILDREN = {"france": ("region",), "region": ("departement", "epci"), "departement": ("epci",)}
CHILD_LABELS = {"region": "région", "departement": "département", "epci": "EPCI"}
CHILD_PLURALS = {"region": "régions", "departement": "départements", "epci": "EPCI"}
CHILD_HEADINGS = {"region": "Région", "departement": "Département", "epci": "EPCI"}


# ---------------------------------------------------------------------------------------------
# Map of the territories inside a territory


def children(wh, territory: indicators.Territory, level: str) -> list[indicators.Territory]:
    """Territories of ``level`` inside ``territory`` (EPCIs by their main département), by
    département then code, EPCIs straddling départements last in theirs: the territories of
    one département share their secrecy cells, which are computed once for them."""
    scope = {
        "region": dict(region=territory.code),
        "departement": dict(departement=territory.code),
    }.get(territory.level, {})
    found = [indicators.resolve(wh, code, level) for code in wh.territories(level, **scope)["code"]]
    whole = indicators.whole_epcis(wh)
    return sorted(
        found,
        key=lambda t: (t.departement_code or "", t.level == "epci" and t.code not in whole, t.code),
    )


# Light shapes for the maps: simplified (tolerance in degrees) and rounded (decimals), so that
# a visitor's kernel reads a small GeoJSON instead of importing geopandas.
SHAPE_FILES = {"region": "regions", "departement": "departements", "epci": "epcis"}
SHAPE_TOLERANCE = {"region": 0.01, "departement": 0.005, "epci": 0.005}
SHAPE_DECIMALS = 3


@dataclass(frozen=True)
class Shapes:
    """Shapes of one level by code: bounding box and GeoJSON feature (kept as text, parsed
    only for the territories drawn, so that a kernel holds little memory)."""

    bounds: dict[str, tuple[float, float, float, float]]
    text: dict[str, str]

    def features(self, codes) -> list[dict]:
        return [charts.compact(json.loads(self.text[code])) for code in codes]


def shapes_cache_dir() -> Path:
    """Where the light shapes are kept: ``$XDG_CACHE_HOME/observatory`` (or the temporary
    directory when that cannot be written)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "observatory"
    try:
        base.mkdir(parents=True, exist_ok=True)
        return base if os.access(base, os.W_OK) else Path(tempfile.gettempdir())
    except OSError:
        return Path(tempfile.gettempdir())


def _shapes_path(level: str) -> Path:
    """Cache file of a level, named after its reference file's path, size and date."""
    source = settings.REFERENCE_DIR / f"{SHAPE_FILES[level]}.parquet"
    stat = source.stat()
    key = hashlib.sha1(
        f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|"
        f"{SHAPE_TOLERANCE[level]}|{SHAPE_DECIMALS}".encode()
    ).hexdigest()[:16]
    return shapes_cache_dir() / f"formes-{level}-{key}.tsv"


def write_shapes() -> None:
    """Write the light shapes of every level not in the cache yet: one line per territory,
    code, bounding box and GeoJSON feature (imports geopandas: run in its own process)."""
    import shapely

    from observatory import reference

    for level, name in SHAPE_FILES.items():
        path = _shapes_path(level)
        if path.is_file():
            continue
        frame = getattr(reference, name)()
        geometry = shapely.transform(
            frame.geometry.simplify(SHAPE_TOLERANCE[level]).values,
            lambda xy: np.round(xy, SHAPE_DECIMALS),
        )
        lines = [
            "\t".join(
                [
                    code,
                    json.dumps([float(v) for v in shapely.bounds(geom)]),
                    json.dumps(
                        {
                            "type": "Feature",
                            "id": code,
                            "geometry": json.loads(shapely.to_geojson(geom)),
                        },
                        separators=(",", ":"),
                    ),
                ]
            )
            for code, geom in zip(frame["code"], geometry)
            if not geom.is_empty
        ]
        fsutil.write_atomic(path, "\n".join(lines) + "\n")


@lru_cache(maxsize=8)
def light_shapes(level: str) -> Shapes:
    """The light shapes of ``region``, ``departement`` or ``epci``: made once per machine and
    reference version by a separate process (all levels at once), then read from the cache."""
    path = _shapes_path(level)
    if not path.is_file():
        with open(shapes_cache_dir() / "formes.lock", "w") as lock:  # one maker at a time
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.is_file():
                subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        "from observatory.views.maps import write_shapes; write_shapes()",
                    ],
                    check=True,
                    capture_output=True,
                    timeout=600,
                )
    bounds, text = {}, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        code, box, feature = line.split("\t")
        bounds[code], text[code] = tuple(json.loads(box)), feature
    return Shapes(bounds, text)


def warm_maps() -> None:
    """Read the shapes of every level and build an empty map once, so that plotly's validators
    for maps are loaded before a visitor needs them."""
    for level in SHAPE_FILES:
        light_shapes(level)
    go.Figure(go.Choroplethmap()).update_layout(map=dict(style="white-bg")).to_json()


def fisher_jenks_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of the ``k`` classes of ``values`` with the least within-class sum of
    squares (Fisher's exact optimisation, as in Jenks's natural breaks)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])
    start, end = np.arange(n)[:, None], np.arange(n)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        # cost[a, b]: sum of squares of x[a..b] around its mean (infinite when a > b)
        cost = s2[end + 1] - s2[start] - (s1[end + 1] - s1[start]) ** 2 / (end - start + 1)
    cost[start > end] = np.inf
    best = cost[0]  # best[i]: least cost of x[0..i] in the classes placed so far
    firsts = []  # for each further class: where the last class starts, for every end i
    for _ in range(1, k):
        total = best[:-1, None] + cost[1:, :]
        first = np.argmin(total, axis=0)
        best = total[first, np.arange(n)]
        firsts.append(first + 1)
    bins, last = [], n - 1
    for first in reversed(firsts):
        bins.append(x[last])
        last = first[last] - 1
    bins.append(x[last])
    return np.array(bins[::-1])


def natural_classes(values: pd.Series, k: int, shown: Callable[[float], str]) -> pd.Series:
    """Class label of each value (at most ``k`` Fisher-Jenks classes), from the smallest to the
    largest value of the class as ``shown`` writes them, e.g. « 11,2 % à 13,9 % » (or « 27,9 % »
    for a class of one value). The one classifier of every map (dashboards, static pages,
    ``observatory.map``, the plan's events)."""
    k = max(1, min(k, values.nunique()))
    bins = fisher_jenks_bins(values.to_numpy(), k)
    classes = pd.Series(np.searchsorted(bins, values.to_numpy()), index=values.index)
    bounds = values.groupby(classes).agg(["min", "max"])
    labels = {
        c: shown(lo) if shown(lo) == shown(hi) else f"{shown(lo)} à {shown(hi)}"
        for c, (lo, hi) in bounds.iterrows()
    }
    return classes.map(labels)


def share_classes(shares: pd.Series, k: int = 5) -> pd.Series:
    """Class label of each share (:func:`natural_classes` in percent)."""
    return natural_classes(shares, k, formatting.percent)


SECRET_CLASS = "s : secret statistique"
MISSING_CLASS = "n.d. : non disponible"  # no salaried employment known (sparse SIRENE files)


def map_table(wh, territory: indicators.Territory, level: str, year: int) -> pd.DataFrame:
    """ESS employees and share of each child territory, secrecy applied, with its class.

    Kept on disk for every kernel of the machine (``map_cache``): the map of a région's 160
    EPCI took 3 s to compute in each visitor's kernel (13 s in the browser on a busy server)."""
    path = map_cache(wh, territory, level, year)
    if path.is_file():
        try:
            return _read_map(path)
        except (OSError, ValueError, KeyError):
            pass  # half-written by a kernel killed meanwhile: computed again
    data = _map_table(wh, territory, level, year)
    _write_map(data, path)
    return data


MAP_COLUMNS = {
    "code": str,
    "name": str,
    "ess_employees": float,
    "ess_share_employees": float,
    "secret": bool,
    "employees_display": str,
    "share_display": str,
    "source": str,
    "classe": str,
}
# What the maps' figures depend on besides the warehouse: the code computing them.
MAP_CODE = ("indicators", "secrecy", "views/maps.py")
MAP_CACHE_DAYS = 7  # maps of older warehouses are removed after this many days


def map_cache(wh, territory: indicators.Territory, level: str, year: int) -> Path:
    """Where a map's table is kept: named after the warehouse's contents (its sources, with
    their checksums and load times) and the code computing it, so that a new warehouse or a
    new version never reads an old map."""
    return shapes_cache_dir() / (
        f"carte-{_warehouse_key(wh)}-{territory.level}-{territory.code}-{level}-{year}.json"
    )


@lru_cache(maxsize=4)
def _warehouse_key(wh) -> str:
    digest = hashlib.sha1(wh.sql("SELECT * FROM sources ORDER BY ALL").to_csv().encode())
    for name in MAP_CODE:
        code = Path(__file__).parents[1] / name
        for path in (
            sorted(code.rglob("*.py")) + sorted(code.rglob("*.toml")) if code.is_dir() else [code]
        ):
            digest.update(path.read_bytes())
    _remove_old_maps()
    return digest.hexdigest()[:16]


def _remove_old_maps() -> None:
    limit = time.time() - MAP_CACHE_DAYS * 86400
    for old in shapes_cache_dir().glob("carte-*.json"):
        with suppress(OSError):
            if old.stat().st_mtime < limit:
                old.unlink()


def _read_map(path: Path) -> pd.DataFrame:
    data = pd.DataFrame(json.loads(path.read_text(encoding="utf-8")), columns=list(MAP_COLUMNS))
    for column, kind in MAP_COLUMNS.items():
        data[column] = pd.to_numeric(data[column]) if kind is float else data[column].astype(kind)
    return data


def _write_map(data: pd.DataFrame, path: Path) -> None:
    records = data[list(MAP_COLUMNS)].to_json(orient="records", force_ascii=False)
    with suppress(OSError):  # a cache that cannot be written: computed again next time
        fsutil.write_atomic(path, records)


def _map_table(wh, territory: indicators.Territory, level: str, year: int) -> pd.DataFrame:
    places = children(wh, territory, level)
    names = dict(sorted((place.code, place.name) for place in places))
    tidy = indicators.compute_many(wh, places, [year], themes=("key_figures",))
    first = tidy.drop_duplicates(["code", "indicator"])  # each indicator's first row, as a card
    employees, share = (
        first[first["indicator"] == indicator].set_index("code").reindex(list(names))
        for indicator in ("ess_employees", "ess_share_employees")
    )
    data = pd.DataFrame(
        {
            "code": list(names),
            "name": list(names.values()),
            "ess_employees": employees["value"].astype("float64").to_numpy(),
            "ess_share_employees": share["value"].astype("float64").to_numpy(),
            "secret": share["secret"].fillna(False).astype(bool).to_numpy(),
            "employees_display": employees["display"].to_numpy(),
            "share_display": share["display"].to_numpy(),
            "source": tidy["source"].iloc[0] if len(tidy) else "",
        }
    )
    visible = ~data["secret"] & data["ess_share_employees"].notna()
    data["classe"] = np.where(data["secret"], SECRET_CLASS, MISSING_CLASS)
    if visible.any():
        data.loc[visible, "classe"] = share_classes(data.loc[visible, "ess_share_employees"])
    return data


def fit_view(bounds) -> tuple[dict, float]:
    """Centre and MapLibre zoom (512-pixel tiles) fitting ``bounds`` (degrees: min x, min y,
    max x, max y) into about 800 × 460 pixels: the one view of every MapLibre map."""
    minx, miny, maxx, maxy = bounds
    mid = (miny + maxy) / 2
    stretch = 1 / math.cos(math.radians(mid))  # Web Mercator stretches latitudes
    fit_x = 800 * 360 / (512 * max(maxx - minx, 1e-6))
    fit_y = 460 * 360 / (512 * max((maxy - miny) * stretch, 1e-6))
    zoom = max(1.0, min(12.0, math.log2(min(fit_x, fit_y))))
    return {"lat": mid, "lon": (minx + maxx) / 2}, zoom


def class_colours(data: pd.DataFrame, value: str) -> dict[str, str]:
    """Colour of each class of ``data["classe"]`` in the legend's order: the classes of
    ``value`` from the lowest (light) to the highest (dark), then masked territories (grey,
    « s ») and those without a figure (light grey, « n.d. »). The one palette of the maps in
    classes of a value, whichever draws them."""
    visible = data[~data["classe"].isin([SECRET_CLASS, MISSING_CLASS])]
    order = sorted(
        visible["classe"].unique(),
        key=lambda c: visible.loc[visible["classe"] == c, value].astype(float).min(),
    )
    colours = dict(zip(order, charts.CLASS_COLOURS[-len(order) :] if order else []))
    for special, colour in (
        (SECRET_CLASS, charts.SECRET_COLOUR),
        (MISSING_CLASS, charts.MISSING_COLOUR),
    ):
        if (data["classe"] == special).any():
            colours[special] = colour
    return colours


def features(shapes) -> dict[str, dict]:
    """Code → light GeoJSON feature of a GeoSeries or GeoDataFrame indexed by code."""
    return {f["id"]: charts.compact(f) for f in shapes.__geo_interface__["features"]}


def choropleth(
    data: pd.DataFrame,
    colours: dict[str, str],
    shapes: dict[str, dict],
    hover: tuple[list[str], str],
    title: str,
    bounds,
    points: pd.DataFrame | None = None,
    **layout,
) -> go.Figure:
    """The one choropleth, drawn by MapLibre without any tile server: one trace per class of
    ``data["classe"]`` in the order of ``colours`` (class → colour), each carrying only the
    shapes of its territories (``shapes``: code → GeoJSON feature; a territory without one is
    not drawn). ``points`` (``code``, ``lon``, ``lat``): territories drawn as a dot of their
    class's colour under the same legend entry (communes without an outline). ``hover``: the
    columns of the tooltip and its template; ``bounds``: what the view fits
    (:func:`fit_view`); ``layout``: the figure's own height, legend, margins."""
    points = pd.DataFrame(columns=["code", "lon", "lat"]) if points is None else points
    line = dict(width=0.5 if len(data) > 200 else 1, color="white")
    columns, template = hover
    fig = go.Figure()
    for classe, colour in colours.items():
        rows = data[data["classe"] == classe]
        outlined = rows[rows["code"].isin(list(shapes))]
        dots = rows[["code", *columns]].merge(points, on="code")
        legend = dict(name=classe, legendgroup=classe, hovertemplate=template)
        if len(outlined) or dots.empty:
            fig.add_trace(
                go.Choroplethmap(
                    geojson={
                        "type": "FeatureCollection",
                        "features": [shapes[c] for c in outlined["code"]],
                    },
                    locations=outlined["code"].tolist(),
                    z=[1] * len(outlined),
                    colorscale=[[0, colour], [1, colour]],
                    showscale=False,
                    showlegend=True,
                    marker=dict(line=line),
                    customdata=outlined[columns].to_numpy().tolist(),
                    **legend,
                )
            )
        if len(dots):
            fig.add_trace(
                go.Scattermap(
                    lon=dots["lon"],
                    lat=dots["lat"],
                    mode="markers",
                    marker=dict(size=7, color=colour),
                    showlegend=not len(outlined),
                    customdata=dots[columns].to_numpy().tolist(),
                    **legend,
                )
            )
    centre, zoom = fit_view(bounds)
    fig.update_layout(
        title=title,
        separators=formatting.PLOTLY_SEPARATORS,
        template="none",
        margin=dict(l=0, r=0, t=50, b=0),
        font=dict(size=14, family="Arial, sans-serif"),
        map=dict(style="white-bg", center=centre, zoom=zoom),
    )
    return fig.update_layout(**layout)


SHARE_HOVER = (
    ["name", "share_display", "employees_display"],
    "<b>%{customdata[0]}</b><br>Part de l'ESS : %{customdata[1]}<br>"
    "Postes salariés de l'ESS : %{customdata[2]}<extra></extra>",
)


def shown_codes(data: pd.DataFrame, level: str) -> list[str]:
    """The territories of a share map that have a shape (régions: metropolitan France only)."""
    shapes = light_shapes(level)
    return [c for c in data["code"] if c in shapes.text and (level != "region" or c >= "11")]


def share_map(data: pd.DataFrame, level: str, title: str) -> go.Figure:
    """The ESS share of ``map_table``'s territories in classes (:func:`choropleth`); masked
    areas in grey with « s » and no value in the tooltip."""
    shapes = light_shapes(level)
    shown = shown_codes(data, level)
    boxes = np.array([shapes.bounds[c] for c in shown]).reshape(-1, 4)
    minx, miny = boxes[:, :2].min(axis=0) if len(boxes) else (-5.0, 41.0)
    maxx, maxy = boxes[:, 2:].max(axis=0) if len(boxes) else (10.0, 51.0)
    return choropleth(
        data,
        class_colours(data, "ess_share_employees"),
        dict(zip(shown, shapes.features(shown))),
        SHARE_HOVER,
        title,
        (minx, miny, maxx, maxy),
        height=600,
        legend=dict(
            title=dict(text=SHARE_LABEL, side="top"),
            orientation="h",
            yanchor="top",
            y=-0.02,
            xanchor="left",
            x=0,
        ),
    )


def map_prefetch(wh, territory: indicators.Territory, level: str, year: int) -> list:
    """The step computing a map's table and keeping it on disk, for a page to run between
    its answers to the browser; none when the table is on disk already."""
    if map_cache(wh, territory, level, year).is_file():
        return []
    return [partial(map_table, wh, territory, level, year)]


def map_block(wh, territory: indicators.Territory, level: str, year: int, draw=share_map) -> Block:
    """Map of the ESS share of the territories of ``level`` inside ``territory``, drawn by
    ``draw(data, level, title)`` (pages that travel use ``flat_map.share_map``)."""
    data = map_table(wh, territory, level, year)
    plural = CHILD_PLURALS[level]
    demo = str(data["source"].iloc[0]).startswith(settings.DEMO_LABEL) if len(data) else False
    heading = f"Carte par {CHILD_LABELS[level]}"
    if len(data) < 2:  # one territory (a région of one département): nothing to compare
        empty = Block(f"carte-{level}", heading, None, "", pd.DataFrame(), pd.DataFrame(), "")
        empty.empty = f"{messages.capitalised(messages.place(territory).at)}, " + (
            f"un seul {CHILD_LABELS[level]} : pas de carte à comparer."
            if len(data)
            else f"aucun {CHILD_LABELS[level]} à cartographier."
        )
        return finish(empty, territory.label, year, demo)
    title = f"{SHARE_LABEL} par {CHILD_LABELS[level]}, {territory.name}, {year}"
    fig = draw(data, level, title)
    data = data.sort_values("code")
    table = pd.DataFrame(
        {
            CHILD_HEADINGS[level]: [f"{n} ({c})" for n, c in zip(data["name"], data["code"])],
            "Postes salariés de l'ESS": data["employees_display"],
            SHARE_LABEL: data["share_display"],
            "Classe de la carte": data["classe"],
        }
    )
    download = pd.DataFrame(
        {
            "code": data["code"],
            "territoire": data["name"],
            "postes_salaries_ess": [
                secrecy.MARK if s else v for s, v in zip(data["secret"], data["ess_employees"])
            ],
            "part_ess_emploi_salarie_pct": [
                secrecy.MARK if s else v
                for s, v in zip(data["secret"], data["ess_share_employees"])
            ],
            "classe": data["classe"],
        }
    )
    visible = data[~data["secret"] & data["ess_share_employees"].notna()].sort_values(
        "ess_share_employees"
    )
    alt = f"Carte des {len(data)} {plural} en classes de part de l'ESS (méthode de Jenks). "
    if len(visible):
        low, high = visible.iloc[0], visible.iloc[-1]
        alt += (
            f"Part la plus faible : {low['name']} ({low['share_display']}) ; la plus forte : "
            f"{high['name']} ({high['share_display']})."
        )
    masked = int(data["secret"].sum())
    if masked:
        alt += (
            f" {counted(masked, CHILD_LABELS[level], plural)} couvert"
            f"{'s' if masked > 1 else ''} par le secret statistique, en gris sur la carte."
        )
    missing = int((data["classe"] == MISSING_CLASS).sum())
    if missing:
        alt += (
            f" {counted(missing, CHILD_LABELS[level], plural)} sans emploi salarié connu "
            "(n.d.), en gris clair."
        )
    source = html.source_html(
        data["source"].iloc[0],
        year,
        [
            indicators.REGISTRY["ess_share_employees"].definition,
            "Classes calculées par la méthode des seuils naturels de Jenks.",
            "Les EPCI sont rattachés à la région et au département où vit la plus grande partie "
            "de leur population."
            if level == "epci"
            else "",
        ],
        secret=bool(masked),
    )
    block = Block(f"carte-{level}", heading, fig, alt, table, download, source)
    return finish(block, territory.label, year, demo)
