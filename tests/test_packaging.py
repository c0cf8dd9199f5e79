"""Project files that users and CI rely on agree with each other."""

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
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


def test_ci_runs_lint_then_the_readme_test_command():
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip().startswith("make")
    ]
    assert commands == ["make lint", "make test"]
    readme = (ROOT / "README.md").read_text()
    for command in ("make demo", "make test", "make lint", "make test-fast", "make bench"):
        assert f"`{command}`" in readme, command


def test_make_help_lists_every_target_with_one_line():
    import subprocess

    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY: (.+)$", makefile, re.MULTILINE).group(1).split()
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True
    ).stdout.splitlines()
    listed = [line.split()[1] for line in shown]
    assert sorted(listed) == sorted(phony)
    assert all(len(line.split(maxsplit=2)) == 3 for line in shown)  # a description each


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


DASHBOARDS_UNIT = ROOT / "deploy" / "observatoire-tableaux.service"
NGINX_CONF = ROOT / "deploy" / "nginx-observatoire.conf"


def test_deploy_ships_a_confined_systemd_service_for_the_dashboards(tmp_path):
    """``observatory serve`` as a service: an unprivileged user, the whole service within
    memory, processor and open-file limits, a read-only system and a private /tmp; checked by
    ``systemd-analyze verify`` where systemd is installed."""
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(DASHBOARDS_UNIT)
    service = unit["Service"]
    assert service["ExecStart"].endswith(
        "/.venv/bin/observatory serve --host 127.0.0.1 --port 8866"
    )
    assert service["User"] and service["User"] != "root"
    expected = {
        "ProtectSystem": "strict",
        "PrivateTmp": "true",
        "NoNewPrivileges": "true",
        "ProtectHome": "true",
        "Restart": "on-failure",
    }
    assert {key: service.get(key) for key in expected} == expected
    assert re.fullmatch(r"\d+[KMGT]", service["MemoryMax"])
    assert re.fullmatch(r"\d+%", service["CPUQuota"])
    assert int(service["LimitNOFILE"]) >= 16_384  # about 9 files per visitor's socket
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    verify = shutil.which("systemd-analyze")
    if verify is None:
        return
    # systemd-analyze checks that ExecStart exists: point it at this checkout's command.
    local = tmp_path / DASHBOARDS_UNIT.name
    local.write_text(
        DASHBOARDS_UNIT.read_text().replace(
            "/opt/observatoire/.venv/bin/observatory",
            str(Path(sys.executable).with_name("observatory")),
        )
    )
    result = subprocess.run([verify, "verify", str(local)], capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, "")  # an unknown or bad line is a warning


def test_deploy_ships_an_nginx_configuration_that_limits_visitors_and_closes_voilas_query_route():
    text = NGINX_CONF.read_text()
    assert "server_tokens off;" in text
    assert re.search(r"location /voila/query/ \{\s*return 403;\s*\}", text)
    assert re.search(r"limit_req_zone \$binary_remote_addr zone=observatoire_pages:\S+ rate=", text)
    assert re.search(r"location /voila/render/ \{\s*limit_req zone=observatoire_pages", text)
    assert re.search(r"^\s*limit_conn observatoire_connexions \d+;", text, re.M)
    assert "server 127.0.0.1:8866;" in text
    websockets = text[text.index("location /api/kernels/") :]
    websockets = websockets[: websockets.index("}")]
    assert "proxy_set_header Upgrade $http_upgrade;" in websockets
    assert "proxy_set_header Connection $connection_upgrade;" in websockets
    # A block with its own proxy_set_header inherits none from the server: every one of them
    # must pass the visitor's address, which the server's limits per address read.
    code = re.sub(r"#.*", "", text)
    locations = re.findall(r"location\s+[^{]+\{([^}]*)\}", code)
    assert all("X-Real-IP $remote_addr" in b for b in locations if "proxy_set_header" in b)
    assert "X-Real-IP $remote_addr" in code[: code.index("location")]  # the server's own
    assert "alias /var/www/observatoire/site/;" in text  # OBSERVATORY_SITE of both services


def test_the_nginx_configuration_passes_nginx_t(tmp_path):
    nginx = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if nginx is None:
        pytest.skip("nginx absent de cette machine : seul le contenu du fichier est vérifié")
    (tmp_path / "logs").mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n    access_log {tmp_path}/logs/access.log;\n    include {NGINX_CONF};\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr


def _climbs(source: str, depth: int) -> list[tuple[int, str]]:
    """Filesystem paths in ``source`` (a module ``depth`` folders below the repository root)
    that reach above the root: ``Path(__file__)`` with more parents than ``depth``, a parent of
    the root (``ROOT``, ``PROJECT_ROOT``, ``REAL_DATA``) and a ``..`` joined to a path."""
    import ast

    roots = {"ROOT", "PROJECT_ROOT", "REAL_DATA"}
    found = []

    def climbed(node) -> int | None:
        """Levels taken above ``__file__`` by ``node``, or None if not a path from __file__."""
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Path":
            return 0 if any(getattr(a, "id", None) == "__file__" for a in node.args) else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return climbed(node.func.value) if node.func.attr == "resolve" else None
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            below = climbed(node.value)
            return None if below is None else below + 1
        if isinstance(node, ast.Subscript) and getattr(node.value, "attr", None) == "parents":
            below = climbed(node.value.value)
            index = getattr(node.slice, "value", None)
            return None if below is None or not isinstance(index, int) else below + index + 1
        return None

    for node in ast.walk(ast.parse(source)):
        up = climbed(node)
        if up is not None and up > depth + 1:  # parents[0] is the file's own folder
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Attribute) and node.attr in ("parent", "parents"):
            base = node.value
            name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
            if name in roots:
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            parts = [
                side.value.split("/")
                for side in (node.left, node.right)
                if isinstance(side, ast.Constant) and isinstance(side.value, str)
            ]
            if any(".." in p or p == ["shared"] for p in parts):
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_path_check_catches_what_broke_fresh_clones():
    assert _climbs('REAL = ROOT.parent / "voisin" / "data"', 1)
    assert _climbs('REAL = Path(__file__).resolve().parents[2] / "voisin"', 1)
    assert _climbs("HERE = Path(__file__).parent.parent.parent", 1)
    assert _climbs('DATA = settings.PROJECT_ROOT / ".." / "data"', 1)
    assert not _climbs("ROOT = Path(__file__).resolve().parents[1]", 1)
    assert not _climbs('SQL = Path(__file__).resolve().parents[1] / "sql"', 2)
    assert not _climbs('url = "/voila/files/../voila.json"', 1)


def test_no_code_reads_outside_the_repository():
    offending = []
    for folder in ("observatory", "tests", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            depth = len(path.relative_to(ROOT).parts) - 1
            offending += [
                f"{path.relative_to(ROOT)}:{line}: {code}"
                for line, code in _climbs(path.read_text(), depth)
            ]
    assert offending == []
