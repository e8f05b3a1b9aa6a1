"""Files with one job: no product file far over 400 lines and no function far over 60 (docstrings aside).

``scripts/long_functions.py`` lists every function over a limit; this test holds the ceiling, so a
function that grows past it is split along its jobs when it does, not later.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from long_functions import PACKAGES, long_functions  # noqa: E402

#: The ceilings of "about 60 lines a function, 400 a file".
FUNCTION_LINES, FILE_LINES = 65, 450
#: Functions that are lists rather than logic: the service's route table (one decorated function per endpoint).
DECLARATIVE = {"service/app.py create_app"}


def test_no_function_is_far_over_sixty_lines():
    found = [(n, where) for n, where in long_functions(FUNCTION_LINES, code_only=True)
             if where.split(":")[0] + " " + where.split(" ", 1)[1] not in DECLARATIVE]
    assert found == []


def test_no_file_is_far_over_four_hundred_lines():
    lengths = {path.relative_to(ROOT): len(path.read_text(encoding="utf-8").splitlines())
               for package in PACKAGES for path in (ROOT / package).rglob("*.py")}
    assert {str(p): n for p, n in lengths.items() if n > FILE_LINES} == {}


def test_the_lister_finds_a_long_function(tmp_path):
    from long_functions import function_lengths

    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    path = tmp_path / "m.py"
    path.write_text(f'class A:\n    def f(self):\n        """Doc."""\n{body.replace("    ", "        ")}\n')
    assert list(function_lengths(path)) == [(72, 2, "A.f")]
    assert list(function_lengths(path, code_only=True)) == [(71, 2, "A.f")]
