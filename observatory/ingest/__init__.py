"""Readers of the real sources, one module per source, and the atomic load into the warehouse.

- ``sirene``: SIRENE stock files (StockEtablissement, StockUniteLegale), CSV, zip or Parquet;
- ``insee_tables``: INSEE tabulations (xls, xlsx, csv) with title rows and several blocks;
- ``urssaf``: Urssaf's open ESS dataset;
- ``essfrance``: ESS France's list of ESS companies (SIREN);
- ``cress``: the CRESS tidy template (docs/ingestion.md);
- ``structures``: the directory of support structures (docs/support.md);
- ``plan``: the regional ESS plan: axes, actions, indicators, events (docs/support.md).

    >>> from observatory.ingest import ingest
    >>> ingest([Path("data/raw/sirene/2024-01/StockEtablissement_utf8.zip")])
"""

from observatory.ingest.files import IngestError
from observatory.ingest.pipeline import LoadReport, detect_source, ingest

__all__ = ["IngestError", "LoadReport", "detect_source", "ingest"]
