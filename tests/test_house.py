"""The shape of the house, read from the code: which audiogan module imports which.

The import graph (every ``import`` of an audiogan module, at the top of a file or inside a
function, but not under ``if TYPE_CHECKING:``) has no cycle and at most `MAX_FLOORS` floors
(a module that imports no other audiogan module is on floor 1, any other one floor above the
highest it imports); no module imports another's private name; and the command line starts
without librosa or torch.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "audiogan"
MAX_FLOORS = 6


def _module_name(path: Path) -> str:
    return "audiogan" if path.name == "__init__.py" else f"audiogan.{path.stem}"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST):
    """Every node of `tree` except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


@cache
def _modules() -> dict[str, ast.AST]:
    """Every module of the package but ``__main__``: the three lines ``python -m audiogan``
    runs, a door to the CLI that nothing imports, not a floor of the house."""
    return {_module_name(path): ast.parse(path.read_text("utf-8"), str(path))
            for path in sorted(PACKAGE.glob("*.py")) if path.name != "__main__.py"}


def _imports(tree: ast.AST, modules) -> list[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for each audiogan import in `tree`."""
    found: list[tuple[str, str | None]] = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names if alias.name in modules]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in modules:  # from audiogan import cache
                    found.append((submodule, None))
                elif node.module in modules:
                    found.append((node.module, alias.name))
    return found


def import_graph() -> dict[str, set[str]]:
    """audiogan module -> the audiogan modules it imports (itself and the package root
    left out: every ``import audiogan.x`` runs ``audiogan/__init__`` first)."""
    modules = _modules()
    return {name: {target for target, _ in _imports(tree, modules)} - {name, "audiogan"}
            for name, tree in modules.items()}


def floors(graph: dict[str, set[str]]) -> dict[str, int]:
    """Each module's floor: 1 when it imports no audiogan module, else one above the
    highest floor it imports. Raises `AssertionError` naming a cycle if there is one."""
    floor: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> int:
        if name in floor:
            return floor[name]
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name):], name]))
        path.append(name)
        floor[name] = 1 + max((visit(target) for target in graph[name]), default=0)
        path.pop()
        return floor[name]

    for name in graph:
        visit(name)
    return floor


def test_no_import_cycle_and_at_most_six_floors():
    graph = import_graph()
    floor = floors(graph)
    assert max(floor.values()) <= MAX_FLOORS, "\n".join(
        f"{n}: {name}" for name, n in sorted(floor.items(), key=lambda item: item[1]))


def test_the_house_shape_catches_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    try:
        floors(graph)
    except AssertionError as caught:
        assert str(caught) == "import cycle: a -> b -> c -> a"
    else:
        raise AssertionError("a cycle went unnoticed")
    assert floors({"cli": {"pipeline"}, "pipeline": {"types"}, "types": set()}) == {
        "cli": 3, "pipeline": 2, "types": 1}


def private_crossings() -> list[str]:
    """``"a imports b._name"`` for each private name one audiogan module takes from another."""
    modules = _modules()
    crossings = []
    for name, tree in modules.items():
        aliases = {}  # local name -> audiogan module, for `module._private` look-ups
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    if submodule in modules:
                        aliases[alias.asname or alias.name] = submodule
                    elif (node.module in modules and node.module != name
                          and alias.name.startswith("_") and not alias.name.startswith("__")):
                        crossings.append(f"{name} imports {node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in _runtime_nodes(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and aliases[node.value.id] != name
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                crossings.append(f"{name} uses {aliases[node.value.id]}.{node.attr}")
    return sorted(set(crossings))


def test_no_private_name_crosses_a_module():
    assert private_crossings() == []


def test_the_cli_starts_without_librosa_or_torch():
    heavy = ("librosa", "torch", "scipy", "numba", "pytorch_pretrained_biggan")
    code = ("import sys, audiogan, audiogan.cli; "
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == []
