"""The layers of the code: the engine knows nothing of batteries, vehicles, control or ML; each package
imports only packages of lower layers; and no module imports itself through others at load time."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COSIM = ROOT / "cosim"

#: Each package may import packages of lower layers only (never one of its own layer): the engine; the
#: battery and the C stand-in FMUs; the vehicles (their presets name the battery's parameter set) and
#: control; fleets on top, then ML (it learns from fleets); the service and the shipped scenarios, which
#: may name anything.
LAYERS = {
    "cosim": 0,
    "battery_fmu": 1,
    "fmus": 1,
    "bridges": 2,
    "control": 2,
    "fleet": 3,
    "ml": 4,
    "service": 5,
    "scenarios": 5,
}
FORBIDDEN = set(LAYERS) - {"cosim"}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in LAYERS:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _target(module: str, name: str | None) -> str:
    """The module an import names: ``from a.b import c`` is ``a.b.c`` when that is a module."""
    if name is not None and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module


def _imports(path: Path, *, load_time_only: bool) -> list[tuple[int, str]]:
    """``(line, module)`` of the imports in ``path``: all of them, or those run when it is imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not load_time_only:
        nodes = list(ast.walk(tree))
    else:
        nodes, todo = [], list(tree.body)
        while todo:
            node = todo.pop()
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue  # for type checkers only
            if isinstance(node, (ast.If, ast.Try, ast.With)):
                todo += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
                todo += [n for h in getattr(node, "handlers", []) for n in h.body]
            nodes.append(node)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, _target(node.module, a.name)) for a in node.names]
    return found


def test_cosim_imports_no_product_package():
    offenders = []
    for path in sorted(COSIM.rglob("*.py")):
        offenders += [
            f"{path.relative_to(ROOT)}:{line} imports {name}"
            for line, name in _imports(path, load_time_only=False)
            if name.split(".")[0] in FORBIDDEN
        ]
    assert not offenders, offenders


def test_packages_import_only_lower_layers():
    offenders = []
    for module, path in MODULES.items():
        own = module.split(".")[0]
        for line, name in _imports(path, load_time_only=False):
            other = name.split(".")[0]
            if other in LAYERS and other != own and LAYERS[other] >= LAYERS[own]:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name} (layer {LAYERS[other]})")
    assert not offenders, offenders


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), or a self-import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_at_load_time():
    graph = {
        module: {name for _, name in _imports(path, load_time_only=True) if name in MODULES}
        for module, path in MODULES.items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_help_does_not_import_heavy_packages():
    import subprocess
    import sys

    code = (
        "import sys, cosim.cli; heavy = {'h5py', 'matplotlib', 'fmpy', 'pydantic', 'ruamel', 'numpy'} "
        "& {m.split('.')[0] for m in sys.modules}; print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
