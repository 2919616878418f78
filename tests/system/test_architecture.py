"""The code's shape, checked from its imports (every import, including those inside functions): the areas under
server/ import each other without a cycle, so each has a place in the layers of DESIGN.md §7 (a lower one never
imports a higher one), and schemas/, the contracts every side shares, imports none of them."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("server", "sync", "devices", "schemas")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each module's imported modules (absolute and relative, at any depth in the file), migrations left out."""
    graph: dict[str, set[str]] = defaultdict(set)
    for top in SOURCES:
        for path in (REPO / top).rglob("*.py"):
            if "piccolo_migrations" in path.parts:
                continue
            module = _module_name(path)
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    graph[module].update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = package.split(".")[: len(package.split(".")) - node.level + 1]
                        target = ".".join([*base, node.module] if node.module else base)
                    else:
                        target = node.module or ""
                    graph[module].add(target)
                    graph[module].update(f"{target}.{alias.name}" for alias in node.names)
    return graph


def area_of(module: str) -> str | None:
    """The package under server/ a module belongs to (server.sales.service → server.sales; server.db → server.db)."""
    parts = module.split(".")
    if parts[0] != "server" or len(parts) < 2:
        return None
    return ".".join(parts[:2])


def _known_modules(graph: dict[str, set[str]]) -> set[str]:
    return set(graph)


def area_graph() -> dict[str, set[str]]:
    graph = _imports()
    known = _known_modules(graph)
    areas: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        source = area_of(module)
        if source is None:
            continue
        for target in targets:
            if target not in known:
                continue
            destination = area_of(target)
            if destination is not None and destination != source:
                areas[source].add(destination)
    return areas


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_areas_under_server_import_each_other_without_a_cycle():
    cycle = find_cycle(area_graph())
    assert cycle is None, "import cycle among server/ areas: " + " → ".join(cycle or [])


def test_no_module_takes_part_in_an_import_cycle():
    graph = _imports()
    known = _known_modules(graph)
    modules = {module: {t for t in targets if t in known and t != module} for module, targets in graph.items()}
    # A package's __init__ importing its own modules is how Python packages work, not a cycle of the design.
    for module, targets in modules.items():
        targets.difference_update({t for t in targets if module.startswith(t + ".")})
    cycle = find_cycle(modules)
    assert cycle is None, "import cycle among modules: " + " → ".join(cycle or [])


def test_schemas_import_nothing_of_the_server_sync_or_devices():
    graph = _imports()
    offending = sorted(f"{module} imports {target}" for module, targets in graph.items() if module.startswith("schemas")
                       for target in targets if target.split(".")[0] in ("server", "sync", "devices"))
    assert not offending, offending
