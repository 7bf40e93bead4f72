"""The package layers import one way and no two modules import each other (directly or around a loop).

Layers, top to bottom: the CLI (counterwatch.cli) -> the API, the runtime, the county link and the tools that drive
the runtime or read the stored record (monitor_api, counterwatch.runtime, counterwatch.county, TOOLS) -> the
application's domain (the rest of counterwatch: config, perception, rules, incidents, learning, evaluation, ...) ->
vision -> models and cameras.
Every import of a project module counts, also those inside functions."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("cameras", "models", "vision", "counterwatch", "monitor_api")
# Clip evaluation runs the runtime's per-camera pipeline (and reports on it); dataset export reads the hall database.
TOOLS = ("counterwatch.evaluation.clip_run", "counterwatch.evaluation.clip_report", "counterwatch.dataset.export")


def _rank(module: str) -> int:
    if module == "counterwatch.cli" or module.startswith("counterwatch.cli."):
        return 4
    if module.startswith(("monitor_api", "counterwatch.runtime", "counterwatch.county")) or module in TOOLS:
        return 3
    if module.startswith("counterwatch"):
        return 2
    if module.startswith("vision"):
        return 1
    return 0


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(module: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {module: set(_imports(module, path, modules)) for module, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
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
                    work.append((child, iter(sorted(graph[child]))))
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


def test_no_two_modules_import_each_other():
    assert _cycles(_graph()) == []


def test_layers_import_downwards_only():
    upward = sorted((module, target) for module, targets in _graph().items() for target in targets
                    if _rank(target) > _rank(module))
    assert upward == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
