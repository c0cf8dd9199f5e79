"""Helpers for the analysts' notebooks: compare territories, map a région, check data quality,
export a table. Secrecy is applied to every figure they return.

    >>> from observatory import analysis, open_warehouse
    >>> wh = open_warehouse()
    >>> analysis.compare(wh, "region:76,region:84,FR")
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from observatory import exports, indicators
from observatory.warehouse import Warehouse

# Indicators of a comparison table: code → French column title.
COMPARED = {
    "ess_employees": "Postes salariés de l'ESS",
    "ess_establishments": "Établissements employeurs de l'ESS",
    "ess_share_employees": "Part de l'ESS dans l'emploi salarié",
    "density_employees": "Postes de l'ESS pour 1 000 habitants",
    "employees_average_growth": "Croissance annuelle moyenne des postes",
}


def territories(wh: Warehouse, codes: str) -> list[indicators.Territory]:
    """``"region:76,34,FR"``: explicit ``niveau:code`` or bare codes (portrait rules)."""
    found = []
    for item in (c.strip() for c in codes.split(",") if c.strip()):
        level, sep, code = item.partition(":")
        found.append(indicators.resolve(wh, code if sep else level, level if sep else None))
    return found


def compare(
    wh: Warehouse, codes: str, year: int | None = None, display: bool = True
) -> pd.DataFrame:
    """One row per territory, one column per indicator: French display strings (« s » when
    masked), or values (NaN when masked) with ``display=False``."""
    rows = {}
    for territory in territories(wh, codes):
        frame = indicators.compute(
            wh, territory.level, territory.code, year, themes=("key_figures", "density", "trends")
        )
        picked = frame[frame["indicator"].isin(list(COMPARED)) & frame["category"].isna()]
        picked = picked.set_index("indicator")
        column = "display" if display else "value"
        rows[territory.label] = picked[column].reindex(list(COMPARED))
    table = pd.DataFrame(rows).T.rename(columns=COMPARED)
    table.index.name = "Territoire"
    return table


def compare_chart(wh: Warehouse, codes: str, year: int | None = None) -> go.Figure:
    """Bar chart of the ESS share of salaried jobs of each territory (masked ones left out)."""
    values = compare(wh, codes, year, display=False)
    shown = compare(wh, codes, year)
    column = COMPARED["ess_share_employees"]
    visible = values[column].notna()
    fig = go.Figure(
        go.Bar(
            x=values.loc[visible, column],
            y=values.index[visible],
            orientation="h",
            text=shown.loc[visible, column],
            marker_color="#0072B2",
            hovertemplate="%{y} : %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=column,
        yaxis=dict(autorange="reversed"),
        template="none",
        xaxis=dict(ticksuffix="\u202f%"),
        separators=", ",
        height=120 + 40 * len(values),
    )
    return fig


def coverage(wh: Warehouse) -> pd.DataFrame:
    """By year and level: territories with ESS establishments out of all territories."""
    return wh.sql(
        """
        SELECT t.level AS niveau, y.year AS annee, count(*) AS territoires,
               count(e.code) FILTER (WHERE e.establishments > 0) AS territoires_avec_ess
        FROM territories AS t
        CROSS JOIN (SELECT DISTINCT year FROM ess_by_territory) AS y
        LEFT JOIN (SELECT level, code, year, sum(establishments) AS establishments
                   FROM ess_by_territory GROUP BY ALL) AS e
          ON e.level = t.level AND e.code = t.code AND e.year = y.year
        GROUP BY ALL ORDER BY annee, niveau
        """
    )


def rejects_by_reason(wh: Warehouse) -> pd.DataFrame:
    """Rejected rows counted by source, file and reason."""
    return wh.sql(
        "SELECT source, file AS fichier, reason AS raison, count(*) AS lignes "
        "FROM rejects GROUP BY ALL ORDER BY lignes DESC"
    )


def secrecy_share(
    wh: Warehouse, level: str, region: str | None = None, year: int | None = None
) -> pd.DataFrame:
    """Share of the published cells masked by secrecy, for each territory of ``level``
    (inside ``region`` when given)."""
    listed = wh.territories(level, **({"region": region} if region else {}))
    rows = []
    for row in listed.itertuples():
        frame = indicators.compute(wh, level, row.code, year)
        counted = frame[frame["available"]]
        rows.append(
            dict(
                code=row.code,
                territoire=row.name,
                cellules=len(counted),
                masquees=int(counted["secret"].sum()),
            )
        )
    table = pd.DataFrame(rows)
    table["part_masquee_pct"] = (
        100 * table["masquees"] / table["cellules"].where(table["cellules"] > 0)
    )
    return table.sort_values("part_masquee_pct", ascending=False, ignore_index=True)


def export(
    table: pd.DataFrame,
    path: Path | str,
    *,
    wh: Warehouse,
    title: str = "Tableau de l'observatoire",
    year: int | None = None,
) -> Path:
    """Write a table to .csv or .xlsx as every file of the observatory (:mod:`exports`): its
    title, year and the source of the warehouse's figures, the demonstration label on demo
    data, French numbers (« ; » and decimal comma in a CSV)."""
    year = indicators.resolve_year(wh, year)
    data = table.reset_index() if table.index.name is not None else table
    return exports.write(
        exports.Table(
            data,
            title,
            year=year,
            source=indicators.facts_source(wh, year),
            demo=wh.is_demo(),
        ),
        path,
    )


def region_map(
    wh: Warehouse, region: str, year: int | None = None, level: str = "departement"
) -> go.Figure:
    """Choropleth of the ESS share by département (or EPCI) of a région, secrecy applied."""
    from observatory.dashboards import blocks

    territory = indicators.resolve(wh, region, "region")
    return blocks.map_block(wh, territory, level, indicators.resolve_year(wh, year)).figure
