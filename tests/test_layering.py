"""The package's shape, checked from its imports: layers without cycles, private stays private.

Every import counts, including those inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

SRC: Final = Path(__file__).resolve().parents[1] / "src"
PACKAGE: Final = SRC / "deephaven_mcp"

# The public face and the console entry point; everything else lives in a layer package.
TOP_LEVEL_FILES: Final = {"__init__.py", "_console.py", "_version.py", "errors.py", "py.typed"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: Final = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(module: str) -> Iterator[tuple[str, str | None]]:
    """(imported module, imported name or None) for each import of this package's code."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("deephaven_mcp"):
                    yield alias.name, None
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.startswith("deephaven_mcp")
        ):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in MODULES:
                    yield submodule, None
                else:
                    yield node.module, alias.name


def _is_private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _layer(module: str) -> str:
    """The layer a module belongs to: its first-level package, or itself at the top."""
    return ".".join(module.split(".")[:2])


def test_the_top_level_holds_only_the_public_face_and_the_entry_point() -> None:
    found = {path.name for path in PACKAGE.iterdir() if path.is_file()}
    assert found <= TOP_LEVEL_FILES, f"move into a layer package: {sorted(found - TOP_LEVEL_FILES)}"


def test_no_relative_imports() -> None:
    relative = [
        module
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert not relative


def test_private_modules_and_names_are_used_only_inside_their_package() -> None:
    """A leading underscore means: not part of the API of the package (or module) holding it."""
    leaks = []
    for module in MODULES:
        for imported, name in _imports(module):
            parts = imported.split(".")
            owner = None
            for index, part in enumerate(parts):
                if _is_private(part):
                    owner = ".".join(parts[:index])
                    break
            if owner is None and name is not None and _is_private(name) and imported != module:
                owner = imported
            if owner is not None and not (module == owner or module.startswith(owner + ".")):
                leaks.append(f"{module} imports {imported}{'.' + name if name else ''}")
    assert not leaks, "private names used outside their package:\n" + "\n".join(sorted(leaks))


def _layer_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {_layer(module): set() for module in MODULES}
    for module in MODULES:
        for imported, _ in _imports(module):
            if _layer(imported) != _layer(module):
                graph[_layer(module)].add(_layer(imported))
    return graph


def test_layers_import_each_other_without_cycles() -> None:
    graph = _layer_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(layer: str) -> None:
        state[layer] = 1
        path.append(layer)
        for below in sorted(graph[layer]):
            if state.get(below) == 1:
                cycle = [*path[path.index(below) :], below]
                pytest.fail("layers import each other in a cycle: " + " -> ".join(cycle))
            if below not in state:
                visit(below)
        path.pop()
        state[layer] = 2

    for layer in sorted(graph):
        if layer not in state:
            visit(layer)
