"""One choropleth builder: the dashboards' map, the static pages' flat map and
``observatory.map`` give the same classes the same colours, in the same legend order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatory import formatting
from observatory.views import flat_map, maps

CIVIDIS = ["#fde838", "#c4b56c", "#8d8a76", "#575d6d", "#00224e"]  # light to dark
GREY, LIGHT_GREY = "#d9d9d9", "#f2f2f2"
SECRET, MISSING = "s : secret statistique", "n.d. : non disponible"


@pytest.fixture(scope="module")
def occitanie() -> pd.DataFrame:
    """A map table of Occitanie's 13 départements: shares in three clear groups, Lozère masked
    and Hautes-Pyrénées without any figure."""
    codes = ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"]
    shares = [8.0, 8.5, 9.0, 12.0, 12.5, 13.0, 13.5, 20.0, np.nan, np.nan, 21.0, 22.0, 8.2]
    secret = [code == "48" for code in codes]
    data = pd.DataFrame(
        {
            "code": codes,
            "name": [f"Département {c}" for c in codes],
            "ess_employees": [1000.0] * len(codes),
            "ess_share_employees": shares,
            "secret": secret,
            "employees_display": ["1 000"] * len(codes),
            "share_display": ["s" if s else formatting.percent(v) for s, v in zip(secret, shares)],
            "source": "Données de démonstration",
        }
    )
    data["classe"] = np.where(data["secret"], SECRET, MISSING)
    visible = ~data["secret"] & data["ess_share_employees"].notna()
    data.loc[visible, "classe"] = maps.share_classes(data.loc[visible, "ess_share_employees"], 3)
    return data


def expected_legend(data: pd.DataFrame) -> list[tuple[str, str]]:
    """Value classes from the lowest share (light) to the highest (dark), then « s » in grey,
    then « n.d. » in light grey."""
    visible = data[~data["classe"].isin([SECRET, MISSING])]
    lowest = visible.groupby("classe")["ess_share_employees"].min().sort_values()
    legend = list(zip(lowest.index, CIVIDIS[-len(lowest) :]))
    return [*legend, (SECRET, GREY), (MISSING, LIGHT_GREY)]


def test_the_flat_map_and_the_dashboards_map_colour_the_same_classes_alike(occitanie):
    assert occitanie["classe"].nunique() == 5  # three classes of shares, « s » and « n.d. »
    expected = expected_legend(occitanie)
    dashboards = maps.share_map(occitanie, "departement", "Carte")
    assert [(t.name, t.colorscale[0][1]) for t in dashboards.data] == expected
    flat = flat_map.share_map(occitanie, "departement", "Carte")
    assert [(t.name, t.fillcolor) for t in flat.data if t.fill == "toself"] == expected
    # Each territory is in its class's trace, on both maps.
    for trace in dashboards.data:
        assert set(trace.locations) == set(occitanie.loc[occitanie["classe"] == trace.name, "code"])


def test_the_analysts_map_uses_the_same_legend(demo_db):
    import observatory

    drawn = observatory.map(demo_db, "ess_share_employees", "departement", within="region:76")
    data = drawn.data.assign(ess_share_employees=drawn.data["ess_share_employees"].astype(float))
    legend = [(t.name, t.colorscale[0][1]) for t in drawn.figure.data]
    assert legend == [pair for pair in expected_legend(data) if pair[0] in set(data["classe"])]
    assert drawn.figure.layout.map.style == "white-bg"
