"""The shape of the code: no import cycle in src/emolens, small modules and functions.

Imports are read from the source (every `import` statement, also those inside functions, which
still make one module depend on another), so a cycle cannot hide behind a lazy import. The layer
rules themselves are import-linter contracts (pyproject.toml) run by `make test`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 400  # a module has fewer lines than this
MAX_FUNCTION_LINES = 60  # and each function (or method) fewer than this, decorators and docstring included


def module_files() -> dict[str, Path]:
    """Dotted name -> file, for every module of src/emolens (a package is its __init__.py)."""
    out = {}
    for path in sorted((SRC / "emolens").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imported(tree: ast.AST, name: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The emolens modules a module's import statements name (`from pkg import mod` names pkg.mod)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up level - 1 more
                parts = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` where c is a name: its module
                target = target.rpartition(".")[0]
            if target.startswith("emolens") and target != name:
                yield target


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {
        name: set(imported(ast.parse(path.read_text()), name, path.name == "__init__.py", known))
        for name, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_graph_sees_lazy_and_package_imports():
    graph = import_graph()
    assert "emolens.train.runs" in graph["emolens.cli.evaluate"]  # imported inside a function
    assert "emolens.web.routers.journal.api" in graph["emolens.web.routers.journal"]  # from pkg import module
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_modules_and_functions_stay_small():
    too_long = []
    for name, path in module_files().items():
        text = path.read_text()
        if len(text.splitlines()) >= MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if node.end_lineno - first + 1 >= MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {node.end_lineno - first + 1} lines")
    assert not too_long, f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a function: {too_long}"


@pytest.mark.parametrize("folder", ["scripts", "benchmarks"])
def test_scripts_stay_small_too(folder):
    for path in (SRC.parent / folder).glob("*.py"):
        assert len(path.read_text().splitlines()) < MAX_MODULE_LINES, path.name


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_cli_finds_the_database_without_the_web():
    """The journal and session verbs read emolens.settings; only `serve` (and main, for serve's pixel limit)
    import the web package."""
    graph = import_graph()
    for module in ("emolens.cli.journal", "emolens.cli.session", "emolens.cli.common"):
        assert not {m for m in reachable(graph, module) if m.startswith("emolens.web")}, module
    assert "emolens.settings" in reachable(graph, "emolens.cli.journal")
    users = {m for m, deps in graph.items() if any(d.startswith("emolens.web") for d in deps)}
    assert {m for m in users if not m.startswith("emolens.web")} == {"emolens.cli.main", "emolens.cli.serve"}
