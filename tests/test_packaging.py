"""Project files that users and CI rely on agree with each other."""

import json
import re
import tomllib

import yaml

from conftest import ROOT
from observatory import settings

CONDA_NAMES = {"python-duckdb": "duckdb"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_declares_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {CONDA_NAMES.get(_name(d), _name(d)) for d in env["dependencies"] if isinstance(d, str)}
    pip = {_name(d) for d in env["dependencies"][-1]["pip"] if not d.startswith("-e")}
    assert wanted == (conda | pip) - {"python", "pip"}


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_notebooks_use_one_kernel_and_are_committed_without_outputs():
    notebooks = sorted(settings.DASHBOARDS_DIR.glob("*.ipynb")) + sorted(
        settings.NOTEBOOKS_DIR.glob("*.ipynb")
    )
    assert notebooks
    for path in notebooks:
        nb = json.loads(path.read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "observatory", path.name
        for cell in nb["cells"]:
            assert not cell.get("outputs"), path.name


def test_deploy_ships_a_cron_line_and_a_persistent_systemd_timer_running_the_refresh():
    import configparser

    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read(ROOT / "deploy" / "observatoire-refresh.service")
    assert service["Service"]["ExecStart"].endswith("/.venv/bin/observatory refresh")
    assert service["Service"]["Type"] == "oneshot"
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read(ROOT / "deploy" / "observatoire-refresh.timer")
    assert timer["Timer"]["Persistent"] == "true" and timer["Timer"]["OnCalendar"]
    lines = [
        line
        for line in (ROOT / "deploy" / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1
    minute, hour, *_ = lines[0].split()
    assert 0 <= int(minute) < 60 and 0 <= int(hour) < 24 and "observatory refresh" in lines[0]
    readme = (ROOT / "README.md").read_text()
    assert "deploy/observatoire-refresh.timer" in readme or "observatoire-refresh.service" in readme
