"""Every table, view and column of a built warehouse explained in French, and the reference of
docs/warehouse.md generated from those comments (make docs)."""

import shutil

import duckdb
import pytest
from real_sources import SOURCES, source_files, warehouse_with

from observatory.warehouse import docs as warehouse_docs

# Read from DuckDB's catalogue directly, not through the module under test.
STORED = """
SELECT table_name, 'table', comment FROM duckdb_tables() WHERE NOT temporary
UNION ALL
SELECT view_name, 'view', comment FROM duckdb_views() WHERE NOT temporary AND NOT internal
"""
COLUMNS = "SELECT table_name, column_name, comment FROM duckdb_columns()"


def catalogue(source) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The stored relations and their columns → comment, of a warehouse file or connection."""
    if not isinstance(source, duckdb.DuckDBPyConnection):
        with duckdb.connect(str(source), read_only=True) as con:
            return catalogue(con)
    relations = {name: comment for name, _, comment in source.execute(STORED).fetchall()}
    columns = {
        f"{table}.{column}": comment
        for table, column, comment in source.execute(COLUMNS).fetchall()
        if table in relations
    }
    return relations, columns


def assert_all_explained(source) -> None:
    relations, columns = catalogue(source)
    assert len(relations) >= 37 and len(columns) >= 300  # the warehouse of December 2026
    missing = [name for name, text in {**relations, **columns}.items() if not (text or "").strip()]
    assert missing == [], f"{len(missing)} sans commentaire : {missing[:10]}"
    for name, text in {**relations, **columns}.items():
        # Plain French sentences for a reader, not code.
        assert text.rstrip().endswith((".", ")", "…")), (name, text)
        assert "`" not in text and "::" not in text, (name, text)


def test_every_table_view_and_column_of_a_demo_build_has_a_french_comment(wh):
    # The session's demo warehouse, through its open connection (a second connection to the
    # same file with another configuration is refused by DuckDB).
    assert_all_explained(wh.connection)
    _, columns = catalogue(wh.connection)
    assert columns["ess_facts.employees"] == "Postes salariés au 31 décembre."
    assert "secret statistique" in columns["key_figures.ess_share_pct"]


def test_every_table_view_and_column_of_a_build_from_real_files_has_a_french_comment(
    empty_warehouse_path, tmp_path
):
    files = [path for source in SOURCES for path in source_files(source, tmp_path)]
    real = warehouse_with(empty_warehouse_path, tmp_path, files)
    with duckdb.connect(str(real), read_only=True) as con:
        loaded = {row[0] for row in con.execute("SELECT DISTINCT source FROM sources").fetchall()}
    assert set(SOURCES) <= loaded
    assert_all_explained(real)


def test_docs_warehouse_md_is_what_make_docs_generates(empty_warehouse_path):
    document = warehouse_docs.DOC_PATH.read_text(encoding="utf-8")
    assert warehouse_docs.BEGIN in document and warehouse_docs.END in document
    generated = warehouse_docs.generate(empty_warehouse_path)
    assert warehouse_docs.updated(document, generated) == document, "lancez make docs"
    assert warehouse_docs.main(["--check", "--db", str(empty_warehouse_path)]) == 0
    # Every stored column is in the page, with its comment.
    _, columns = catalogue(empty_warehouse_path)
    for name, text in columns.items():
        assert f"| `{name.split('.', 1)[1]}` |" in generated
        assert text.strip().replace("|", "\\|") in generated, name
    # The three layers, the staging views with their comment.
    for title in warehouse_docs.LAYER_TITLES.values():
        assert f"### {title}" in generated
    assert "#### `stg_territories` (vue temporaire)" in generated


@pytest.mark.parametrize("added", ["ALTER TABLE sources ADD COLUMN notes VARCHAR"])
def test_a_column_added_without_a_comment_is_caught(empty_warehouse_path, tmp_path, added):
    copy = tmp_path / "observatory.duckdb"
    shutil.copy(empty_warehouse_path, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(added)
        assert warehouse_docs.uncommented(con) == ["sources.notes"]
    document = warehouse_docs.DOC_PATH.read_text(encoding="utf-8")
    assert warehouse_docs.updated(document, warehouse_docs.generate(copy)) != document
    assert warehouse_docs.main(["--check", "--db", str(copy)]) == 1
