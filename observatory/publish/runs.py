"""The records of ``observatory refresh``: what a run read (the raw files of the drop zone and
their manifest), its full JSON record and log in ``<site>.runs/`` for the team, and its public
summary in ``<site>.summaries/`` (no host, path, rejected row or error text), which the site
shows as ``runs/``."""

from __future__ import annotations

import json
import logging
import os
import socket
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from observatory import fsutil
from observatory.ingest import manifest
from observatory.ingest.dropzone import RawInput
from observatory.publish import site

MANIFEST = manifest.MANIFEST
# What the public summary says of a run that did not succeed, whatever the reason.
PUBLIC_ERRORS = {
    "échec": "l'actualisation a échoué",
    "interrompue": "l'actualisation s'est interrompue avant la fin",
    "arrêtée": "l'actualisation a été arrêtée avant la fin",
}
PUBLIC_ERROR_END = " ; les données et le site publiés auparavant restent en ligne"
SUMMARIES_IN_INDEX = 200


@dataclass
class RunRecord:
    """The JSON record of a refresh."""

    run_id: str
    started: str
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    outcome: str = "en cours"
    ended: str | None = None
    seconds: float | None = None
    warehouse: str = ""
    site: str = ""
    demo: bool = False
    steps: list[dict] = field(default_factory=list)
    inputs: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    portraits: list[dict] = field(default_factory=list)
    error: dict | None = None

    def write(self, runs: Path) -> Path:
        runs.mkdir(parents=True, exist_ok=True)
        path = runs / f"{self.run_id}.json"
        fsutil.write_atomic(path, json.dumps(self.__dict__, ensure_ascii=False, indent=1) + "\n")
        return path


def public_summary(record: dict) -> dict:
    """What the public site shows of a run record: outcome, dates, the steps and their
    durations, counts, and each input's file name, source, vintage and checksum. No host, no
    path, no rejected row, and for a run that did not succeed, one generic sentence."""
    error, outcome = record.get("error"), record.get("outcome")
    return dict(
        run_id=record["run_id"],
        outcome=outcome,
        started=record.get("started"),
        ended=record.get("ended"),
        seconds=record.get("seconds"),
        demo=bool(record.get("demo")),
        steps=[
            dict(step=s.get("step"), seconds=s.get("seconds"), outcome=s.get("outcome"))
            for s in record.get("steps", [])
        ],
        counts={
            name: value
            for name, value in record.get("counts", {}).items()
            if isinstance(value, int | float)
        },
        inputs=[
            dict(
                file=PurePosixPath(i.get("file", "")).name,
                source=i.get("source"),
                vintage=i.get("vintage"),
                sha256=i.get("sha256"),
            )
            for i in record.get("inputs", [])
        ],
        error=(
            dict(
                step=error.get("step"),
                message=PUBLIC_ERRORS.get(outcome, PUBLIC_ERRORS["échec"]) + PUBLIC_ERROR_END,
            )
            if error
            else None
        ),
    )


def publish_summary(record: dict, summaries: Path) -> None:
    """Write a run's public summary and the summaries' index page (the latest runs)."""
    summaries.mkdir(parents=True, exist_ok=True)
    summary = public_summary(record)
    fsutil.write_atomic(
        summaries / f"{summary['run_id']}.json",
        json.dumps(summary, ensure_ascii=False, indent=1) + "\n",
    )
    latest = []
    for path in sorted(summaries.glob("*.json"), reverse=True)[:SUMMARIES_IN_INDEX]:
        with suppress(OSError, ValueError):
            latest.append(json.loads(path.read_text(encoding="utf-8")))
    fsutil.write_atomic(summaries / "index.html", site.runs_index_html(latest))


def read_manifest(raw: Path) -> dict[str, str]:
    try:
        entries = json.loads((raw / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError):
        return {}
    return {e["file"]: e["sha256"] for e in entries}


def write_manifest(raw: Path, inputs: list[RawInput], run_id: str) -> None:
    """The manifest of the raw files the published warehouse was built from; the record of
    downloads (``observatory download``) is kept as it is."""
    if not raw.is_dir():
        return
    with manifest.lock(raw):
        document = manifest.read(raw)
        previous = {
            e["file"]: e for e in document.get("files", []) if isinstance(e, dict) and "file" in e
        }
        files = []
        for item in inputs:
            before = previous.get(item.file, {})
            first = before.get("first_loaded") if before.get("sha256") == item.sha256 else None
            files.append(
                dict(
                    file=item.file,
                    source=item.source,
                    vintage=item.vintage,
                    sha256=item.sha256,
                    bytes=item.bytes,
                    modified=item.modified,
                    first_loaded=first or run_id,
                    last_loaded=run_id,
                )
            )
        manifest.write(raw, {**document, "run_id": run_id, "files": files})


def close_interrupted(runs: Path, summaries: Path) -> None:
    """Every record has its public summary; the records of runs killed before their end (still
    « en cours »: we hold the lock, none of them is running) are marked interrupted."""
    for record_path in runs.glob("*.json") if runs.is_dir() else []:
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not (summaries / record_path.name).is_file():
            publish_summary(record, summaries)
        if record.get("outcome") == "en cours":
            record.update(
                outcome="interrompue",
                error=dict(
                    step=next(
                        (
                            s["step"]
                            for s in record.get("steps", [])
                            if s.get("outcome") == "en cours"
                        ),
                        "?",
                    ),
                    message="processus arrêté avant la fin (tué ou machine arrêtée) ; rien n'a "
                    "été modifié",
                ),
            )
            fsutil.write_atomic(record_path, json.dumps(record, ensure_ascii=False, indent=1))
            publish_summary(record, summaries)


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def logger(path: Path) -> logging.Logger:
    path.parent.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"observatory.refresh.{path.stem}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    log.addHandler(handler)
    return log
