"""Helpers for the analysts' notebooks: compare territories, map a région, check data quality,
export a table. Secrecy is applied to every figure they return.

    >>> from observatory import analysis, open_warehouse
    >>> wh = open_warehouse()
    >>> analysis.compare(wh, "region:76,region:84,FR")

A bare code borne by a région and a département (« 76 ») is refused: write ``region:76`` or
``departement:76``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import api, exports, indicators, secrecy
from observatory import territories as territory_parser
from observatory.warehouse import Warehouse

# Indicators of a comparison table: code → French column title.
COMPARED = {
    "ess_employees": "Postes salariés de l'ESS",
    "ess_establishments": "Établissements employeurs de l'ESS",
    "ess_share_employees": "Part de l'ESS dans l'emploi salarié",
    "density_employees": "Postes de l'ESS pour 1 000 habitants",
    "employees_average_growth": "Croissance annuelle moyenne des postes",
}


def territories(wh: Warehouse, codes) -> list[indicators.Territory]:
    """``"region:76,34,FR"`` or a list (``["34", 31]``): each read by
    :func:`observatory.territories.parse` (a bare « 76 » is ambiguous: ``region:76``)."""
    return territory_parser.parse_many(wh, codes)


def compare(wh: Warehouse, codes, year: int | None = None, display: bool = True) -> pd.DataFrame:
    """One row per territory, one column per indicator, secrecy applied: French display
    strings, or numbers with ``display=False``; « s » in a masked cell either way.

    Examples
    --------
    >>> compare(wh, ["region:76", "region:84", "FR"])
    """
    year = indicators.resolve_year(wh, year)
    places = territories(wh, codes)
    tidy = indicators.compute_many(wh, places, [year], themes=("key_figures", "density", "trends"))
    values = api.wide(tidy, list(COMPARED), demo=wh.is_demo())
    table = pd.DataFrame(index=pd.Index([p.label for p in places], name="Territoire"))
    for code, title in COMPARED.items():
        fmt = indicators.REGISTRY[code].fmt
        numbers = values[code].astype(float).fillna(np.nan).to_numpy()
        table[title] = [
            secrecy.MARK if secret else (indicators.display(v, fmt) if display else v)
            for v, secret in zip(numbers, values[code + api.SECRET_SUFFIX])
        ]
    table.attrs = {**values.attrs, "labels": {}}
    return table


def compare_chart(wh: Warehouse, codes, year: int | None = None) -> go.Figure:
    """Bar chart of the ESS share of salaried jobs of each territory (masked ones left out)."""
    values = compare(wh, codes, year, display=False)
    shown = compare(wh, codes, year)
    column = COMPARED["ess_share_employees"]
    numbers = pd.to_numeric(values[column], errors="coerce")
    visible = numbers.notna()
    fig = go.Figure(
        go.Bar(
            x=numbers[visible],
            y=values.index[visible],
            orientation="h",
            text=shown.loc[visible, column],
            marker_color="#0072B2",
            hovertemplate="%{y} : %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=column,
        yaxis=dict(autorange="reversed", automargin=True),
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
    places = [indicators.resolve(wh, code, level) for code in listed["code"]]
    frames = indicators.compute_many(wh, places, [year]).groupby("code", sort=False)
    rows = []
    for row in listed.itertuples():
        frame = frames.get_group(row.code)
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
    publication: bool = True,
    title: str = "Tableau de l'observatoire de l'ESS",
    wh: Warehouse | None = None,
    year: int | None = None,
) -> Path:
    """Write a table to .xlsx (:func:`observatory.to_excel`: title, sources, numbers as
    numbers, « s » in masked cells) or .csv (:mod:`observatory.exports`' convention, as every
    file of the observatory: context lines, « ; », decimal comma, « s » in masked cells).
    Given ``wh``, the CSV's context names the warehouse's source, year and demo label.

    A raw view (``wh.key_figures``, ``wh.sql``: not secrecy-checked) is refused, unless
    ``publication=False`` for internal work (with a warning).

    Examples
    --------
    >>> export(observatory.table(wh, "ess_employees", "departement", "region:76"), "dep.csv")
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return api.to_excel(table, path, title=title, publication=publication)
    cells = api.published_cells(table, publication)
    demo, sources = bool(table.attrs.get("demo")), list(table.attrs.get("sources") or [])
    if wh is not None:
        year = indicators.resolve_year(wh, year)
        demo, sources = demo or wh.is_demo(), sources or [indicators.facts_source(wh, year)]
    notes = [api.RAW_LINE] if table.attrs.get("secrecy") is False else []
    return exports.write(
        exports.Table(cells, title, year=year, source=" ; ".join(sources), demo=demo, notes=notes),
        path,
    )


def region_map(
    wh: Warehouse, region, year: int | None = None, level: str = "departement"
) -> go.Figure:
    """Map of the ESS share by département, EPCI or commune (polygons) of a région, secrecy
    applied (:func:`observatory.map`)."""
    within = territory_parser.parse(wh, region, "region")
    return api.map(wh, "ess_share_employees", level, within, year).figure
