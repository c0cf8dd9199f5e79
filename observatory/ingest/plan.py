"""The regional ESS plan: four CSV (or Excel) files following data/templates/plan_*.csv
(axes, actions, indicators, events), recognised by their columns and documented in
docs/support.md. References between them (an action's axis, an indicator's action) are checked
once every file of the call is loaded, so the files may come in any order."""

from __future__ import annotations

import duckdb
import pandas as pd

from observatory import plan
from observatory.ingest.files import IngestError, RawFile
from observatory.ingest.structures import read_table, store_rejects

SOURCE = "plan"
NEEDS_VINTAGE = False


def matches(header: list[str]) -> bool:
    return plan.kind_of(header) is not None


def load(con: duckdb.DuckDBPyConnection, raw: RawFile) -> tuple[int, int]:
    """Load one plan file; returns (rows read, rows rejected)."""
    rows, broken = read_table(con, raw, "le plan régional")
    kind = plan.kind_of([str(c) for c in rows.columns if c != "line"])
    if kind is None:
        raise IngestError(
            f"{raw.name} : ce n'est pas un fichier du plan régional (colonnes attendues, selon le "
            "fichier : " + " ; ".join(", ".join(k.required) for k in plan.KINDS.values()) + ")"
        )
    frame, problems = plan.validate(kind, rows)
    file, loaded_at = con.execute("SELECT file, loaded_at::VARCHAR FROM load_context").fetchall()[0]
    plan.store(con, kind, frame, synthetic=False, file=file, loaded_at=loaded_at)
    store_rejects(con, pd.concat([broken, problems], ignore_index=True))
    return len(rows) + len(broken), len(problems) + len(broken)
