"""The layout the design fixes: supervisor, front-end, workers and CLI share only openclaw.ipc,
and no package has an import cycle (type-only imports count: they are how cycles creep back in)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("supervisor", "frontend", "workers", "ipc", "cli")


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            rel = path.relative_to(REPO / pkg).with_suffix("").as_posix().replace("/", ".")
            rel = rel.removesuffix("__init__").rstrip(".")
            mods[f"openclaw.{pkg}" + (f".{rel}" if rel else "")] = path
    return mods


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        base = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base.split(".")
                    parent = ".".join(parts[: len(parts) - node.level + 1])
                    target = f"{parent}.{node.module}" if node.module else parent
                else:
                    target = node.module or ""
                for t in [target, *(f"{target}.{a.name}" for a in node.names)]:
                    if t in mods and t != name:
                        graph[name].add(t)
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in mods)
    return graph


def test_process_packages_share_only_ipc() -> None:
    crossing = [
        (a, b) for a, targets in _graph().items() for b in targets
        if a.split(".")[1] != b.split(".")[1] and b.split(".")[1] != "ipc"
    ]
    assert crossing == []


def test_ipc_imports_nothing_else_of_ours() -> None:
    assert [(a, b) for a, t in _graph().items() for b in t if a.startswith("openclaw.ipc") and not b.startswith("openclaw.ipc")] == []


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []
