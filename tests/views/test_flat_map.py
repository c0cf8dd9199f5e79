"""The map of plain shapes that static pages and printable notes carry: every territory drawn in
its class's colour, holes left open, masked territories grey with « s » and nothing else."""

from __future__ import annotations

import json

import pytest
import shapely

from observatory import indicators
from observatory.views import charts, flat_map, maps

pytestmark = pytest.mark.usefixtures("demo_db")  # the dashboards' warehouse (conftest)


def segments(trace) -> list[list[tuple[float, float]]]:
    """The rings of a trace, split at its gaps."""
    rings, ring = [], []
    for x, y in zip(trace.x, trace.y):
        if x is None:
            rings.append(ring)
            ring = []
        else:
            ring.append((x, y))
    return rings


def test_each_territory_is_drawn_in_its_class_colour_with_its_tooltip(demo_db):
    region = indicators.resolve(demo_db, "76", "region")
    data = maps.map_table(demo_db, region, "departement", 2022)
    figure = flat_map.share_map(data, "departement", "Carte")
    *classes, points = figure.data
    assert sorted(points.ids) == sorted(data["code"]) and len(data) == 13
    lowest_first = data.groupby("classe")["ess_share_employees"].min().sort_values().index
    expected = dict(zip(lowest_first, charts.CLASS_COLOURS[-len(lowest_first) :]))
    assert {t.name: t.fillcolor for t in classes} == expected
    shapes = maps.light_shapes("departement")
    for trace in classes:
        drawn = shapely.union_all([shapely.Polygon(r) for r in segments(trace)])
        for code in data.loc[data["classe"] == trace.name, "code"]:
            own = shapely.from_geojson(json.dumps(json.loads(shapes.text[code])["geometry"]))
            assert drawn.intersection(own).area == pytest.approx(own.area, rel=1e-6), code
    tooltips = dict(zip(points.ids, points.customdata))
    herault = data.set_index("code").loc["34"]
    assert tooltips["34"] == ["Hérault", herault["share_display"], herault["employees_display"]]
    for code, (x, y) in zip(points.ids, zip(points.x, points.y)):  # each tooltip on its territory
        own = shapely.from_geojson(json.dumps(json.loads(shapes.text[code])["geometry"]))
        assert own.buffer(1e-3).contains(shapely.Point(x, y)), code


def test_a_hole_stays_open(demo_db):
    """Pyrénées Cerdagne surrounds Llívia (Spain): its hole is wound against its outer ring, so
    that plotly's non-zero fill leaves it open."""
    departement = indicators.resolve(demo_db, "66")
    data = maps.map_table(demo_db, departement, "epci", 2022)
    *classes, _ = flat_map.share_map(data, "epci", "Carte").data
    orientations = [shapely.LinearRing(r).is_ccw for t in classes for r in segments(t)]
    assert orientations.count(False) == 1  # the one hole, clockwise
    assert len(orientations) > 12  # every EPCI's outer rings, anticlockwise


def test_masked_territories_are_grey_with_only_s(demo_db):
    departement = indicators.resolve(demo_db, "53")  # Mayenne: one EPCI masked in the demo
    data = maps.map_table(demo_db, departement, "epci", 2022)
    masked = data[data["secret"]]
    assert len(masked) == 1
    *classes, points = flat_map.share_map(data, "epci", "Carte").data
    grey = next(t for t in classes if t.name == maps.SECRET_CLASS)
    assert grey.fillcolor == charts.SECRET_COLOUR
    assert len(segments(grey)) >= 1
    tooltips = dict(zip(points.ids, points.customdata))
    name = masked["name"].iloc[0]
    assert tooltips[masked["code"].iloc[0]] == [name, "s", "s"]
    assert all(t.hoverinfo == "skip" for t in classes)  # the class traces carry no figure
