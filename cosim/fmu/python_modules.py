"""Forget the Python modules an FMU that embeds Python imported from its own folder, when the folder goes.

A pythonfmu export runs its model in the host's interpreter: its binary puts the FMU's
``resources/`` folder on ``sys.path`` and imports the model's modules from there (and pythonfmu
itself, when the host has not imported it yet), into the host's one module cache. Once the host
deletes the extraction folder, those cache entries name files that no longer exist: a later import
of one of their submodules fails, and so does every import of the same package by the next FMU
built from the same files (its content-hashed name is the same), which finds the stale package
first. So the modules and the ``sys.path`` entries go with the folder. Objects already made from
those modules (a live instance of another copy of the FMU) keep them and keep working.
"""

from __future__ import annotations

import importlib
import os
import sys


def _inside(folder: str):
    root = os.path.join(os.path.realpath(folder), "")

    def inside(path) -> bool:
        return isinstance(path, str) and os.path.join(os.path.realpath(path), "").startswith(root)

    return inside


def forget_modules_under(folder: str) -> list[str]:
    """Remove from ``sys.modules`` every module loaded from ``folder`` (a file or a package path in
    it), and ``folder``'s entries from ``sys.path`` and the import system's caches. Returns the
    module names removed."""
    inside = _inside(folder)

    def loaded_from_folder(module) -> bool:
        # Not every entry of sys.modules is a module: some libraries register objects whose attribute
        # lookup makes things up (torch's ``torch.classes`` answers any name), so neither attribute can be
        # trusted to be what a module's is.
        try:
            paths = list(getattr(module, "__path__", None) or ())
            return inside(getattr(module, "__file__", None)) or any(inside(p) for p in paths)
        except Exception:
            return False

    gone = [name for name, module in list(sys.modules.items())
            if module is not None and loaded_from_folder(module)]
    for name in gone:
        sys.modules.pop(name, None)
    sys.path[:] = [p for p in sys.path if not inside(p)]
    for path in [p for p in sys.path_importer_cache if inside(p)]:
        del sys.path_importer_cache[path]
    importlib.invalidate_caches()
    return gone
