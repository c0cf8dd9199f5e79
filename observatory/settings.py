"""Paths and settings of the observatory, in one place.

Every path can be overridden by an environment variable so that tests, the scheduled
refresh and a deployment can point the package somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
REFERENCE_DIR = Path(os.environ.get("OBSERVATORY_REFERENCE_DIR", DATA_DIR / "reference"))
DASHBOARDS_DIR = PROJECT_ROOT / "dashboards"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

DEFAULT_DB_PATH = DATA_DIR / "observatory.duckdb"
DEFAULT_RAW_DIR = DATA_DIR / "raw"
DEFAULT_SITE_DIR = PROJECT_ROOT / "site"
PORTRAIT_NOTEBOOK = NOTEBOOKS_DIR / "02-portrait-territoire.ipynb"

# Région shown by default in dashboards: Occitanie.
DEFAULT_REGION = os.environ.get("OBSERVATORY_REGION", "76")

# One Jupyter kernel name used by every notebook, dashboard and papermill run.
KERNEL_NAME = "observatory"
# The same kernel as served by `observatory serve`: without the debugger, which visitors cannot
# use and which took 0,5 s of each kernel's start (Jupyter reads it first, through JUPYTER_PATH).
SERVED_KERNELS_PATH = PROJECT_ROOT / "deploy" / "jupyter"

VOILA_HOST = "127.0.0.1"
VOILA_PORT = 8866

DEMO_LABEL = "Données de démonstration"

# Headless Chromium printing the notes to PDF: Debian's package (`make chromium`).
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")


def db_path() -> Path:
    """Path of the warehouse file: ``$OBSERVATORY_DB`` or ``data/observatory.duckdb``."""
    return Path(os.environ.get("OBSERVATORY_DB", DEFAULT_DB_PATH)).expanduser()


def raw_dir() -> Path:
    """Drop zone of raw files, ``<source>/<vintage>/<file>``: ``$OBSERVATORY_RAW`` or ``data/raw``."""
    return Path(os.environ.get("OBSERVATORY_RAW", DEFAULT_RAW_DIR)).expanduser()


# Publishers of the open files fetched by `observatory download` (observatory/publish/sources.py).
# The API bases and dataset ids can be overridden, for the tests' local server or a mirror.
DATAGOUV_API = "https://www.data.gouv.fr/api/1"
URSSAF_API = "https://open.urssaf.fr/api/explore/v2.1"
# « Base Sirene des entreprises et de leurs établissements (SIREN, SIRET) », INSEE.
SIRENE_DATASET = "5b7ffc618b4c4169d30727e0"
# « Liste des entreprises de l'ESS », ESS France (liste-des-entreprises-de-less).
ESSFRANCE_DATASET = "646c8d45de96cc3428092c6b"
# Urssaf: establishments, average employees and wage bill by ESS family × NA88 × year, by
# région and for France.
URSSAF_ESS_DATASETS = (
    "nombre-etab-effectifs-salaries-et-masse-salariale-ess-regions-x-na88,"
    "nombre-etab-effectifs-salaries-et-masse-salariale-ess-france-x-na88"
)


def datagouv_api() -> str:
    """data.gouv.fr's API v1: ``$OBSERVATORY_DATAGOUV_API`` or the public one."""
    return os.environ.get("OBSERVATORY_DATAGOUV_API", DATAGOUV_API).rstrip("/")


def urssaf_api() -> str:
    """open.urssaf.fr's Explore API v2.1: ``$OBSERVATORY_URSSAF_API`` or the public one."""
    return os.environ.get("OBSERVATORY_URSSAF_API", URSSAF_API).rstrip("/")


def sirene_dataset() -> str:
    """data.gouv.fr id (or slug) of the SIRENE dataset: ``$OBSERVATORY_SIRENE_DATASET``."""
    return os.environ.get("OBSERVATORY_SIRENE_DATASET", SIRENE_DATASET)


def essfrance_dataset() -> str:
    """data.gouv.fr id (or slug) of ESS France's list: ``$OBSERVATORY_ESSFRANCE_DATASET``."""
    return os.environ.get("OBSERVATORY_ESSFRANCE_DATASET", ESSFRANCE_DATASET)


def urssaf_ess_datasets() -> list[str]:
    """Urssaf's ESS dataset ids: ``$OBSERVATORY_URSSAF_DATASETS`` (separated by commas)."""
    value = os.environ.get("OBSERVATORY_URSSAF_DATASETS", URSSAF_ESS_DATASETS)
    return [name.strip() for name in value.split(",") if name.strip()]


def site_dir() -> Path:
    """Static site written by ``observatory refresh``: ``$OBSERVATORY_SITE`` or ``site``."""
    return Path(os.environ.get("OBSERVATORY_SITE", DEFAULT_SITE_DIR)).expanduser()


def chromium_path() -> Path:
    """Chromium that prints the notes: ``$OBSERVATORY_CHROMIUM`` or Debian's ``/usr/bin/chromium``."""
    return Path(os.environ.get("OBSERVATORY_CHROMIUM", DEFAULT_CHROMIUM)).expanduser()
