"""The harness modules import one another without a circle (issue 6: qemu, renode and
run_stats used to import each other, some inside functions to dodge the cycle)."""

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "tinyml" / "harness"


def _imports(path: Path) -> set[str]:
    """Harness modules `path` imports anywhere in it (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("tinyml.harness."):
                found.add(node.module.rsplit(".", 1)[1])
            elif node.module == "tinyml.harness":
                found.update(a.name for a in node.names)
    return found


def test_no_import_circle():
    graph = {p.stem: _imports(p) for p in HARNESS.glob("*.py")}
    state: dict[str, str] = {}

    def visit(module, trail):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", "import circle: " + " -> ".join(trail + [module])
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            visit(dep, trail + [module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])
    assert "stats" in graph["qemu"] and "stats" in graph["renode"]
