"""`make bench`: run every benchmark of the project and write benchmarks/RESULTS.md.

Each benchmark module exposes ``run(workdir) -> str`` returning a Markdown section; this script
adds the machine and the date, so figures are never read without their context.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import duckdb

from observatory import formatting

RESULTS = Path(__file__).with_name("RESULTS.md")
MODULES = [
    "bench_build",
    "bench_ingest",
    "bench_indicators",
    "bench_dashboards",
    "bench_load",
    "bench_refresh",
]


def machine() -> str:
    """One line describing the machine the figures were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cœurs, {memory_gb:.0f} Gio de mémoire, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}"
    )


def main(selected: list[str]) -> None:
    """Run the ``selected`` benchmarks (all by default). A partial run replaces only its own
    sections of RESULTS.md and says so in the header; the others keep their date. RESULTS.md is
    written after each benchmark, so that one that fails later loses nothing measured before."""
    sections = []
    with tempfile.TemporaryDirectory(prefix="observatory-bench-") as tmp:
        for name in selected or MODULES:
            module = importlib.import_module(f"benchmarks.{name}")
            print(f"benchmark {name}…", file=sys.stderr, flush=True)
            workdir = Path(tmp) / name
            workdir.mkdir()
            sections.append(module.run(workdir))
            write(sections, partial=bool(selected) or len(sections) < len(MODULES))
    print(f"écrit : {RESULTS}", file=sys.stderr)


def write(sections: list[str], partial: bool) -> None:
    """RESULTS.md with ``sections``; a ``partial`` run keeps the other sections as they were."""
    now = datetime.now()
    stamp = f"{formatting.long_date(now)} à {now:%H:%M}"
    header = (
        f"Mesurés le {stamp} sur : {machine()}.\n"
        "Produit par `make bench` (`python -m benchmarks.run`) ; ne pas modifier à la main.\n"
    )
    if partial and RESULTS.exists():
        previous = RESULTS.read_text(encoding="utf-8")
        head, *old = previous.split("\n## ")
        kept = {section.splitlines()[0]: "## " + section for section in old}
        for section in sections:
            kept[section.lstrip("# ").splitlines()[0]] = section.rstrip("\n") + "\n"
        titles = ", ".join(section.lstrip("# ").splitlines()[0] for section in sections)
        line = f"Mis à jour le {stamp} (même machine) : {titles}.\n"
        lines = head.split("\n", 2)[2].split("\nProduit par")[0].strip()
        if not lines.endswith(line.strip()):
            lines += "\n" + line.strip()
        header = (
            lines
            + "\n"
            + "Produit par `make bench` (`python -m benchmarks.run`) ; ne pas modifier à la main.\n"
        )
        sections = list(kept.values())
    RESULTS.write_text(
        "# Résultats des benchmarks\n\n"
        + header
        + "\n"
        + "\n".join(section.rstrip("\n") + "\n" for section in sections),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(sys.argv[1:])
