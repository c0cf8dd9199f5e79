"""The accompagnement page's map: the EPCIs of a région in classes of mean distance, drawn by
the views' one choropleth, with the support structures on top."""

from __future__ import annotations

import math

from observatory import support
from observatory.views import support_map

CIVIDIS = ["#fde838", "#c4b56c", "#8d8a76", "#575d6d", "#00224e"]  # nearest (light) first
LABELS = ["moins de 10 km", "10 à 20 km", "20 à 30 km", "30 à 45 km", "45 km ou plus"]


def distance_label(mean_km: float) -> str:
    if math.isnan(mean_km):
        return "aucune structure accessible"
    return LABELS[sum(mean_km >= bound for bound in (10, 20, 30, 45))]


def test_each_epci_is_drawn_once_in_the_colour_of_its_distance_class(wh):
    access = support.access(wh, "76")
    figure = support_map.coverage_map(access)
    areas = [t for t in figure.data if t.type == "choroplethmap"]
    expected = {}
    for code, mean_km in zip(access.epcis["code"], access.epcis["mean_km"]):
        expected.setdefault(distance_label(mean_km), set()).add(code)
    order = [lb for lb in [*LABELS, "aucune structure accessible"] if lb in expected]
    assert [t.name for t in areas] == order  # the legend: nearest first
    palette = dict(zip([*LABELS, "aucune structure accessible"], [*CIVIDIS, "#d9d9d9"]))
    for trace in areas:
        assert set(trace.locations) == expected[trace.name]
        assert trace.colorscale[0][1] == palette[trace.name]
        assert {f["id"] for f in trace.geojson["features"]} == set(trace.locations)
    drawn = [code for t in areas for code in t.locations]
    assert sorted(drawn) == sorted(access.epcis["code"])  # each EPCI once
    # The structures on top, one legend entry per type shown, after the classes.
    kinds = [t.name for t in figure.data if t.type == "scattermap" and t.showlegend is not False]
    shown = set(access.structures["structure_type"])
    assert kinds == [label for kind, label in support.TYPES.items() if kind in shown]
    assert figure.layout.map.style == "white-bg" and figure.layout.height == 680
