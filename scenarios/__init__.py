"""The scenario and experiment files that ship with evtwin, as package data.

In a clone they are ``scenarios/*.yaml``; an installed evtwin has the same files inside this
package. :func:`copy` puts one (and the files it names: a drive table, the scenario an experiment
runs) into a folder of the user's, where it runs as it does in a clone: its FMUs are built into
``fmus/`` beside it when missing, its results go to ``results/`` of the current folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cosim.errors import EvtwinError

FOLDER = Path(__file__).resolve().parent

#: An FMU path as the shipped files write it: in a clone, fmus/ is the scenario folder's sibling.
_CLONE_FMU_PATH = re.compile(r"^(\s*fmu:\s*)\.\./fmus/", re.MULTILINE)


#: Files a scenario may name that are copied as bytes and name no others (an ONNX model).
BINARY = (".onnx",)

#: A YAML comment: a whole line, or after a blank (files named there are not needed to run).
_COMMENT = re.compile(r"(^|\s)#.*$", re.MULTILINE)


class ScenarioCopyError(EvtwinError):
    """A shipped scenario that cannot be named or copied."""


@dataclass(frozen=True, slots=True)
class Shipped:
    """One shipped file: its name (the file name without ``.yaml``), kind and description."""

    name: str
    kind: str  # "scenario" or "experiment"
    description: str
    path: Path


def names() -> list[str]:
    """The names of the shipped files, sorted."""
    return sorted(p.stem for p in FOLDER.glob("*.yaml"))


def shipped() -> list[Shipped]:
    """Every shipped scenario and experiment, with the ``description:`` line of each."""
    return [_read(FOLDER / f"{name}.yaml") for name in names()]


def _read(path: Path) -> Shipped:
    text = path.read_text(encoding="utf-8")
    found = re.search(r"^description:\s*(.+)$", text, re.MULTILINE)
    kind = "experiment" if re.search(r"^policies:", text, re.MULTILINE) else "scenario"
    return Shipped(path.stem, kind, found.group(1).strip() if found else "", path)


def path(name: str) -> Path:
    """The shipped file called ``name`` (with or without ``.yaml``).

    Raises
    ------
    ScenarioCopyError
        No such shipped file (with the close names).
    """
    import difflib

    stem = name.removesuffix(".yaml")
    if stem not in names():
        close = difflib.get_close_matches(stem, names(), n=3)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise ScenarioCopyError(f"no shipped scenario {name!r}; {hint}`evtwin scenarios` lists them")
    return FOLDER / f"{stem}.yaml"


def needed(name: str) -> list[Path]:
    """The shipped files that ``name`` needs, itself first: the files it names, recursively.

    A file is needed when its path relative to this folder (``charging_commute.yaml``,
    ``data/quickstart_drive.csv``, ``data/soh_forecaster.onnx``), or the folder it lies in (``data/battery_sensor_data``, a recorded
    log's files), appears in a needed file outside its comments.
    """
    suffixes = (".yaml", ".csv", ".json", ".onnx")
    candidates = [p for p in sorted(FOLDER.rglob("*")) if p.is_file() and p.suffix in suffixes]
    todo, found = [path(name)], []
    while todo:
        current = todo.pop(0)
        if current in found:
            continue
        found.append(current)
        if current.suffix in BINARY:
            continue
        text = _COMMENT.sub("", current.read_text(encoding="utf-8"))
        todo += [p for p in candidates if _named(p.relative_to(FOLDER), text) and p not in found]
    return found


def _named(relative: Path, text: str) -> bool:
    """Whether ``text`` names the file ``relative``, or the folder it lies in as a whole."""
    if relative.as_posix() in text:
        return True
    folder = relative.parent.as_posix()
    return (
        folder != "."
        and re.search(r"(?<![\w/.-])" + re.escape(folder) + r"/?(?=[\s'\",}\]]|$)", text, re.MULTILINE)
        is not None
    )


def copy(name: str, dest: str | Path, *, force: bool = False) -> list[Path]:
    """Copy the shipped file ``name`` and what it needs into ``dest`` (created if missing).

    FMU paths that point at ``../fmus/`` (the clone's layout) are rewritten to ``fmus/``, so the FMUs
    are built beside the copy, inside ``dest``. Files already in ``dest`` are left alone unless
    ``force``.

    Returns
    -------
    list of Path
        The files written, the scenario first.

    Raises
    ------
    ScenarioCopyError
        Unknown name, a file that exists (without ``force``), or a folder that cannot be written.
    """
    dest = Path(dest)
    sources = needed(name)
    targets = [dest / src.relative_to(FOLDER) for src in sources]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise ScenarioCopyError(
            f"{existing[0]} exists; nothing copied (--force replaces "
            f"{'it' if len(existing) == 1 else 'the ' + str(len(existing)) + ' files that exist'})"
        )
    try:
        for src, target in zip(sources, targets):
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.suffix in BINARY:
                target.write_bytes(src.read_bytes())
                continue
            text = src.read_text(encoding="utf-8")
            if src.suffix == ".yaml":
                text = _CLONE_FMU_PATH.sub(r"\1fmus/", text)
            target.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ScenarioCopyError(f"cannot write into {dest}: {err.strerror or err}") from None
    return targets
