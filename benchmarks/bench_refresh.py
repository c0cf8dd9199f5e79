"""Benchmark of ``observatory refresh`` on the demo data: every step, the 119 portraits
(101 départements, 18 régions) rendered by one kernel per worker, against the obvious
alternative, one papermill run (one kernel) per portrait, timed on a sample in the same run."""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

from benchmarks.common import measure
from observatory import formatting, settings

SAMPLE = ["34", "48", "2A", "971", "75", "13"]  # départements for the papermill comparison


def run(workdir: Path) -> str:
    env = {
        **os.environ,
        "OBSERVATORY_DB": str(workdir / "observatory.duckdb"),
        "OBSERVATORY_SITE": str(workdir / "site"),
        "OBSERVATORY_RAW": str(workdir / "raw"),
    }
    whole = measure(
        [sys.executable, "-m", "observatory.cli", "refresh"],
        env=env,
        cwd=settings.PROJECT_ROOT,
        check=False,
    )
    record = json.loads(next((workdir / "site.runs").glob("*.json")).read_text(encoding="utf-8"))
    outcome = (
        "réussie"
        if record["outcome"] == "succès"
        else f"**refusée à l'étape « {record['error']['step']} »** : {record['error']['message']}"
    )
    steps = {s["step"]: s["seconds"] for s in record["steps"]}
    per_page = [p["seconds"] for p in record["portraits"]]
    pdfs = len(list((workdir / "site").resolve().rglob("*.pdf")))
    load = os.getloadavg()[0]
    pages = len(per_page) or 119
    papermill = []
    for code in SAMPLE:
        papermill.append(
            measure(
                [
                    sys.executable,
                    "-m",
                    "papermill",
                    str(settings.PORTRAIT_NOTEBOOK),
                    str(workdir / f"papermill-{code}.ipynb"),
                    "-r",
                    "territoire",
                    code,
                    "-p",
                    "publication",
                    "True",
                    "-k",
                    settings.KERNEL_NAME,
                    "--no-progress-bar",
                ],
                env=env,
                cwd=settings.PROJECT_ROOT,
            ).seconds
        )
    portraits_s = steps["portraits"]
    if not per_page:  # a refused refresh records no portrait list: time from the step only
        per_page = [portraits_s / 119]
    per_portrait = portraits_s / pages
    papermill_each = statistics.median(papermill)
    n = formatting.number
    rows = "\n".join(f"| {step} | {n(seconds, 1)} s |" for step, seconds in steps.items())
    return f"""## Actualisation (`observatory refresh`, données de démonstration)

Actualisation complète ({outcome}) : **{
        n(whole.seconds, 1)
    } s**, pic de mémoire du processus principal
{n(whole.peak_mb)} Mo ; {n(pages)} portraits (101 départements, 18 régions), {
        n(record["counts"].get("secret_cells_checked", 0))
    } cellules masquées vérifiées par l'audit du secret ; {n(pdfs)} notes imprimables (PDF, une par
portrait, imprimées par Chromium dans l'étape des portraits). Charge de la machine (moyenne sur une
minute) à la fin : {n(load, 1)}.

| étape | durée |
| --- | --- |
{rows}

Portraits : **{n(portraits_s, 1)} s** pour {n(pages)} portraits (objectif : moins de 300 s), soit
{n(per_portrait, 2)} s par portrait en temps écoulé avec {n(record["counts"]["workers"])}
processus de rendu (un noyau Jupyter chacun) ; temps propre d'un portrait dans son noyau : médiane
{n(statistics.median(per_page), 2)} s, maximum {n(max(per_page), 2)} s (premier portrait de chaque
noyau compris).

Alternative évidente, un appel `papermill` (donc un noyau) par portrait, mesurée dans la même
exécution sur {len(SAMPLE)} départements : médiane {n(papermill_each, 1)} s par portrait, soit
{n(papermill_each * pages / 60, 1)} min pour {n(pages)} portraits ; l'actualisation est
**{n(papermill_each / per_portrait, 1)} fois plus rapide** par portrait.
"""
