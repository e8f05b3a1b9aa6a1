"""List the product's functions longer than a limit (default 60 lines), longest first.

    python scripts/long_functions.py [--max 60] [--code-only]

A function's length counts every line from ``def`` to its last line; ``--code-only`` leaves its
docstring out. Product code is every package the project ships (tests, benchmarks and scripts
aside); generated code is made at run time and is not in these files. Exits 1 when any is listed.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("battery_fmu", "bridges", "control", "cosim", "fleet", "fmus", "ml", "scenarios", "service")


def function_lengths(path: Path, code_only: bool = False):
    """(lines, line number, qualified name) of every function in the file at ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lines = child.end_lineno - child.lineno + 1
                    doc = child.body[0] if child.body else None
                    if code_only and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and \
                            isinstance(doc.value.value, str):
                        lines -= doc.end_lineno - doc.lineno + 1
                    yield lines, child.lineno, name
                yield from visit(child, name + ".")

    yield from visit(tree, "")


def long_functions(limit: int = 60, code_only: bool = False) -> list[tuple[int, str]]:
    """(lines, ``path:line name``) of the product's functions over ``limit`` lines, longest first."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for lines, line, name in function_lengths(path, code_only):
                if lines > limit:
                    found.append((lines, f"{path.relative_to(ROOT)}:{line} {name}"))
    return sorted(found, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=60, help="the longest a function may be [lines]")
    parser.add_argument("--code-only", action="store_true", help="leave docstrings out of the count")
    args = parser.parse_args()
    found = long_functions(args.max, args.code_only)
    for lines, where in found:
        print(f"{lines:4d}  {where}")
    print(f"{len(found)} function(s) over {args.max} lines", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
