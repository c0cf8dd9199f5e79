"""The ``observatory`` command: build, info, query, serve.

Every command exits with 0 on success and, on failure, prints one line starting with
``Erreur :`` on standard error and exits with a non-zero code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from observatory import formatting, settings
from observatory.cli_words import FrenchCommand, FrenchGroup
from observatory.errors import BuildError, ObservatoryError
from observatory.warehouse import open_warehouse
from observatory.warehouse.build import build as build_warehouse

app = typer.Typer(
    cls=FrenchGroup,
    subcommand_metavar="COMMANDE [ARGUMENTS]...",
    help="Observatoire régional de l'ESS : entrepôt, indicateurs et tableaux de bord.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"Erreur : {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


DbOption = typer.Option(
    None, "--db", help="Fichier DuckDB (défaut : $OBSERVATORY_DB ou data/observatory.duckdb)."
)


@app.command(cls=FrenchCommand)
def build(
    db: Path = DbOption,
    demo: bool = typer.Option(
        True, "--demo/--no-demo", help="Construire sur les données de démonstration."
    ),
) -> None:
    """Construit l'entrepôt (données de démonstration par défaut, --no-demo : référentiels seuls,
    prêt pour `observatory ingest`), de façon atomique."""
    with err.status("Construction de l'entrepôt…") as status:
        try:
            report = build_warehouse(
                db, on_step=lambda step: status.update(f"Construction : {step}…"), with_demo=demo
            )
        except BuildError as exc:
            _fail(f"{exc} (l'entrepôt précédent est conservé)")
    total = sum(report.seconds.values())
    err.print(
        f"Entrepôt construit : {report.path} en {formatting.number(total, 1)} s "
        f"({formatting.number(report.rows.get('ess_facts', 0))} cellules ESS).",
        highlight=False,
    )


@app.command(cls=FrenchCommand)
def info(db: Path = DbOption) -> None:
    """Affiche les sources chargées, les années et le nombre de lignes des tables."""
    try:
        with open_warehouse(db) as wh:
            sources = wh.sources()
            years = wh.years()
            published = (
                wh.sql(
                    "SELECT string_agg(DISTINCT source, ', ' ORDER BY source) AS sources, "
                    "string_agg(DISTINCT year::VARCHAR, ', ' ORDER BY year::VARCHAR) AS years "
                    "FROM published_indicators"
                ).iloc[0]
                if wh.has_table("published_indicators")
                else None
            )
            tables = wh.sql(
                "SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY table_name"
            )
            demo = wh.is_demo()
    except (ObservatoryError, duckdb.Error) as exc:
        _fail(str(exc))
    out = Console(width=None if sys.stdout.isatty() else 160)  # no wrapping when piped
    out.print(f"Entrepôt : {db or settings.db_path()}", highlight=False)
    if demo:
        out.print(f"[bold]{settings.DEMO_LABEL}[/bold]")
    out.print(
        f"Années : {years[0]} à {years[-1]} ({len(years)} millésimes)"
        if years
        else "Années : aucune (pas encore de faits chargés)",
        highlight=False,
    )
    if published is not None and published["years"]:
        out.print(
            f"Chiffres publiés ({published['sources']}) : {published['years']}", highlight=False
        )
    table = Table(
        "Source", "Millésime", "Lues", "Chargées", "Rejetées", "Synthétique", title="Sources"
    )
    for row in sources.itertuples():
        table.add_row(
            row.source,
            row.vintage,
            formatting.number(row.rows_read),
            formatting.number(row.rows_loaded),
            formatting.number(row.rows_rejected),
            "oui" if row.synthetic else "non",
        )
    out.print(table)
    for row in sources[sources["notes"] != ""].itertuples():
        out.print(
            f"Attention : {Path(row.file).name} : {row.notes}.", highlight=False, markup=False
        )
    counts = Table("Table", "Lignes", title="Tables")
    for row in tables.itertuples():
        counts.add_row(row.table_name, formatting.number(row.estimated_size))
    out.print(counts)


@app.command(cls=FrenchCommand)
def query(
    sql: str = typer.Argument(..., help="Requête SQL (lecture seule)."), db: Path = DbOption
) -> None:
    """Exécute une requête SQL en lecture seule et écrit le résultat en CSV sur la sortie standard."""
    try:
        with open_warehouse(db) as wh:
            frame = wh.sql(sql)
    except (ObservatoryError, duckdb.Error) as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    frame.to_csv(sys.stdout, index=False, lineterminator="\n")


@app.command(cls=FrenchCommand)
def ingest(
    paths: list[Path] = typer.Argument(
        ..., help="Fichiers à charger (CSV, zip, Parquet, xls, xlsx)."
    ),
    source: str = typer.Option(
        None,
        "--source",
        help="Source : sirene, insee, urssaf, essfrance, cress, structures, plan (défaut : reconnue d'après l'en-tête).",
    ),
    vintage: int = typer.Option(
        None,
        "--vintage",
        help="Millésime (année) ; défaut : lu dans le nom du fichier ou du dossier.",
    ),
    max_reject_rate: float = typer.Option(
        0.05,
        "--max-reject-rate",
        help="Part de lignes rejetées au-delà de laquelle un fichier est refusé.",
    ),
    db: Path = DbOption,
) -> None:
    """Charge des fichiers réels dans l'entrepôt, de façon atomique (tout ou rien)."""
    from observatory.ingest import IngestError
    from observatory.ingest import ingest as ingest_files

    with err.status("Chargement…"):
        try:
            reports = ingest_files(
                paths, source=source, vintage=vintage, db_path=db, max_reject_rate=max_reject_rate
            )
        except (IngestError, BuildError) as exc:
            _fail(f"{exc} (l'entrepôt précédent est conservé)")
    for report in reports:
        err.print(report.summary(), highlight=False, markup=False, soft_wrap=True)
        for line in [*report.examples, *(f"Attention : {note}." for note in report.notes)]:
            err.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)


@app.command(cls=FrenchCommand)
def sources(db: Path = DbOption) -> None:
    """Liste les fichiers chargés (provenance) et leurs comptes en CSV sur la sortie standard."""
    try:
        with open_warehouse(db) as wh:
            frame = wh.sources()
    except (ObservatoryError, duckdb.Error) as exc:
        _fail(str(exc).splitlines()[0])
    frame.to_csv(sys.stdout, index=False, lineterminator="\n")


@app.command(cls=FrenchCommand)
def rejects(
    source: str = typer.Option(None, "--source", help="Seulement les rejets de cette source."),
    db: Path = DbOption,
) -> None:
    """Écrit les lignes rejetées (fichier, ligne, colonne, valeur, raison) en CSV sur la sortie standard."""
    from observatory.ingest.pipeline import rejects_frame

    try:
        frame = rejects_frame(db, source)
    except (ObservatoryError, duckdb.Error) as exc:
        _fail(str(exc).splitlines()[0])
    frame.to_csv(sys.stdout, index=False, lineterminator="\n")


# Voilà settings passed through by `observatory serve`: --Class.name=value.
VOILA_SETTING = re.compile(r"--[A-Za-z]+\.[A-Za-z_]+=.*")


@app.command(
    cls=FrenchCommand, context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def serve(
    ctx: typer.Context,
    port: int = typer.Option(settings.VOILA_PORT, help="Port d'écoute."),
    host: str = typer.Option(settings.VOILA_HOST, help="Adresse d'écoute."),
    db: Path = DbOption,
    reserve: int = typer.Option(
        None,
        "--reserve",
        min=0,
        help="Noyaux préchauffés pour le portrait (défaut : voila.json) ; les autres tableaux de bord en gardent un, sauf avec 0 (aucun noyau préchauffé).",
    ),
    max_visitors: int = typer.Option(
        None,
        "--max-visitors",
        min=1,
        envvar="OBSERVATORY_MAX_VISITORS",
        help="Visiteurs servis à la fois, chacun par son noyau (défaut : selon la mémoire disponible) ; au-delà, une page propose le portrait statique.",
    ),
    site_url: str = typer.Option(
        None,
        "--site-url",
        envvar="OBSERVATORY_SITE_URL",
        help="Adresse du site statique proposé aux visiteurs en surnombre (défaut : /portraits/, servi par ce serveur depuis $OBSERVATORY_SITE ou site/).",
    ),
) -> None:
    """Sert les tableaux de bord de dashboards/ avec Voilà (réglages : voila.json du dépôt), dans
    les limites d'un serveur public (observatory/dashboards/server.py). Tout réglage de Voilà
    ou du serveur s'ajoute en --Classe.nom=valeur (--Voila.base_url=/tableaux/,
    --DashboardServer.max_kernel_age=1800)."""
    unknown = [arg for arg in ctx.args if not VOILA_SETTING.fullmatch(arg)]
    if unknown:
        _fail(f"option inconnue : {unknown[0]} (réglages de Voilà : --Classe.nom=valeur)")
    path = Path(db or settings.db_path())
    if not path.is_file():
        _fail(f"aucun entrepôt à {path} : lancez d'abord `observatory build`")
    try:
        open_warehouse(path).close()
    except (ObservatoryError, duckdb.Error) as exc:
        _fail(str(exc).splitlines()[0])
    url = f"http://{host}:{port}/voila/render/vue-regionale.ipynb"
    err.print(
        f"Tableaux de bord : http://{host}:{port}/  (vue régionale : {url})",
        highlight=False,
        soft_wrap=True,
    )
    command = [
        sys.executable,
        "-m",
        "observatory.dashboards.server",
        str(settings.DASHBOARDS_DIR),
        f"--port={port}",
        f"--Voila.ip={host}",
        "--no-browser",
        f"--MappingKernelManager.default_kernel_name={settings.KERNEL_NAME}",
    ]
    if reserve is not None:
        # Command-line settings take precedence over voila.json.
        pools = {
            "default": {"pool_size": min(reserve, 1)},
            "portrait.ipynb": {"pool_size": reserve},
        }
        command.append(f"--VoilaKernelManager.kernel_pools_config={json.dumps(pools)}")
    if max_visitors is not None:
        command.append(f"--DashboardServer.max_visitors={max_visitors}")
    if site_url:
        command.append(f"--DashboardServer.site_url={site_url.rstrip('/')}/")
    command.append(f"--VoilaConfiguration.resources={json.dumps({'preload': plotly_chunks()})}")
    command += ctx.args
    # voila.json (sources stripped, no tracebacks, no static files, preheated kernels, culling)
    # is read from the working directory.
    jupyter_path = os.pathsep.join(
        filter(None, [str(settings.SERVED_KERNELS_PATH), os.environ.get("JUPYTER_PATH")])
    )
    env = dict(
        os.environ,
        OBSERVATORY_DB=str(path.resolve()),
        JUPYTER_PATH=jupyter_path,
        **proxy_exemptions(host),
    )
    code = subprocess.call(command, cwd=settings.PROJECT_ROOT, env=env)
    if code < 0:
        _fail(f"le serveur Voilà s'est arrêté (signal {-code}) : relancez `observatory serve`")
    raise typer.Exit(code)


def proxy_exemptions(host: str) -> dict[str, str]:
    """``no_proxy`` extended with the server's own addresses. A preheated kernel waits for its
    visitor on a websocket to its own server (``voila.utils.wait_for_request``), and that client
    honours ``http_proxy``: behind a proxy, which cannot reach this machine's loopback, every
    preheated kernel would retry in vain and its visitor wait for a page that never comes."""
    current = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    names = [name.strip() for name in current.split(",")] + [host, "127.0.0.1", "localhost", "::1"]
    value = ",".join(dict.fromkeys(name for name in names if name))
    return {"no_proxy": value, "NO_PROXY": value}


def plotly_chunks() -> list[str]:
    """Addresses (below the server's base URL) of plotly.js's chunks in the jupyterlab-plotly
    labextension, as its loader asks for them: the observatory's Voilà template preloads them."""
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path("labextensions"):
        static = Path(root, "jupyterlab-plotly", "static")
        if static.is_dir():
            return [
                f"voila/labextensions/jupyterlab-plotly/static/{chunk.name}"
                f"?v={chunk.name.split('.')[1]}"
                for chunk in sorted(static.glob("*.*.js"))
                if not chunk.name.startswith("remoteEntry.")
            ]
    return []


@app.command(cls=FrenchCommand)
def portrait(
    territory: str = typer.Argument(
        None,
        help="Code (2-3 caractères = département, 5 = commune, 9 chiffres = EPCI) ou nom "
        "(« Le Havre », « havre »).",
    ),
    level: str = typer.Option(
        None,
        "--level",
        help="Niveau explicite : region ou france (les autres se déduisent du code).",
    ),
    year: int = typer.Option(None, "--year", help="Année (défaut : la plus récente)."),
    reference: str = typer.Option(
        None,
        "--reference",
        help="Territoire de comparaison : parent (défaut), FR, region:76, ou un code.",
    ),
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Fichier .json, .csv ou .xlsx (défaut : JSON sur la sortie standard).",
    ),
    db: Path = DbOption,
) -> None:
    """Écrit le portrait complet d'un territoire (tous les indicateurs, secret statistique appliqué)."""
    from observatory.publish import portrait as portraits

    try:
        if output is not None:
            portraits.output_format(output)
        with open_warehouse(db) as wh:
            frame = portraits.portrait(wh, territory, level, year, reference)
        portraits.write(frame, output)
    except (ObservatoryError, duckdb.Error, OSError) as exc:
        _fail(str(exc).splitlines()[0])
    if output is not None:
        err.print(f"Portrait écrit : {output}", highlight=False)


@app.command(cls=FrenchCommand)
def accompagnement(
    region: str = typer.Option(settings.DEFAULT_REGION, "--region", help="Code de la région."),
    structure_type: str = typer.Option(
        None, "--type", help="incubateur, pepiniere, dla, cress, ptce, tiers_lieu, autre."
    ),
    phase: str = typer.Option(
        None, "--phase", help="emergence, creation, post_creation, changement_echelle."
    ),
    db: Path = DbOption,
) -> None:
    """Distance de chaque commune d'une région à la structure d'accompagnement la plus proche (CSV)."""
    from observatory import support

    try:
        with open_warehouse(db) as wh:
            frame = support.commune_distances(wh, region, structure_type, phase)
    except (ObservatoryError, duckdb.Error, ValueError) as exc:
        _fail(str(exc).splitlines()[0])
    frame[["code", "name", "epci_code", "population", "distance_km", "structure_id"]].to_csv(
        sys.stdout, index=False, lineterminator="\n"
    )


@app.command("download", cls=FrenchCommand)
def download_command(
    sources: list[str] = typer.Argument(
        None, help="Sources : sirene, essfrance, urssaf (défaut : les trois)."
    ),
    raw: Path = typer.Option(
        None,
        "--raw",
        help="Zone de dépôt <source>/<millésime>/ (défaut : $OBSERVATORY_RAW ou data/raw).",
    ),
    sirene_format: str = typer.Option(
        "zip", "--format", help="Fichiers SIRENE : zip (CSV compressé, SHA-256 publiée) ou parquet."
    ),
) -> None:
    """Télécharge les fichiers ouverts officiels dans la zone de dépôt, prêts pour
    `observatory refresh` : reprise après interruption, taille et empreinte vérifiées."""
    from observatory.publish.download import DownloadError, download

    target = Path(raw or settings.raw_dir())
    unchanged = f"la zone de dépôt {target} est inchangée"
    try:
        fetched = download(sources, target, sirene_format, console=err)
    except DownloadError as exc:
        _fail(f"{exc} ; {unchanged}")
    except KeyboardInterrupt:
        _fail(f"téléchargement interrompu ; {unchanged}, il reprendra où il s'est arrêté", 130)
    for item in fetched:
        checks = " et ".join(item.checked)
        done = (
            "déjà à jour"
            if item.up_to_date
            else f"{formatting.file_size(item.bytes)} en {formatting.duration(item.seconds)}"
            + (f", {checks} vérifiée{'s' if len(item.checked) > 1 else ''}" if checks else "")
        )
        err.print(f"{item.remote.file} : {done}.", highlight=False, soft_wrap=True)
    err.print(
        f"Zone de dépôt à jour : {target} ; lancez `observatory refresh`.",
        highlight=False,
        soft_wrap=True,
    )


EXIT_LOCKED = 3


@app.command(cls=FrenchCommand)
def refresh(
    db: Path = DbOption,
    site: Path = typer.Option(
        None, "--site", help="Dossier du site statique (défaut : $OBSERVATORY_SITE ou site/)."
    ),
    raw: Path = typer.Option(
        None,
        "--raw",
        help="Dossier des fichiers bruts <source>/<millésime>/ (défaut : $OBSERVATORY_RAW ou data/raw).",
    ),
    demo: bool = typer.Option(
        None,
        "--demo/--no-demo",
        help="Forcer (ou refuser) les données de démonstration ; défaut : démonstration seulement sans fichier brut.",
    ),
    epci: bool = typer.Option(False, "--epci", help="Publier aussi le portrait de chaque EPCI."),
    only: str = typer.Option(
        None,
        "--only",
        help="Seulement ces portraits, séparés par des virgules : region:76,departement:34.",
    ),
    workers: int = typer.Option(
        None,
        "--workers",
        help="Noyaux Jupyter en parallèle pour les portraits (défaut : un par cœur, au plus 4).",
    ),
) -> None:
    """Actualise tout, sans surveillance : fichiers bruts, entrepôt, contrôles, portraits
    statiques, puis bascule atomique ; écrit un compte rendu JSON et un journal."""
    from observatory.publish.refresh import (
        Options,
        Paths,
        RefreshError,
        RefreshLocked,
        RefreshStopped,
        run_refresh,
    )

    paths = Paths.from_settings(db, site, raw)
    options = Options(
        demo=demo,
        epci=epci,
        workers=workers,
        only=[item for item in (only or "").split(",") if item.strip()] or None,
    )
    with err.status("Actualisation…") as status:
        try:
            record = run_refresh(
                paths, options, on_step=lambda step: status.update(f"Actualisation : {step}…")
            )
        except RefreshLocked as exc:
            _fail(str(exc), EXIT_LOCKED)
        except RefreshError as exc:
            _fail(
                f"actualisation interrompue à l'étape « {exc.step} » : {exc} ; l'entrepôt et le "
                f"site précédents sont conservés (journal : {paths.runs})"
            )
        except RefreshStopped as exc:  # exit code 128 + signal, as a shell reports it
            _fail(f"{exc} (journal : {paths.runs})", 128 + exc.signum)
    err.print(
        f"Actualisation réussie en {formatting.number(record.seconds, 1)} s : "
        f"{formatting.number(record.counts.get('portraits', 0))} portraits dans {paths.site}, "
        f"compte rendu {paths.runs / (record.run_id + '.json')}.",
        highlight=False,
        soft_wrap=True,
    )


if __name__ == "__main__":
    app()
