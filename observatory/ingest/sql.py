"""The SQL files of ``observatory/sql/ingest``, run by the readers."""

from __future__ import annotations

from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "ingest"


def run_sql(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Run one file of ``observatory/sql/ingest``."""
    con.execute((SQL_DIR / name).read_text(encoding="utf-8"))
