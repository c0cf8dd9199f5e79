"""The ``observatory`` command as a user runs it: exit codes, messages, CSV output."""

import io

import pandas as pd
from conftest import run_cli, run_clis


def test_query_prints_csv_with_a_header(warehouse_path):
    result = run_cli(
        "query",
        "SELECT code, name FROM territories WHERE level = 'region' "
        "AND code IN ('76', '11') ORDER BY code",
        "--db",
        str(warehouse_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["code,name", "11,Île-de-France", "76,Occitanie"]


def test_query_keeps_codes_as_text(warehouse_path, wh):
    result = run_cli(
        "query",
        "SELECT code, ess_employees FROM key_figures WHERE level = "
        "'departement' AND year = 2020 ORDER BY code",
        "--db",
        str(warehouse_path),
    )
    frame = pd.read_csv(io.StringIO(result.stdout), dtype={"code": str})
    assert frame["code"].iloc[0] == "01"
    assert {"2A", "2B", "971"} <= set(frame["code"])
    expected = wh.key_figures("departement", year=2020).set_index("code")["ess_employees"]
    assert frame.set_index("code")["ess_employees"].to_dict() == expected.astype(int).to_dict()


def test_query_with_bad_sql_fails_with_one_line(warehouse_path):
    result = run_cli("query", "SELECT nothing FROM nowhere", "--db", str(warehouse_path))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Erreur : ") and "nowhere" in lines[0]


def test_query_cannot_write_to_the_warehouse(warehouse_path):
    result = run_cli("query", "DROP TABLE territories", "--db", str(warehouse_path))
    assert result.returncode == 1
    assert "read-only" in result.stderr.lower() or "read only" in result.stderr.lower()


def test_missing_warehouse_is_a_clear_error(tmp_path):
    commands = (["info"], ["query", "SELECT 1"], ["serve"])
    results = run_clis(*([*command, "--db", str(tmp_path / "none.duckdb")] for command in commands))
    for command, result in zip(commands, results):
        assert result.returncode == 1, command
        assert result.stderr.strip() == (
            f"Erreur : aucun entrepôt à {tmp_path / 'none.duckdb'} : lancez d'abord "
            "`observatory build`"
        )


def test_info_lists_sources_years_and_tables(warehouse_path):
    result = run_cli("info", "--db", str(warehouse_path))
    assert result.returncode == 0, result.stderr
    assert "Données de démonstration" in result.stdout
    assert "Années : 2014 à 2022 (9 millésimes)" in result.stdout
    for name in ("demo:ess_facts", "reference:communes", "ess_facts", "territories"):
        assert name in result.stdout


def test_unknown_command_and_option_exit_with_usage_error(tmp_path):
    unknown, result = run_clis(
        ["frobnicate"], ["build", "--db", str(tmp_path / "x.duckdb"), "--frobnicate"]
    )
    assert unknown.returncode == 2
    assert result.returncode == 2
    assert "--frobnicate" in result.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_served_kernels_start_without_the_debugger():
    """``observatory serve`` finds the kernel spec of deploy/jupyter first: the same kernel name
    as the notebooks', without the debugger (visitors cannot use it; it slowed each start)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    from observatory import settings

    specs = KernelSpecManager(kernel_dirs=[str(settings.SERVED_KERNELS_PATH / "kernels")])
    km = KernelManager(kernel_spec_manager=specs, kernel_name=settings.KERNEL_NAME)
    km.start_kernel()
    try:
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=120)
        client.kernel_info()
        info = client.get_shell_msg(timeout=60)["content"]
        assert info["status"] == "ok" and not info.get("debugger")
        outputs = []
        client.execute_interactive(
            "import sys; print(sorted(m for m in ('debugpy', 'pydevd') if sys.modules.get(m)), 6 * 7)",
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
            timeout=60,
        )
        assert "".join(outputs).strip() == "[] 42"
        client.stop_channels()
    finally:
        km.shutdown_kernel(now=True)


def test_query_reaches_no_file_network_extension_or_setting(warehouse_path, tmp_path):
    out = tmp_path / "x.csv"
    escapes = {
        f"COPY (SELECT 1 AS x) TO '{out}'": f"accès à « {out} » refusé",
        "SELECT * FROM read_csv('/etc/passwd')": "accès à « /etc/passwd » refusé",
        "SELECT * FROM glob('/root/*')": "accès à « /root/* » refusé",
        "INSTALL httpfs": "installation ou chargement d'extension refusé",
        "SET enable_external_access = true": "réglage « enable_external_access » refusé",
    }
    results = run_clis(*(["query", query, "--db", str(warehouse_path)] for query in escapes))
    for (query, message), result in zip(escapes.items(), results):
        assert result.returncode == 1, query
        assert result.stdout == "", query
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Erreur : {message}"), result.stderr
    assert not out.exists()


ENGLISH_HELP = ("Show this message", "Commands", "[default:", "[required]", "No such command")


def test_the_help_and_an_unknown_command_speak_french():
    """The help's own words were typer's English (« Show this message and exit. », « Commands »,
    « [default: demo] »); an analyst reads them in French."""
    results = run_clis(["--help"], ["build", "--help"], ["refresh", "--help"], ["bâtir"])
    for result in results[:3]:
        assert result.returncode == 0, result.stderr
        assert [words for words in ENGLISH_HELP if words in result.stdout] == []
        assert "Affiche cette aide." in result.stdout
    assert "Commandes" in results[0].stdout and "[défaut : demo]" in results[1].stdout
    assert results[3].returncode == 2
    assert "Commande inconnue : bâtir." in results[3].stderr
