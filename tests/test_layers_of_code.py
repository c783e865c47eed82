"""The package's imports point down its layers only, and form no cycle.

Every module of src/dualgrad is given a layer by the table below; its imports are read with
`ast` (module-level, function-level and ``if TYPE_CHECKING`` ones alike). A module may import
from its own layer or a lower one, never from a higher one, and no chain of imports may lead
back to where it started. A new module must be added to the table (that is the point: its
author decides where it belongs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dualgrad"

LAYERS = ("core", "primitives", "trace", "numpy", "transforms", "registry", "nn", "cli")

# module (relative to dualgrad; "" is the package itself) -> its layer
TABLE = {
    # core: the dual number, tangent storage, Primitive and its one apply path, tags, errors
    "_errors": "core",
    "_budget": "core",
    "_tree": "core",
    "_zeros": "core",
    "_seams": "core",
    "_rows": "core",
    "_operators": "core",
    "_variable": "core",
    "_contributions": "core",
    "_compact": "core",
    "_apply": "core",
    "_primitive": "core",
    "_core": "core",
    "_executors": "core",
    # primitives: each primitive beside its rule
    "primitives": "primitives",
    "primitives._numpy": "primitives",
    "primitives.arithmetic": "primitives",
    "primitives.elementwise": "primitives",
    "primitives.fused": "primitives",
    "primitives.linalg": "primitives",
    "primitives.matrices": "primitives",
    "primitives.reductions": "primitives",
    "primitives.shaping": "primitives",
    "primitives.softmax": "primitives",
    "primitives.trigonometric": "primitives",
    # trace: recorded programs of primitive equations, replayed and folded
    "_nests": "trace",
    "_tracer": "trace",
    "_trace": "trace",
    "_replays": "trace",
    "_ragged": "trace",
    "_boxed": "trace",
    "_cotangents": "trace",
    "_transposes_products": "trace",
    "_transposes": "trace",
    "_linear": "trace",
    # numpy: NumPy's dispatch protocols and the NumPy-signature functions
    "numpy_api": "numpy",
    "_numpy_options": "numpy",
    "_numpy_reductions": "numpy",
    "_numpy_values": "numpy",
    "_numpy_shapes": "numpy",
    "_numpy_products": "numpy",
    "_numpy_linalg": "numpy",
    "_dispatch": "numpy",
    # transforms: jvp, grad, jacobian, ..., custom rules and the gradient checker
    "_transforms": "transforms",
    "_passes": "transforms",
    "_reverse": "transforms",
    "_higher": "transforms",
    "_custom": "transforms",
    "testing": "transforms",
    # registry: pluggy, the kinds declared to it, and the primitive kind
    "_registry": "registry",
    "_entries": "registry",
    "_primitive_kind": "registry",
    # nn: layers, losses, optimizers, callbacks and the Model, split by concern
    "_config": "nn",
    "_programs": "nn",
    "_toml": "nn",
    "layers": "nn",
    "layers.base": "nn",
    "layers.dense": "nn",
    "layers.dropout": "nn",
    "layers.normalization": "nn",
    "losses": "nn",
    "losses.base": "nn",
    "losses.builtin": "nn",
    "losses.weighted": "nn",
    "metrics": "nn",
    "metrics.base": "nn",
    "metrics.builtin": "nn",
    "optimizers": "nn",
    "schedules": "nn",
    "schedules.base": "nn",
    "schedules.builtin": "nn",
    "optimizers.base": "nn",
    "optimizers.builtin": "nn",
    "callbacks": "nn",
    "hookspecs": "nn",
    "_parts": "nn",
    "_lookup": "nn",
    "_data": "nn",
    "_weights": "nn",
    "_building": "nn",
    "_configuring": "nn",
    "_predicting": "nn",
    "_gradients": "nn",
    "_updating": "nn",
    "_history": "nn",
    "_training": "nn",
    "_training_state": "nn",
    "_archive": "nn",
    "_sharding": "nn",
    "_model_file": "nn",
    "model": "nn",
    "sklearn": "nn",
    # cli and the package's face
    "": "cli",
    "cli": "cli",
    "__main__": "cli",
    # the worked examples, shipped for `dualgrad demo` (examples/ holds a script for each)
    "examples": "cli",
    "examples._common": "cli",
    "examples.breast_cancer": "cli",
    "examples.deep_network": "cli",
    "examples.digits": "cli",
    "examples.linear_regression": "cli",
    "examples.logistic_regression": "cli",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(SRC.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The dualgrad modules `name` imports, relative to dualgrad ("" for the package)."""
    is_package = path.name == "__init__.py"
    package = name.split(".") if is_package else name.split(".")[:-1]
    package = [p for p in package if p]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
            bases = [t for t in targets if t == "dualgrad" or t.startswith("dualgrad.")]
            found.update(t.removeprefix("dualgrad").lstrip(".") for t in bases)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == "dualgrad"
                                  or node.module.startswith("dualgrad.")):
                module = node.module.removeprefix("dualgrad").lstrip(".")
            else:
                continue
            for alias in node.names:
                child = f"{module}.{alias.name}" if module else alias.name
                # `from . import x` names a module when x is one, else a name in the package
                found.add(child if child in known or child in TABLE else module)
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_every_module_has_a_layer() -> None:
    """Each module of src/dualgrad is in the layer table (a new module must be placed)."""
    missing = sorted(set(_modules()) - set(TABLE))
    assert not missing, f"add these modules to TABLE in {Path(__file__).name}: {missing}"


def test_imports_point_down_the_layers() -> None:
    """No module imports from a layer above its own."""
    upward = []
    for name, targets in _graph().items():
        rank = LAYERS.index(TABLE.get(name, "cli"))
        for target in sorted(targets):
            if target not in TABLE:
                upward.append(f"{name or 'dualgrad'} -> {target} (not in the table)")
            elif LAYERS.index(TABLE[target]) > rank:
                upward.append(f"{name or 'dualgrad'} ({TABLE.get(name)}) -> {target} "
                              f"({TABLE[target]})")
    assert not upward, "imports pointing up:\n" + "\n".join(upward)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle() -> None:
    """No chain of imports between dualgrad's modules leads back to its start."""
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(m or "dualgrad" for m in cycle)


@pytest.mark.parametrize(("graph", "expected"), [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
])
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]],
                                       expected: list[str] | None) -> None:
    """The checker itself: a three-module cycle is found, a chain is not a cycle."""
    assert _cycle(graph) == expected


def test_the_import_reader_sees_every_form_of_import() -> None:
    """Relative, absolute, function-level and TYPE_CHECKING imports are all read."""
    graph = _graph()
    assert "_errors" in graph["_variable"]
    assert "primitives" in graph["layers.dense"]  # `from .. import primitives as p`
    assert "examples.deep_network" in graph["cli"]  # inside a function
    assert "layers" in graph["_model_file"]  # under TYPE_CHECKING
