"""The reference of every warehouse table, view and column in docs/warehouse.md, generated from
the French comments the SQL layers give them (``COMMENT ON``), as DuckDB reports them.

    python -m observatory.warehouse.docs           # rewrite the generated part (make docs)
    python -m observatory.warehouse.docs --check   # exit 1 if docs/warehouse.md is stale

A build without demo data is written in a temporary folder, its marts are recomputed in one
connection (so that the staging layer's temporary views exist too), and the comments read from
``duckdb_tables()``, ``duckdb_views()`` and ``duckdb_columns()`` replace the text between the
two markers of docs/warehouse.md; the hand-written text around them stays.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb

from observatory import settings
from observatory.warehouse import build

DOC_PATH = settings.PROJECT_ROOT / "docs" / "warehouse.md"
BEGIN = "<!-- début de la référence générée par make docs : ne pas modifier à la main -->"
END = "<!-- fin de la référence générée -->"
LAYER_TITLES = {
    "landing": "Chargement (landing) : tables conservées d'un chargement à l'autre",
    "staging": "Préparation (staging) : vues temporaires de chaque construction, non conservées",
    "marts": "Restitution (marts) : tables et vues que les lecteurs interrogent",
}
TYPE_NAMES = {
    "VARCHAR": "texte",
    "SMALLINT": "entier",
    "INTEGER": "entier",
    "BIGINT": "entier",
    "DOUBLE": "nombre décimal",
    "FLOAT": "nombre décimal",
    "BOOLEAN": "vrai ou faux",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "date et heure",
    "BLOB": "binaire",
}
CREATED = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)",
    re.IGNORECASE,
)
RELATIONS = """
SELECT table_name AS name, 'table' AS kind, temporary, comment FROM duckdb_tables()
WHERE database_name IN (current_database(), 'temp') AND schema_name = 'main'
UNION ALL
SELECT view_name, 'vue', temporary, comment FROM duckdb_views()
WHERE database_name IN (current_database(), 'temp') AND schema_name = 'main' AND NOT internal
"""
COLUMNS = """
SELECT table_name, column_name, data_type, comment FROM duckdb_columns()
WHERE database_name IN (current_database(), 'temp') AND schema_name = 'main'
ORDER BY table_name, column_index
"""


def sql_relations() -> dict[str, str]:
    """Every relation the SQL layers create, in the order they create it → its layer."""
    layers: dict[str, str] = {}
    for layer in build.LAYERS:
        for script in sorted((build.SQL_DIR / layer).glob("*.sql")):
            for name in CREATED.findall(script.read_text(encoding="utf-8")):
                layers.setdefault(name, layer)
    return layers


def stored_relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None]]:
    """The tables and views a warehouse file holds (name, kind, comment), temporary ones left
    out: what every reader of the file sees."""
    return [
        (name, kind, comment)
        for name, kind, temporary, comment in con.execute(RELATIONS).fetchall()
        if not temporary
    ]


def uncommented(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The stored relations and columns of a warehouse without a French comment
    (``table`` or ``table.column``); empty when every one has one."""
    stored = {name for name, _, _ in stored_relations(con)}
    missing = [name for name, _, comment in stored_relations(con) if not (comment or "").strip()]
    for table, column, _, comment in con.execute(COLUMNS).fetchall():
        if table in stored and not (comment or "").strip():
            missing.append(f"{table}.{column}")
    return sorted(missing)


def render(con: duckdb.DuckDBPyConnection) -> str:
    """The Markdown reference of the relations of the SQL layers, by layer, in the order the
    layers create them: each relation's comment, then its columns with type and comment (the
    staging views' columns by name only)."""
    order = sql_relations()
    found = {
        name: (kind, temporary, comment)
        for name, kind, temporary, comment in con.execute(RELATIONS).fetchall()
    }
    columns: dict[str, list[tuple[str, str, str | None]]] = {}
    for table, column, data_type, comment in con.execute(COLUMNS).fetchall():
        columns.setdefault(table, []).append((column, data_type, comment))
    lines = [
        "## Référence des tables et des colonnes",
        "",
        "Générée par `make docs` depuis les commentaires de l'entrepôt (`duckdb_tables()`, "
        "`duckdb_views()`, `duckdb_columns()`), qui viennent des fichiers SQL de chaque couche. "
        "Les chiffres des tables de restitution sont bruts, avant secret statistique : seules "
        "les fonctions de l'observatoire (`observatory.table`, les tableaux de bord) appliquent "
        "le secret.",
    ]
    for layer in build.LAYERS:
        lines += ["", f"### {LAYER_TITLES[layer]}"]
        for name in (n for n, rel_layer in order.items() if rel_layer == layer and n in found):
            kind, temporary, comment = found[name]
            kind = f"{kind} temporaire" if temporary else kind
            lines += ["", f"#### `{name}` ({kind})", "", _cell(comment) or "(sans commentaire)"]
            if temporary:
                names = ", ".join(f"`{column}`" for column, _, _ in columns.get(name, []))
                lines += ["", f"Colonnes : {names}."]
                continue
            lines += ["", "| colonne | type | description |", "| --- | --- | --- |"]
            lines += [
                f"| `{column}` | {TYPE_NAMES.get(data_type, data_type)} | {_cell(text)} |"
                for column, data_type, text in columns.get(name, [])
            ]
    return "\n".join(lines) + "\n"


def _cell(text: str | None) -> str:
    return (text or "").strip().replace("|", "\\|").replace("\n", " ")


def generate(source: Path | None = None) -> str:
    """The reference of a warehouse copied from ``source`` (default: a new build without demo
    data; every build holds the same relations), marts recomputed in the connection read."""
    with tempfile.TemporaryDirectory(prefix="warehouse-docs-") as folder:
        target = Path(folder) / "observatory.duckdb"
        if source is None:
            build.build(target, with_demo=False)
        else:
            shutil.copy(source, target)
        with duckdb.connect(str(target)) as con:
            build.recompute_marts(con)
            return render(con)


def updated(document: str, reference: str) -> str:
    """``document`` with the text between the markers replaced by ``reference`` (the markers
    are added at the end when missing)."""
    block = f"{BEGIN}\n{reference}{END}\n"
    if BEGIN not in document:
        return document.rstrip("\n") + "\n\n" + block
    head, rest = document.split(BEGIN, 1)
    return head + block + rest.split(END, 1)[1].lstrip("\n")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: rewrite docs/warehouse.md, or check it with ``--check``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="vérifier sans réécrire")
    parser.add_argument("--db", type=Path, help="entrepôt à décrire (défaut : une construction)")
    args = parser.parse_args(argv)
    current = DOC_PATH.read_text(encoding="utf-8")
    wanted = updated(current, generate(args.db))
    if args.check:
        if wanted != current:
            print(f"{DOC_PATH} n'est plus à jour : lancez make docs", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(wanted, encoding="utf-8")
    print(f"{DOC_PATH} : référence régénérée")
    return 0


if __name__ == "__main__":
    sys.exit(main())
