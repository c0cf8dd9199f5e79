"""Speed of a full portrait (every indicator, secrecy applied) on the national warehouse.

Measures the median and worst case over the 101 départements, a fixed sample of 200
communes each computed first (the cells of its département, shared by all of its communes and
EPCIs, built for it: the worst case) and the 342 communes of Hérault in a row (the shared cells
built once, as an analyst or a dashboard goes from commune to commune), and compares with the
obvious alternative: reading the territory's rows of
``ess_facts`` and aggregating them with pandas (key figures, families, sectors only, no
secrecy). ``run(db_path)`` returns a Markdown section; ``make bench`` prints it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from observatory import formatting, indicators, open_warehouse
from observatory.indicators.static import _static

COMMUNE_SAMPLE = 200
TARGET_MS = 100


def _timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return 1000 * (time.perf_counter() - started)


def _pandas_portrait(wh, level: str, code: str, year: int) -> None:
    """The obvious alternative: the finest facts of the territory, aggregated with pandas."""
    facts = wh.sql(
        """
        SELECT f.year, f.family_code, s.a21_code, s.a38_code, s.a88_code, f.establishments,
               f.employees, f.fte, f.gross_wages
        FROM ess_facts AS f
        JOIN territory_communes AS tc USING (commune_code)
        JOIN sectors AS s USING (naf_code)
        WHERE tc.level = $level AND tc.code = $code
        """,
        dict(level=level, code=code),
    )
    measures = ["establishments", "employees", "fte", "gross_wages"]
    facts.groupby("year")[measures].sum()
    current = facts[facts["year"] == year]
    for key in ("family_code", "a21_code", "a38_code", "a88_code"):
        current.groupby(key)[measures].sum()


def _stats(times: list[float]) -> tuple[str, str]:
    return formatting.number(statistics.median(times), 1), formatting.number(max(times), 1)


def run(workdir) -> str:
    """Build the national demo warehouse, benchmark the portraits, return the Markdown section."""
    db_path = Path(workdir) / "observatory.duckdb"
    subprocess.run(
        [sys.executable, "-m", "observatory.cli", "build", "--db", str(db_path)],
        check=True,
        capture_output=True,
    )
    with open_warehouse(db_path) as wh:
        year = wh.years()[-1]
        cold = _timed(indicators.compute, wh, "france", "FR", year)  # loads the static cache
        departements = wh.sql(
            "SELECT code FROM territories WHERE level = 'departement' ORDER BY code"
        )["code"].tolist()
        communes = wh.sql(
            "SELECT code FROM territories WHERE level = 'commune' "
            "ORDER BY hash(code), code LIMIT $n",
            dict(n=COMMUNE_SAMPLE),
        )["code"].tolist()
        herault = wh.sql(
            "SELECT code FROM territories WHERE level = 'commune' "
            "AND departement_code = '34' ORDER BY code"
        )["code"].tolist()
        static = _static(wh)
        rows = []
        for label, level, codes, first, stored in (
            ("Départements (101)", "departement", departements, False, True),
            (
                f"Communes (échantillon de {len(communes)}), chacune la première de son "
                "département",
                "commune",
                communes,
                True,
                True,
            ),
            (f"Communes de l'Hérault ({len(herault)}) à la suite", "commune", herault, False, True),
            (
                f"Les mêmes {len(communes)} communes, masques résolus à la première demande "
                "(entrepôt après `observatory ingest`)",
                "commune",
                communes,
                True,
                False,
            ),
        ):
            static.stored_masks = stored
            ours = []
            for code in codes:
                if first:  # nothing of its département read yet
                    static._commune_blocks.clear()
                    static._member_rows.clear()
                ours.append(_timed(indicators.compute, wh, level, code, year))
            naive = [_timed(_pandas_portrait, wh, level, code, year) for code in codes]
            rows.append(
                (label, *_stats(ours), *_stats(naive), "oui" if max(ours) < TARGET_MS else "non")
            )
    lines = [
        "## Indicateurs : portrait complet d'un territoire",
        "",
        f"Entrepôt national de démonstration, année {year} ; temps en millisecondes. "
        "« Bibliothèque » : tous les indicateurs, secret statistique appliqué "
        "(`observatory.indicators.compute`), les masques des communes étant ceux que "
        "`observatory build` a résolus et stockés (sauf dernière ligne). « pandas sur ess_facts » : "
        "lecture des faits du territoire et agrégations pandas (chiffres clés, familles, "
        "secteurs, sans secret).",
        "",
        "| territoires | bibliothèque : médiane | bibliothèque : pire cas | pandas sur ess_facts : "
        f"médiane | pandas sur ess_facts : pire cas | pire cas < {TARGET_MS} ms |",
        "| --- | ---: | ---: | ---: | ---: | :---: |",
        *[f"| {' | '.join(row)} |" for row in rows],
        "",
        f"Premier portrait d'un processus (chargement des dimensions en mémoire) : "
        f"{formatting.number(cold, 0)} ms.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(Path(sys.argv[1])))  # a working directory for the warehouse
