"""The ``observatory`` command: build, info, query, serve.

Every command exits with 0 on success and, on failure, prints one line starting with
``Erreur :`` on standard error and exits with a non-zero code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from observatory import formatting, settings
from observatory.build import BuildError, build as build_warehouse
from observatory.warehouse import WarehouseMissingError, open_warehouse

app = typer.Typer(
    help="Observatoire régional de l'ESS : entrepôt, indicateurs et tableaux de bord.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"Erreur : {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


DbOption = typer.Option(None, "--db", help="Fichier DuckDB (défaut : $OBSERVATORY_DB ou data/observatory.duckdb).")


@app.command()
def build(
    db: Path = DbOption,
    demo: bool = typer.Option(True, "--demo/--no-demo", help="Construire sur les données de démonstration."),
) -> None:
    """Construit l'entrepôt (données de démonstration par défaut), de façon atomique."""
    if not demo:
        _fail("seule la construction sur les données de démonstration est disponible (--demo)", 2)
    with err.status("Construction de l'entrepôt…") as status:
        try:
            report = build_warehouse(db, on_step=lambda step: status.update(f"Construction : {step}…"))
        except BuildError as exc:
            _fail(f"{exc} (l'entrepôt précédent est conservé)")
    total = sum(report.seconds.values())
    err.print(
        f"Entrepôt construit : {report.path} en {formatting.number(total, 1)} s "
        f"({formatting.number(report.rows.get('ess_facts', 0))} cellules ESS).",
        highlight=False,
    )


@app.command()
def info(db: Path = DbOption) -> None:
    """Affiche les sources chargées, les années et le nombre de lignes des tables."""
    try:
        with open_warehouse(db) as wh:
            sources = wh.sources()
            years = wh.years()
            tables = wh.sql(
                "SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY table_name"
            )
            demo = wh.is_demo()
    except (WarehouseMissingError, duckdb.Error) as exc:
        _fail(str(exc))
    out = Console(width=None if sys.stdout.isatty() else 160)  # no wrapping when piped
    out.print(f"Entrepôt : {db or settings.db_path()}", highlight=False)
    if demo:
        out.print(f"[bold]{settings.DEMO_LABEL}[/bold]")
    out.print(f"Années : {years[0]} à {years[-1]} ({len(years)} millésimes)", highlight=False)
    table = Table("Source", "Millésime", "Lues", "Chargées", "Rejetées", "Synthétique", title="Sources")
    for row in sources.itertuples():
        table.add_row(row.source, row.vintage, formatting.number(row.rows_read),
                      formatting.number(row.rows_loaded), formatting.number(row.rows_rejected),
                      "oui" if row.synthetic else "non")
    out.print(table)
    counts = Table("Table", "Lignes", title="Tables")
    for row in tables.itertuples():
        counts.add_row(row.table_name, formatting.number(row.estimated_size))
    out.print(counts)


@app.command()
def query(sql: str = typer.Argument(..., help="Requête SQL (lecture seule)."), db: Path = DbOption) -> None:
    """Exécute une requête SQL en lecture seule et écrit le résultat en CSV sur la sortie standard."""
    try:
        with open_warehouse(db) as wh:
            frame = wh.sql(sql)
    except (WarehouseMissingError, duckdb.Error) as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    frame.to_csv(sys.stdout, index=False, lineterminator="\n")


@app.command()
def serve(
    port: int = typer.Option(settings.VOILA_PORT, help="Port d'écoute."),
    host: str = typer.Option(settings.VOILA_HOST, help="Adresse d'écoute."),
    db: Path = DbOption,
) -> None:
    """Sert les tableaux de bord de dashboards/ avec Voilà."""
    path = Path(db or settings.db_path())
    if not path.is_file():
        _fail(f"no warehouse at {path}: run `observatory build` first")
    url = f"http://{host}:{port}/voila/render/vue-regionale.ipynb"
    err.print(f"Tableaux de bord : http://{host}:{port}/  (vue régionale : {url})", highlight=False,
              soft_wrap=True)
    command = [
        sys.executable, "-m", "voila", str(settings.DASHBOARDS_DIR),
        f"--port={port}", f"--Voila.ip={host}", "--no-browser",
        f"--MappingKernelManager.default_kernel_name={settings.KERNEL_NAME}",
    ]
    env = dict(os.environ, OBSERVATORY_DB=str(path.resolve()))
    raise typer.Exit(subprocess.call(command, cwd=settings.PROJECT_ROOT, env=env))


if __name__ == "__main__":
    app()
