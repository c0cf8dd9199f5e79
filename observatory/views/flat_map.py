"""A choropleth drawn with ordinary plotly shapes, for pages that travel: the static portraits
and the printable notes.

Each territory's polygons are filled ``Scatter`` paths on equal axes (longitude, latitude
stretched by the cosine of the map's middle latitude), with no base map, tile server or WebGL.
Such a map draws from a page opened from disk (file://), prints, and goes into a PDF, where the
MapLibre map of the dashboards (``maps.share_map``) stays blank. The shapes, classes, colours
(``maps.class_colours``) and tooltips are those of the dashboards' map; masked territories are
grey, with « s », territories without a figure light grey, with « n.d. ».
"""

from __future__ import annotations

import json
import math

import pandas as pd
import plotly.graph_objects as go
import shapely

from observatory import formatting
from observatory.views import blocks, maps


def share_map(data: pd.DataFrame, level: str, title: str) -> go.Figure:
    """The map of ``maps.map_table``'s ``data`` (one row per territory of ``level``)."""
    shapes = maps.light_shapes(level)
    colours = maps.class_colours(data, "ess_share_employees")
    data = data[data["code"].isin(maps.shown_codes(data, level))]
    geometries = {code: json.loads(shapes.text[code])["geometry"] for code in data["code"]}
    fig = go.Figure()
    for classe, colour in colours.items():
        xs: list = []
        ys: list = []
        for code in data.loc[data["classe"] == classe, "code"]:
            for ring in _rings(geometries[code]):
                xs += [x for x, _ in ring] + [None]
                ys += [y for _, y in ring] + [None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                fill="toself",
                fillcolor=colour,
                line=dict(color="white", width=0.8),
                name=classe,
                hoverinfo="skip",
            )
        )
    points = [_inside_point(geometries[code]) for code in data["code"]]
    fig.add_trace(
        go.Scatter(
            x=[p[0] for p in points],
            y=[p[1] for p in points],
            ids=data["code"].tolist(),
            mode="markers",
            marker=dict(size=12, opacity=0),
            showlegend=False,
            customdata=data[maps.SHARE_HOVER[0]].to_numpy().tolist(),
            hovertemplate=maps.SHARE_HOVER[1],
        )
    )
    boxes = [shapes.bounds[code] for code in data["code"]]
    middle = (min(b[1] for b in boxes) + max(b[3] for b in boxes)) / 2 if boxes else 46.5
    fig.update_layout(
        title=title,
        separators=formatting.PLOTLY_SEPARATORS,
        template="none",
        height=560,
        margin=dict(l=0, r=0, t=50, b=0),
        font=dict(size=14, family="Arial, sans-serif"),
        plot_bgcolor="white",
        dragmode=False,
        hovermode="closest",
        xaxis=dict(visible=False, fixedrange=True),
        yaxis=dict(
            visible=False,
            fixedrange=True,
            scaleanchor="x",
            scaleratio=1 / math.cos(math.radians(middle)),
        ),
        legend=dict(
            title=dict(text=blocks.SHARE_LABEL, side="top"),
            orientation="h",
            yanchor="top",
            y=0,
            x=0,
        ),
    )
    return fig


def _rings(geometry: dict) -> list:
    """Every ring of a (multi)polygon, outer ones anticlockwise and holes clockwise: plotly fills
    a trace's rings as one path with the non-zero rule, so that a hole (an enclave drawn in
    another colour) stays a hole."""
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    rings = []
    for polygon in polygons:
        for i, ring in enumerate(polygon):
            anticlockwise = shapely.LinearRing(ring).is_ccw
            rings.append(ring if anticlockwise == (i == 0) else ring[::-1])
    return rings


def _inside_point(geometry: dict) -> tuple[float, float]:
    """A point inside the territory, where its tooltip shows."""
    point = shapely.point_on_surface(shapely.from_geojson(json.dumps(geometry)))
    return round(point.x, 3), round(point.y, 3)
