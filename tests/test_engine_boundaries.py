"""The engine knows nothing of batteries, vehicles, control or ML: cosim/ imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path

COSIM = Path(__file__).resolve().parents[1] / "cosim"
FORBIDDEN = {"battery_fmu", "bridges", "control", "ml", "service"}


def test_cosim_imports_no_product_package():
    offenders = []
    for path in sorted(COSIM.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(COSIM.parent)}:{node.lineno} imports {n}"
                for n in names
                if n.split(".")[0] in FORBIDDEN
            ]
    assert not offenders, offenders


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
