"""FMUs extracted once per process, for batch workers that run many scenarios one after the other.

By default each :class:`~cosim.fmu.adapter.FMUUnit` extracts its FMU into a folder of its own and
deletes it when it terminates. After :func:`share_extractions`, a process extracts each FMU file
once (by path, modification time and size) and every later instance loads from that folder, which
goes when the process exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

#: FMU file (path, mtime, size) -> its folder, while this process shares extractions; None: it does not.
_SHARED: dict[tuple[str, int, int], str] | None = None


def share_extractions() -> None:
    """From now on extract each FMU file once in this process (idempotent)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = {}
        atexit.register(_remove_all)


def _remove_all() -> None:
    for folder in (_SHARED or {}).values():
        shutil.rmtree(folder, ignore_errors=True)


def shared_folder(path: Path) -> str | None:
    """The shared extraction of ``path`` (made on first use), or None when extractions are not shared."""
    if _SHARED is None:
        return None
    import fmpy

    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    folder = _SHARED.get(key)
    if folder is None:
        folder = tempfile.mkdtemp(prefix=f"evtwin-shared-{path.stem[:40]}-")
        fmpy.extract(str(path), folder)
        _SHARED[key] = folder
    return folder
