"""Import a package as it was at an earlier commit, next to today's, for side-by-side timings.

    model = import_past("battery_fmu", "d501cdf", tmp_dir).model   # module battery_fmu_d501cdf.model

The package's files are taken from git (``git archive``) into ``tmp_dir`` under the name
``<package>_<commit>`` and its absolute self-imports are renamed, so both versions live in one process.
"""

from __future__ import annotations

import importlib
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def import_past(package: str, commit: str, tmp_dir: Path):
    """The package ``package`` at ``commit``, imported as ``<package>_<commit>``."""
    alias = f"{package}_{commit}"
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit, package],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp_dir, filter="data")
    root = Path(tmp_dir) / alias
    (Path(tmp_dir) / package).rename(root)
    pattern = re.compile(rf"\b{re.escape(package)}(?=[.\s])")
    for path in root.rglob("*.py"):
        path.write_text(pattern.sub(alias, path.read_text()))
    sys.path.insert(0, str(tmp_dir))
    try:
        return importlib.import_module(alias)
    finally:
        sys.path.remove(str(tmp_dir))
