"""``observatory refresh``: the scheduled, unattended rebuild of the warehouse and the site.

Steps, each timed in the run record:

1. **raw files**: list ``data/raw/<source>/<vintage>/<file>`` with their checksums; files not in
   the manifest of the last successful refresh are new;
2. **warehouse**: build a new warehouse in a run folder beside the current one (demo data when
   there is no raw file), load every raw file into it;
3. **checks**: row accounting of every load, totals consistent across levels (the build checks,
   run again on the finished file), secrecy of the published portraits;
4. **portraits**: render the static site into a new version folder;
5. **swap**: replace the warehouse (``os.replace``) and point the site at the new version
   (an atomic symlink swap), then record the manifest.

Only one refresh runs at a time (an ``flock`` on a lock file, released by the kernel even if the
process is killed). Any failure, or a kill, leaves the previous warehouse and site as they were;
the next refresh removes what a killed one left behind, and one stopped by SIGTERM, SIGINT or
SIGHUP cleans up at once and records it. Every run writes a full JSON record and a log in
``<site>.runs/``, for the team only, and a public summary (no host, path, rejected row or error
text) in ``<site>.summaries/``, which the site shows as ``runs/``.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from observatory import fsutil, settings
from observatory.errors import RefreshError, RefreshLocked
from observatory.ingest import ingest, manifest
from observatory.ingest.dropzone import scan_raw, staged
from observatory.ingest.files import vintage_order
from observatory.ingest.pipeline import LOAD_ORDER, READERS
from observatory.publish import portrait, runs, site
from observatory.secrecy import audit
from observatory.warehouse import build
from observatory.warehouse.sql import check_problems

KEEP_VERSIONS = 2  # site versions kept: the current one and the one before
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class RefreshStopped(BaseException):
    """A refresh stopped by a signal (``systemctl stop``, ``kill``, Ctrl-C): a BaseException,
    like KeyboardInterrupt, so that no ``except Exception`` on the way swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum, self.step = signum, "?"

    def __str__(self) -> str:
        return (
            f"actualisation arrêtée par le signal {signal.Signals(self.signum).name} pendant "
            f"l'étape « {self.step} » ; l'entrepôt et le site précédents sont conservés"
        )


@dataclass
class Paths:
    """Where a refresh reads and writes."""

    db: Path
    site: Path
    raw: Path

    @classmethod
    def from_settings(
        cls, db: Path | None = None, site_dir: Path | None = None, raw: Path | None = None
    ) -> Paths:
        return cls(
            Path(db or settings.db_path()).absolute(),
            Path(site_dir or settings.site_dir()).absolute(),
            Path(raw or settings.raw_dir()).absolute(),
        )

    @property
    def versions(self) -> Path:
        """Site versions; ``site`` is a symlink to one of them."""
        return self.site.with_name(self.site.name + ".versions")

    @property
    def runs(self) -> Path:
        """Full run records and logs, for the team only: never reachable from the site."""
        return self.site.with_name(self.site.name + ".runs")

    @property
    def summaries(self) -> Path:
        """Public summaries of the runs, shown in the site as ``runs/``."""
        return self.site.with_name(self.site.name + ".summaries")

    @property
    def lock(self) -> Path:
        return self.db.with_name(f".{self.db.name}.refresh.lock")

    def workdir(self, run_id: str) -> Path:
        """Run folder of the new warehouse: beside the current one, for an atomic rename."""
        return self.db.with_name(f".{self.db.name}.refresh-{run_id}")


@dataclass
class Options:
    """What to publish."""

    demo: bool | None = None  # None: demo data only when the drop zone holds no raw file
    epci: bool = False
    only: list[str] | None = None
    workers: int | None = None


def run_refresh(
    paths: Paths | None = None,
    options: Options | None = None,
    on_step: Callable[[str], None] | None = None,
) -> runs.RunRecord:
    """One refresh, start to end; raises ``RefreshLocked`` or ``RefreshError``."""
    paths = paths or Paths.from_settings()
    options = options or Options()
    paths.db.parent.mkdir(parents=True, exist_ok=True)
    with _lock(paths.lock):
        return _Refresh(paths, options, on_step).run()


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "inconnu"
        handle.close()
        raise RefreshLocked(
            f"une actualisation est déjà en cours ({holder}) ; celle-ci s'arrête sans rien modifier"
        ) from None
    try:
        handle.truncate(0)
        handle.write(
            f"pid {os.getpid()} sur {socket.gethostname()}, démarrée le "
            f"{datetime.now():%d/%m/%Y à %H:%M:%S}\n"
        )
        handle.flush()
        yield
    finally:
        handle.truncate(0)
        handle.close()


class _Refresh:
    def __init__(self, paths: Paths, options: Options, on_step):
        self.paths, self.options, self.on_step = paths, options, on_step
        now = datetime.now().astimezone()
        self.run_id = f"{now:%Y%m%dT%H%M%S}-{os.getpid()}"
        self.record = runs.RunRecord(
            run_id=self.run_id,
            started=now.isoformat(timespec="seconds"),
            warehouse=str(paths.db),
            site=str(paths.site),
        )
        self.workdir = paths.workdir(self.run_id)
        self.new_db = self.workdir / paths.db.name
        self.version = paths.versions / self.run_id
        self.started = time.perf_counter()
        self.log = runs.logger(paths.runs / f"{self.run_id}.log")
        self.finishing = False  # from the swap on, or failing: a stop signal waits for the end
        self.stop_pending: int | None = None
        self.zone = ExitStack()  # the drop zone, held from the scan to the end of the loads

    def run(self) -> runs.RunRecord:
        with self._stop_signals():
            return self._run()

    def _run(self) -> runs.RunRecord:
        self._clean_leftovers()
        self._save()
        steps = [
            ("fichiers bruts", self._scan),
            ("entrepôt", self._build),
            ("contrôles", self._check),
            ("portraits", self._render),
            ("contrôle du secret statistique", self._audit),
            ("bascule", self._swap),
        ]
        try:
            for name, step in steps:
                self._step(name, step)
            self._finish("succès")
            self.log.info("actualisation réussie en %.1f s", self.record.seconds)
            if self.stop_pending:
                self.log.warning(
                    "signal %s reçu pendant la bascule : l'actualisation s'est terminée avant "
                    "de s'arrêter",
                    signal.Signals(self.stop_pending).name,
                )
            self._prune_versions()
        except RefreshStopped as exc:
            self._stopped(exc)
            raise
        except Exception as exc:
            self._fail(exc)
            raise
        finally:
            self.zone.close()
            shutil.rmtree(self.workdir, ignore_errors=True)
            for handler in self.log.handlers:
                handler.close()
        return self.record

    def _step(self, name: str, step: Callable[[], None]) -> None:
        if self.on_step:
            self.on_step(name)
        self.log.info("début de l'étape « %s »", name)
        started = time.perf_counter()
        entry = dict(step=name, started=runs.now(), seconds=None, outcome="en cours")
        self.record.steps.append(entry)
        self._save()  # a kill now leaves a record that names the step
        try:
            step()
            if self.stop_pending is not None and not self.finishing:
                raise RefreshStopped(self.stop_pending)  # a signal the step's own code swallowed
        except Exception as exc:
            if self.stop_pending is not None and not self.finishing:
                # the signal, which DuckDB turns into its own « Query interrupted »
                raise RefreshStopped(self.stop_pending) from exc
            entry.update(seconds=round(time.perf_counter() - started, 3), outcome="échec")
            raise RefreshError(name, str(exc)) from exc
        entry.update(seconds=round(time.perf_counter() - started, 3), outcome="réussie")
        self.log.info("fin de l'étape « %s » en %.1f s", name, entry["seconds"])
        self._save()

    def _fail(self, exc: Exception) -> None:
        self.finishing = True
        step = exc.step if isinstance(exc, RefreshError) else "?"
        self.record.error = dict(step=step, message=str(exc))
        self._finish("échec")
        self.log.error(
            "échec à l'étape « %s » : %s ; l'entrepôt et le site précédents sont conservés",
            step,
            exc,
        )
        shutil.rmtree(self.version, ignore_errors=True)

    def _stopped(self, exc: RefreshStopped) -> None:
        """Clean up as the next refresh would (the run folder goes in ``run``), and say so."""
        for entry in self.record.steps:
            if entry["outcome"] == "en cours":
                exc.step = entry["step"]
                entry["outcome"] = "arrêtée"
        shutil.rmtree(self.version, ignore_errors=True)
        self.record.error = dict(step=exc.step, message=str(exc))
        self._finish("arrêtée")
        self.log.error("%s", exc)

    def _finish(self, outcome: str) -> None:
        self.record.outcome = outcome
        self.record.ended = runs.now()
        self.record.seconds = round(time.perf_counter() - self.started, 3)
        self._save()

    def _save(self) -> None:
        """The full record, and its public summary."""
        self.record.write(self.paths.runs)
        runs.publish_summary(self.record.__dict__, self.paths.summaries)

    @contextmanager
    def _stop_signals(self) -> Iterator[None]:
        """SIGTERM, SIGINT and SIGHUP stop the refresh through ``RefreshStopped`` (once: a second
        signal does not cut the clean-up short); during the swap, they wait for its end."""
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers belong to the main thread
            return

        def stop(signum, _frame):
            if self.stop_pending is not None:
                return
            self.stop_pending = signum
            if not self.finishing:
                raise RefreshStopped(signum)

        previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    # -- steps -------------------------------------------------------------------------------

    def _hold_drop_zone(self) -> None:
        """Keep downloads out of the drop zone while its files are listed and loaded."""
        raw = self.paths.raw
        if not raw.is_dir():
            return
        try:
            self.zone.enter_context(manifest.hold(raw, manifest.REFRESH))
        except manifest.ZoneBusy as busy:
            raise ValueError(
                f"un téléchargement remplit la zone de dépôt {raw} "
                f"({busy.holder or 'observatory download'}) : ses fichiers ne sont pas lus tant "
                "qu'ils arrivent ; relancez l'actualisation quand il sera fini"
            ) from None
        except OSError as exc:  # a zone no one can write to: no download can change it either
            self.log.info("zone de dépôt non verrouillée (%s) : elle est en lecture seule", exc)

    def _scan(self) -> None:
        self._hold_drop_zone()
        known = runs.read_manifest(self.paths.raw)
        self.inputs = scan_raw(self.paths.raw, known, self.workdir)
        self.record.inputs = [i.__dict__ for i in self.inputs]
        demo = self.options.demo if self.options.demo is not None else not self.inputs
        if demo and self.inputs and self.options.demo:
            raise ValueError(
                "des fichiers bruts sont présents : les données de démonstration ne "
                "s'y mélangent pas (retirez --demo)"
            )
        self.record.demo = demo
        new = sum(i.new for i in self.inputs)
        self.log.info(
            "%d fichier(s) brut(s), dont %d nouveau(x)%s",
            len(self.inputs),
            new,
            " ; données de démonstration" if demo else "",
        )

    def _build(self) -> None:
        with self.zone:  # released once every raw file is loaded
            self._load()

    def _load(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)  # the scan staged the raw files in it
        report = build.build(self.new_db, with_demo=self.record.demo)
        self.record.counts["ess_facts"] = report.rows.get("ess_facts", 0)
        if self.inputs:
            reports: list = []
            order = LOAD_ORDER + [s for s in READERS if s not in LOAD_ORDER]
            groups = sorted(
                {(i.source, i.vintage) for i in self.inputs},
                key=lambda g: (order.index(g[0]), vintage_order(g[1])),
            )
            for source, vintage in groups:  # one atomic load per folder, in loading order
                files = [
                    staged(self.paths.raw, self.workdir, i)
                    for i in self.inputs
                    if (i.source, i.vintage) == (source, vintage)
                ]
                year = re.match(r"(19|20)\d{2}", vintage)
                reports += ingest(
                    files,
                    source=source,
                    db_path=self.new_db,
                    vintage=int(year.group(0)) if year else None,
                )
            build.store_masks(self.new_db)
            self.record.counts.update(
                rows_read=sum(r.rows_read for r in reports),
                rows_loaded=sum(r.rows_loaded for r in reports),
                rows_rejected=sum(r.rows_rejected for r in reports),
            )

    def _check(self) -> None:
        with duckdb.connect(str(self.new_db), read_only=True) as con:
            figures = con.execute(
                "SELECT (SELECT count(*) FROM ess_by_territory) "
                "+ (SELECT count(*) FROM published_indicators)"
            ).fetchall()[0][0]
            if not figures:
                raise ValueError(
                    "aucun chiffre de l'ESS dans l'entrepôt : les fichiers bruts ne "
                    "donnent ni établissement de l'ESS (pour SIRENE, il faut les "
                    "établissements et leurs unités légales) ni chiffre publié de l'ESS "
                    "reconnu (INSEE, Urssaf, CRESS) ; rien à publier"
                )
        problems = check_warehouse(self.new_db)
        if problems:
            raise ValueError("; ".join(problems[:5]))
        with duckdb.connect(str(self.new_db), read_only=True) as con:
            self.record.counts.update(
                dict(
                    con.execute(
                        "SELECT table_name, estimated_size FROM duckdb_tables() "
                        "WHERE table_name IN ('ess_facts', 'ess_by_territory', 'rejects', 'sources')"
                    ).fetchall()
                )
            )

    def _render(self) -> None:
        pages = site.pages_to_publish(self.new_db, self.options.epci, self.options.only)
        self.version.mkdir(parents=True)
        report = site.render_site(
            self.new_db,
            self.version,
            pages,
            self.options.workers,
            on_page=lambda r: self.log.info(
                "portrait %s %s (%s) en %.1f s", r.page.level, r.page.code, r.page.name, r.seconds
            ),
        )
        site.write_release(self.version, report, self.run_id)
        fsutil.swap_symlink(self.version / "runs", self.paths.summaries)
        self.record.counts.update(portraits=len(report.pages), workers=report.workers)
        self.record.portraits = [
            dict(level=r.page.level, code=r.page.code, seconds=round(r.seconds, 3))
            for r in report.pages
        ]

    def _audit(self) -> None:
        findings = audit.audit_site(
            self.new_db, self.version, portrait.read_published(self.version)
        )
        self.record.counts["secret_cells_checked"] = findings.checked
        if findings.problems:
            raise ValueError(
                f"{len(findings.problems)} valeur(s) couverte(s) par le secret "
                f"retrouvée(s) dans le site : {'; '.join(findings.problems[:3])}"
            )

    def _swap(self) -> None:
        fsutil.fsync_tree(self.version)
        self.finishing = True
        os.replace(self.new_db, self.paths.db)
        fsutil.fsync_dir(self.paths.db.parent)
        fsutil.swap_symlink(self.paths.site, self.version)
        runs.write_manifest(self.paths.raw, self.inputs, self.run_id)

    # -- housekeeping ------------------------------------------------------------------------

    def _clean_leftovers(self) -> None:
        """Remove what killed refreshes left (we hold the lock: none of them is running), mark
        their records as interrupted; every version's ``runs/`` shows the public summaries (older
        versions showed the full records)."""
        for leftover in self.paths.db.parent.glob(f".{self.paths.db.name}.refresh-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        current = _current_version(self.paths.site)
        if self.paths.versions.is_dir():
            for version in self.paths.versions.iterdir():
                if version != current and not (version / "release.json").is_file():
                    shutil.rmtree(version, ignore_errors=True)
                elif (version / "runs").is_symlink() or not (version / "runs").exists():
                    fsutil.swap_symlink(version / "runs", self.paths.summaries)
        runs.close_interrupted(self.paths.runs, self.paths.summaries)
        _adopt_plain_site(self.paths)

    def _prune_versions(self) -> None:
        current = _current_version(self.paths.site)
        versions = sorted(
            (v for v in self.paths.versions.iterdir() if v != current),
            key=lambda v: v.name,
            reverse=True,
        )
        for old in versions[KEEP_VERSIONS - 1 :]:
            shutil.rmtree(old, ignore_errors=True)


def check_warehouse(db_path: Path) -> list[str]:
    """Problems of a finished warehouse: the build checks and the row accounting of loads."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        problems = check_problems(con)
        problems += [
            f"{source} {file} : {read} lignes lues ≠ {loaded} chargées + {rejected} rejetées"
            for source, file, read, loaded, rejected in con.execute(
                "SELECT source, file, rows_read, rows_loaded, rows_rejected FROM sources "
                "WHERE rows_read <> rows_loaded + rows_rejected"
            ).fetchall()
        ]
    return problems


def _current_version(site_path: Path) -> Path | None:
    if site_path.is_symlink():
        return (site_path.parent / os.readlink(site_path)).resolve()
    return None


def _adopt_plain_site(paths: Paths) -> None:
    """A ``site`` that is a plain folder (made by hand or by an older version) becomes the
    first version, so that later swaps are atomic."""
    if paths.site.is_dir() and not paths.site.is_symlink():
        paths.versions.mkdir(parents=True, exist_ok=True)
        target = paths.versions / f"initial-{datetime.now():%Y%m%dT%H%M%S}"
        paths.site.rename(target)
        (target / "release.json").touch()
        fsutil.swap_symlink(paths.site, target)
