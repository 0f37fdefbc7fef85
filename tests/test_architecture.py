"""The package import graph of helpdesk/ has no cycle, so dependencies point one way.

Each feature package (helpdesk/<name>/) is a node, and so is each top-level module
(helpdesk/<name>.py); helpdesk/__init__.py, the app factory, is the node "helpdesk".
Every import counts, at module level or inside a function (also under TYPE_CHECKING):
`import helpdesk.x.y`, `from helpdesk.x import y`, `from helpdesk import x` and relative
imports. The graph is read from the source with `ast`, nothing is imported.

Besides having no cycle, the graph keeps three kinds of top-level modules in their place:
infrastructure imports only infrastructure, the web shell sits between auth and the
other features, and only composition modules import composition modules.
`python -m tests.test_architecture` prints the graph, layer by layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "helpdesk"

# Settings, database, text, queues, request plumbing, processes, the sandbox user-written
# templates render in and small rules every layer may use; they import no feature
# package, only each other.
INFRASTRUCTURE = frozenset(
    {
        "charts",
        "config",
        "db",
        "embedded_redis",
        "input_bounds",
        "maildomain",
        "migrate",
        "normalize",
        "processes",
        "queue",
        "template_formatting",
        "template_sandbox",
        "text",
        "web",
    }
)
# Navigation entries filtered by role, and the language switch (a public view): they
# need auth, and every feature's pages use them.
WEB_SHELL = frozenset({"i18n", "nav"})
# What puts the application together: the app factory, the schema for Alembic, the
# command line, the RQ worker and the demo data. They may import anything.
COMPOSITION = frozenset({"helpdesk", "models", "cli", "worker", "demo", "demo_content"})


def import_graph(root: Path) -> dict[str, dict[str, list[str]]]:
    """For the package in directory `root`: node -> {imported node: ["file:line", ...]}."""
    package = root.name
    graph: dict[str, dict[str, list[str]]] = {}

    def node_of(module: str) -> str | None:
        parts = module.split(".")
        if parts[0] != package:
            return None
        if len(parts) > 1 and ((root / parts[1]).is_dir() or (root / f"{parts[1]}.py").exists()):
            return parts[1]
        return package  # the package itself, or a name its __init__.py defines

    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        module_parts = parts[:-1] if is_init else parts
        source = node_of(".".join(module_parts))
        edges = graph.setdefault(source, {})
        # A relative import counts from the package the module is in.
        here = module_parts if is_init else module_parts[:-1]
        for statement in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(statement, ast.Import):
                targets = [alias.name for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom):
                base = statement.module or ""
                if statement.level:
                    up = here[: len(here) - (statement.level - 1)]
                    base = ".".join([*up, *([base] if base else [])])
                # `from package import name`: a module of the package, or a name in it.
                targets = [f"{base}.{alias.name}" for alias in statement.names]
            else:
                continue
            where = f"{path.relative_to(root.parent)}:{statement.lineno}"
            for imported in sorted({node_of(target) for target in targets} - {None, source}):
                edges.setdefault(imported, []).append(where)
    return graph


def find_cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """One cycle (first node repeated at the end) for each group of nodes that import
    each other, directly or through others."""
    components = _strongly_connected(graph)
    cycles = []
    for component in components:
        if len(component) < 2:
            continue
        start = min(component)
        cycles.append([*_path_back(graph, start, component), start])
    return sorted(cycles)


def _strongly_connected(graph: dict[str, dict[str, list[str]]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative; the graph is small but deep recursion is not needed."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
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
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _path_back(graph: dict[str, dict[str, list[str]]], start: str, within: set[str]) -> list:
    """The shortest path from `start` through `within` back to `start`, without the end."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, {})):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return path[::-1]
                if child in within and child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is on no cycle within {sorted(within)}")


def describe_cycle(graph: dict[str, dict[str, list[str]]], cycle: list[str]) -> str:
    steps = [" -> ".join(cycle)]
    for source, target in zip(cycle, cycle[1:], strict=False):
        steps.append(f"  {source} -> {target}: {', '.join(graph[source][target])}")
    return "\n".join(steps)


def refused(source: str, target: str) -> bool:
    """Whether `source` may not import `target` whatever the rest of the graph."""
    if source in INFRASTRUCTURE:
        return target not in INFRASTRUCTURE
    if source in WEB_SHELL:
        return target not in INFRASTRUCTURE | WEB_SHELL | {"auth"}
    if source == "auth":
        return target in WEB_SHELL | COMPOSITION
    return target in COMPOSITION and source not in COMPOSITION


def layering_violations(graph: dict[str, dict[str, list[str]]], root: Path = ROOT) -> list[str]:
    """Imports that break the rules for infrastructure, web-shell and composition modules,
    and top-level modules that none of those lists names."""
    violations = [
        f"{source} must not import {target}: {', '.join(places)}"
        for source, edges in sorted(graph.items())
        for target, places in sorted(edges.items())
        if refused(source, target)
    ]
    features = {name for name in graph if (root / name).is_dir()}
    unclassified = sorted(set(graph) - features - INFRASTRUCTURE - WEB_SHELL - COMPOSITION)
    violations += [f"{name}: say in tests/test_architecture.py what it is" for name in unclassified]
    return violations


def layers(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The nodes in layers, each importing only from layers before it (needs no cycle)."""
    placed: dict[str, int] = {}
    remaining = set(graph) | {t for edges in graph.values() for t in edges}
    while remaining:
        ready = {n for n in remaining if all(t in placed for t in graph.get(n, {}))}
        if not ready:
            raise AssertionError(f"a cycle among {sorted(remaining)}")
        for node in ready:
            placed[node] = max((placed[t] + 1 for t in graph.get(node, {})), default=0)
        remaining -= ready
    return [
        sorted(n for n, layer in placed.items() if layer == number)
        for number in range(max(placed.values()) + 1)
    ]


def test_helpdesk_packages_import_each_other_in_no_cycle():
    graph = import_graph(ROOT)

    cycles = find_cycles(graph)

    assert not cycles, "import cycles between helpdesk's packages:\n" + "\n".join(
        describe_cycle(graph, cycle) for cycle in cycles
    )


def test_infrastructure_web_shell_and_composition_modules_stay_in_their_place():
    assert layering_violations(import_graph(ROOT)) == []


def test_no_feature_imports_the_mail_in_pipeline():
    graph = import_graph(ROOT)

    importers = {source for source, edges in graph.items() if "inbound" in edges}

    assert importers <= COMPOSITION, sorted(importers - COMPOSITION)


# --- the checker itself ---------------------------------------------------------------


def write_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_a_cycle_through_a_function_level_and_a_relative_import_is_reported(tmp_path):
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "def later():\n    from pkg.b.mod import thing\n",
            "b/__init__.py": "",
            "b/mod.py": "import os\n\nfrom ..c import helper\n\nthing = 1\n",
            "c.py": "from pkg import a\n\nhelper = 2\n",
        },
    )
    graph = import_graph(package)

    cycles = find_cycles(graph)

    assert cycles == [["a", "b", "c", "a"]]
    message = describe_cycle(graph, cycles[0])
    assert "a -> b: pkg/a/__init__.py:2" in message
    assert "b -> c: pkg/b/mod.py:3" in message
    assert "c -> a: pkg/c.py:1" in message


def test_imports_within_a_package_and_of_the_package_s_own_names_are_told_apart(tmp_path):
    package = write_package(
        tmp_path,
        {
            "__init__.py": "app = object()\n",
            "a/__init__.py": "from . import models\nfrom .models import Row\nimport pkg.a.models\n",
            "a/models.py": "from pkg import app\nfrom pkg.b import x as y\n",
            "b.py": "x = 1\n",
        },
    )

    graph = import_graph(package)

    assert {source: set(edges) for source, edges in graph.items()} == {
        "pkg": set(),
        "a": {"pkg", "b"},
        "b": set(),
    }
    assert find_cycles(graph) == []


def test_an_infrastructure_module_importing_a_feature_is_refused():
    graph = {"db": {"tickets": ["helpdesk/db.py:3"]}, "tickets": {"db": ["x.py:1"]}}

    assert layering_violations(graph) == ["db must not import tickets: helpdesk/db.py:3"]


def test_a_feature_importing_a_composition_module_is_refused():
    graph = {"tickets": {"helpdesk": ["helpdesk/tickets/views.py:9"]}, "helpdesk": {}}

    assert layering_violations(graph) == [
        "tickets must not import helpdesk: helpdesk/tickets/views.py:9"
    ]


def test_a_new_top_level_module_must_be_given_its_place():
    assert layering_violations({"gadgets": {}}) == [
        "gadgets: say in tests/test_architecture.py what it is"
    ]


def main() -> None:
    graph = import_graph(ROOT)
    for number, nodes in enumerate(layers(graph)):
        print(f"layer {number}:")
        for node in nodes:
            print(f"  {node} -> {', '.join(sorted(graph.get(node, {}))) or '(nothing)'}")


if __name__ == "__main__":
    main()
