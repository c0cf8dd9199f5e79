"""Benchmark of the warehouse build: the whole demo build, and the aggregation to every
territory level in DuckDB SQL against the same aggregation in pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

from benchmarks.common import measure, timed
from observatory import formatting
from observatory.warehouse.sql import SQL_DIR

AGGREGATES = SQL_DIR / "marts" / "03_aggregates.sql"


def _pandas_aggregates(facts, totals, sectors, bridge) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The obvious alternative, with pandas: the two main aggregates of 03_aggregates.sql (the SQL
    also computes the métropole split, commune counts and sector employment)."""
    ess = facts.merge(sectors, on="naf_code").merge(bridge, on="commune_code")
    ess_by_territory = (
        ess.groupby(["level", "code", "year", "family_code", "a88_code"])
        .agg(
            establishments=("establishments", "sum"),
            employees=("employees", "sum"),
            fte=("fte", "sum"),
            gross_wages=("gross_wages", "sum"),
            top_employees=("top_employees", "max"),
            top_fte=("top_fte", "max"),
            top_wages=("top_wages", "max"),
        )
        .reset_index()
    )
    other = (
        totals.merge(bridge, on="commune_code")
        .groupby(["level", "code", "year"])
        .sum(numeric_only=True)
    )
    ess_year = ess_by_territory.groupby(["level", "code", "year"])[
        ["establishments", "employees"]
    ].sum()
    return ess_by_territory, ess_year.join(other, how="outer").fillna(0).reset_index()


def run(workdir: Path) -> str:
    """Build the national demo warehouse, then time the aggregation step both ways."""
    db = workdir / "bench-build.duckdb"
    build = measure(
        [sys.executable, "-m", "observatory.cli", "build", "--db", str(db)],
        stderr=subprocess.DEVNULL,
    )
    size_mb = db.stat().st_size / 1e6

    con = duckdb.connect(str(db), read_only=True)
    facts = con.execute("SELECT * FROM ess_facts").df()
    totals = con.execute("SELECT * EXCLUDE (source, a88_code) FROM employment_totals").df()
    sectors = con.execute("SELECT naf_code, a88_code FROM sectors").df()
    bridge = con.execute("SELECT * FROM territory_communes").df()
    counts = (len(facts), len(totals))
    con.close()

    mem = duckdb.connect()
    mem.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
    for table in (
        "ess_facts",
        "ess_size_facts",
        "employment_totals",
        "sectors",
        "territory_communes",
        "territories",
    ):
        mem.execute(f"CREATE TABLE {table} AS SELECT * FROM src.{table}")
    sql = AGGREGATES.read_text()
    sql_seconds = timed(lambda: mem.execute(sql).fetchall(), repeat=3)
    pandas_seconds = timed(lambda: _pandas_aggregates(facts, totals, sectors, bridge), repeat=1)
    mem.close()

    number = formatting.number
    return "\n".join(
        [
            "## Construction de l'entrepôt (données de démonstration, France entière)",
            "",
            f"- `observatory build` : {number(build.seconds, 1)} s, mémoire de pointe "
            f"{number(build.peak_mb)} Mo, fichier {number(size_mb)} Mo ({number(counts[0])} cellules ESS, "
            f"{number(counts[1])} lignes d'emploi hors ESS).",
            "",
            "| agrégation à tous les niveaux (EPCI, département, région, France) | secondes | rapport |",
            "| --- | ---: | ---: |",
            f"| DuckDB, tout `sql/marts/03_aggregates.sql` (meilleur de 3) | {number(sql_seconds, 2)} | 1 |",
            f"| pandas, seulement `ess_by_territory` et `employment_by_territory` (merge + groupby) "
            f"| {number(pandas_seconds, 2)} | {number(pandas_seconds / sql_seconds, 1)} |",
            "",
        ]
    )
