"""The rooms of the package keep to their rules (docs/architecture.md), read from the source with
the standard library's ``ast``: who may import whom, no cycle, no long module, no hidden
warehouse."""

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "observatory"
ENGINE = ("observatory.indicators", "observatory.secrecy", "observatory.warehouse")
PRESENTATION = ("observatory.views", "observatory.dashboards", "observatory.publish")
PRESENTATION_LIBRARIES = ("plotly", "ipywidgets")
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under ``if TYPE_CHECKING:`` (annotations, not run)."""
    hidden = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden |= {id(n) for child in node.body for n in ast.walk(child)}
    return hidden


def _imports(name: str) -> set[str]:
    """Every module ``name`` imports, at its top or inside a function: dotted names, resolved
    (``from observatory import x`` names the submodule ``x`` when there is one)."""
    tree = TREES[name]
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    hidden = _type_checking_only(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module
            for alias in node.names:
                child = f"{module}.{alias.name}"
                found.add(child if child in MODULES else module)
    return found


GRAPH = {name: {m for m in _imports(name) if m in MODULES and m != name} for name in MODULES}


def _within(name: str, rooms) -> bool:
    return any(name == room or name.startswith(room + ".") for room in rooms)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(GRAPH[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def _all_imports(room: str) -> set[str]:
    return {m for name in GRAPH if _within(name, [room]) for m in GRAPH[name]}


def test_the_graph_sees_the_packages_imports():
    # The reader itself: known edges are found (a function's import, a from-package import);
    # an import for annotations only (``if TYPE_CHECKING:``) is not an edge.
    assert "observatory.publish.refresh" in GRAPH["observatory.cli"]  # inside ``refresh()``
    assert "observatory.dashboards.common" not in GRAPH["observatory.dashboards.launch"]
    assert any(_within(m, ["observatory.secrecy"]) for m in _all_imports("observatory.indicators"))


def test_no_import_cycle_between_the_packages_modules():
    assert _cycles() == []


def test_views_never_import_the_dashboards():
    wrong = {
        (name, m)
        for name in GRAPH
        if _within(name, ["observatory.views"])
        for m in GRAPH[name]
        if _within(m, ["observatory.dashboards"])
    }
    assert wrong == set()


def test_the_engine_never_imports_presentation():
    wrong = {
        (name, m)
        for name in MODULES
        if _within(name, ENGINE)
        for m in _imports(name)
        if _within(m, PRESENTATION) or m.split(".")[0] in PRESENTATION_LIBRARIES
    }
    assert wrong == set()


def test_every_module_is_at_most_600_lines():
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def _unused_wh(name: str) -> list[str]:
    """Functions of ``name`` taking a ``wh`` argument they never read."""
    unused = []
    for node in ast.walk(TREES[name]):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        args = node.args
        names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        if "wh" not in names:
            continue
        body = ast.Module(body=node.body, type_ignores=[])
        if not any(isinstance(n, ast.Name) and n.id == "wh" for n in ast.walk(body)):
            unused.append(f"{name}.{node.name}:{node.lineno}")
    return unused


def test_every_wh_argument_is_used():
    assert [f for name in MODULES for f in _unused_wh(name)] == []


def test_the_dashboards_kernel_warehouse_is_used_only_inside_the_dashboards():
    # ``dashboards.common.warehouse()`` is a Voilà kernel's connection; everything else is handed
    # its ``wh``.
    wrong = []
    for name, tree in TREES.items():
        if _within(name, ["observatory.dashboards"]):
            continue
        for node in ast.walk(tree):
            called = (
                isinstance(node, ast.Attribute)
                and node.attr == "warehouse"
                and ast.unparse(node.value).endswith("common")
            )
            imported = (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").endswith("common")
                and any(a.name == "warehouse" for a in node.names)
            )
            if called or imported:
                wrong.append(f"{name}:{node.lineno}")
    assert wrong == []


def test_the_rules_catch_what_they_forbid(tmp_path):
    # A cycle and an unused ``wh`` written on purpose are found by the same readers.
    global GRAPH, TREES
    saved = GRAPH, TREES
    try:
        GRAPH = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        assert _cycles() == [["a", "b", "c"]]
        TREES = {"m": ast.parse("def f(wh, x):\n    return x\n\ndef g(wh):\n    return wh\n")}
        assert _unused_wh("m") == ["m.f:1"]
    finally:
        GRAPH, TREES = saved


@pytest.mark.parametrize(
    "room",
    [
        "indicators",
        "secrecy",
        "warehouse",
        "views",
        "publish",
    ],
)
def test_the_target_rooms_exist(room):
    assert (PACKAGE / room / "__init__.py").is_file()
