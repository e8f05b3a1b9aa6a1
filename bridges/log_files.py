"""The files of a recorded drive and the samples in them, for :mod:`bridges.replay_logs`.

A recording is one JSON file (electrics and powertrain in each sample), or two files as the BeamNG
prototype scripts saved them: a ``battery_sensor_data/`` folder of timestamped files, the Electrics
sensor's values in one (``electrics_<stamp>.json``) and the PowertrainSensor's devices in another
(``powertrain_<stamp>.json``), each sample with its own ``time``. The two are merged on time: power
is read from the powertrain samples and speed from the electrics samples, each interpolated on its own
sample times. Files whose names hold neither word (``analysis_<stamp>.json``) are not read.

A file is a JSON array of samples, an object ``{"samples": [...]}``, a PowertrainSensor poll result
(readings keyed 1, 2, ...), or JSON Lines. A file cut off while it was written (the recording
process killed) is refused, naming where it stops; with ``drop_partial_tail`` the complete samples
before the cut are replayed, for JSON Lines and JSON arrays alike.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bridges.errors import TelemetryError

#: The two roles a file of the two-file layout plays; "any" is a file holding both.
ELECTRICS, POWERTRAIN, ANY = "electrics", "powertrain", "any"

_ARRAY_IN_OBJECT = re.compile(r'\{\s*"samples"\s*:\s*\[')


def log_files(
    path: Path, powertrain_path: Path | None = None, run: str | None = None
) -> list[tuple[Path, str]]:
    """``(file, role)`` of a recording: ``path`` alone, ``path`` (electrics) with ``powertrain_path``,
    or the electrics and powertrain files of one run in the folder ``path`` (``run``: a part of their
    names, the time stamp, when the folder holds several runs)."""
    if powertrain_path is not None:
        if path.is_dir():
            raise TelemetryError(f"{path}: a folder; with `powertrain_path`, `path` names the electrics file")
        return [(path, ELECTRICS), (powertrain_path, POWERTRAIN)]
    if not path.is_dir():
        return [(path, ANY)]
    runs: dict[str, dict[str, Path]] = {}
    for file in sorted(path.iterdir()):
        if file.suffix.lower() not in (".json", ".jsonl") or not file.is_file():
            continue
        for role in (ELECTRICS, POWERTRAIN):
            if role in file.stem.lower():
                stamp = re.sub(role, "", file.stem, flags=re.IGNORECASE).strip("_-. ")
                runs.setdefault(stamp, {})[role] = file
    if run is not None:
        runs = {k: v for k, v in runs.items() if run in k}
    pairs = {k: v for k, v in runs.items() if len(v) == 2}
    if len(pairs) == 1:
        files = next(iter(pairs.values()))
        return [(files[ELECTRICS], ELECTRICS), (files[POWERTRAIN], POWERTRAIN)]
    if not pairs:
        alone = ", ".join(f.name for files in runs.values() for f in files.values())
        raise TelemetryError(
            f"{path}: no pair of electrics_*.json and powertrain_*.json files"
            + (f" for run {run!r}" if run else "")
            + (f" (found only {alone})" if alone else "")
        )
    raise TelemetryError(
        f"{path}: {len(pairs)} recorded runs ({', '.join(sorted(pairs))}); name one with the `run` setting"
    )


def load_samples(path: Path, drop_partial_tail: bool) -> list[tuple[str, Any]]:
    """(label, sample) pairs of one file; the label names the sample (and line) in error messages."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise TelemetryError(f"cannot read telemetry log {str(path)!r}: {err.strerror or err}") from err
    stripped = text.strip()
    if not stripped:
        raise TelemetryError(f"{path}: the telemetry log is empty")
    if stripped[0] == "[" or (stripped[0] == "{" and "\n{" not in stripped):
        return _whole_document(path, text, drop_partial_tail)
    return _json_lines(path, text, drop_partial_tail)


def _whole_document(path: Path, text: str, drop_partial_tail: bool) -> list[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        cut = _unclosed(text)
        if cut and drop_partial_tail:
            complete = complete_array_items(text)
            if complete is not None:
                return [(f"sample {i + 1}", s) for i, s in enumerate(complete)]
        why = "the JSON ends early (a partial log?)" if cut else f"invalid JSON: {err.msg}"
        hint = "; set `drop_partial_tail: true` to replay the samples before the cut" if cut else ""
        raise TelemetryError(f"{path}: line {err.lineno} column {err.colno}: {why}{hint}") from None
    if isinstance(data, dict) and "samples" in data:
        data = data["samples"]
    elif isinstance(data, dict) and ("time" in data or "t" in data):
        data = [data]
    elif isinstance(data, dict) and data and all(_is_number_key(k) for k in data):
        data = [data[k] for k in sorted(data, key=float)]  # a PowertrainSensor poll result
    if not isinstance(data, list):
        raise TelemetryError(f"{path}: expected a list of samples, an object with 'samples', or JSON Lines")
    return [(f"sample {i + 1}", s) for i, s in enumerate(data)]


def complete_array_items(text: str) -> list[Any] | None:
    """The complete items of a cut-off JSON array (the document, or its ``"samples"``) before the cut;
    None when the document is not such an array."""
    start = len(text) - len(text.lstrip())
    if text.startswith("[", start):
        pos = start + 1
    else:
        match = _ARRAY_IN_OBJECT.match(text, start)
        if match is None:
            return None
        pos = match.end()
    decoder = json.JSONDecoder()
    items: list[Any] = []
    while True:
        pos = _skip_space(text, pos)
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return items  # the item the cut went through
        items.append(item)
        pos = _skip_space(text, pos)
        if not text.startswith(",", pos):
            return items
        pos += 1


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _json_lines(path: Path, text: str, drop_partial_tail: bool) -> list[tuple[str, Any]]:
    samples = []
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            samples.append((f"sample {len(samples) + 1} (line {i + 1})", json.loads(line)))
        except json.JSONDecodeError as err:
            if i == last and drop_partial_tail:
                break
            why = "is cut off (a partial log?)" if i == last else f"is not valid JSON ({err.msg})"
            hint = "; set `drop_partial_tail: true` to replay the samples before it" if i == last else ""
            raise TelemetryError(f"{path}: sample {len(samples) + 1} (line {i + 1}) {why}{hint}") from None
    return samples


def _unclosed(text: str) -> bool:
    """Whether a JSON text stops inside a string or with brackets still open (a cut-off log)."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return in_string or depth > 0


def _is_number_key(k: Any) -> bool:
    try:
        float(k)
    except (TypeError, ValueError):
        return False
    return True
