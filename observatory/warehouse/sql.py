"""The SQL runner: the files of ``observatory/sql`` (one relation per file), read and run in
one place — the build's layers and checks, the readers' ingest files, the refresh's checks."""

from __future__ import annotations

from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def run_file(con: duckdb.DuckDBPyConnection, relative: str) -> None:
    """Run one file of ``observatory/sql`` (``"landing/03_support.sql"``)."""
    con.execute((SQL_DIR / relative).read_text(encoding="utf-8"))


def run_ingest(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Run one file of ``observatory/sql/ingest``, as the readers do."""
    run_file(con, f"ingest/{name}")


def check_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The problems the checks (``observatory/sql/checks``) find, one French line each."""
    problems: list[str] = []
    for script in sorted((SQL_DIR / "checks").glob("*.sql")):
        problems += [row[0] for row in con.execute(script.read_text(encoding="utf-8")).fetchall()]
    return problems
