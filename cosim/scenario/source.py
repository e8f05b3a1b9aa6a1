"""Reading a scenario file: YAML with line numbers, and problems written as ``file:line key: ...``."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cosim.errors import ScenarioError

Path_ = tuple[str | int, ...]


class Located:
    """Plain data from a YAML file plus the line of every key and list item in it."""

    def __init__(self, path: Path, text: str, data: Any, lines: dict[Path_, int]):
        self.path, self.text, self.data, self.lines = path, text, data, lines

    def line(self, where: Path_) -> int:
        """1-based line of ``where`` or of its nearest ancestor that has one."""
        where = tuple(where)
        while where:
            if where in self.lines:
                return self.lines[where]
            where = where[:-1]
        return 1

    def problem(self, where: Path_, message: str) -> str:
        """``file:line key.path: message``."""
        key = dotted(where)
        return f"{self.path.name}:{self.line(where)} {key + ': ' if key else ''}{message}"

    def get(self, where: Path_, default: Any = None) -> Any:
        node = self.data
        for part in where:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return node


def dotted(where: Sequence[str | int]) -> str:
    """``units.battery.parameters`` / ``connections[2].to``."""
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(path: str | Path, kind: str = "scenario file", keys: str = "'experiment' and 'units'") -> Located:
    """Parse a scenario file (or another ``kind`` of file whose mapping has ``keys``); malformed YAML
    becomes a :class:`ScenarioError` with its line.

    Raises
    ------
    ScenarioError
        When the file is missing, unreadable, not YAML, has duplicate keys, or is not a mapping.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: {kind} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path}: cannot read the {kind} ({err})") from None
    try:
        raw = YAML(typ="rt").load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = (err.problem or "").strip()
        context = (err.context or "").strip()
        raise ScenarioError(
            f"{path.name}:{line} malformed YAML: {what}" + (f" ({context})" if context else "")
        ) from None
    except YAMLError as err:
        raise ScenarioError(f"{path.name}:1 malformed YAML: {err}") from None
    if raw is None:
        raise ScenarioError(
            f"{path.name}:1 the {kind} is empty; expected a mapping with {keys}"
        )
    if not isinstance(raw, dict):
        found = "list" if isinstance(raw, list) else "single value"
        raise ScenarioError(
            f"{path.name}:1 found a {found}, expected a mapping with {keys}"
        )
    lines: dict[Path_, int] = {}
    data = _Plain(path.name, lines).convert(raw, ())
    return Located(path, text, data, lines)


MAX_VALUES = 200_000
"""Values a scenario file may expand to once its YAML aliases (``*name``) are resolved."""


class _Plain:
    """Plain dicts and lists from ruamel's tree, with the line of each key; aliases are expanded here,
    so an alias chain that multiplies ("billion laughs") or refers to itself is refused, not followed."""

    def __init__(self, name: str, lines: dict[Path_, int]):
        self.name, self.lines, self.count, self.path_ids = name, lines, 0, []

    def _grow(self, node: Any, where: Path_) -> None:
        self.count += 1
        if self.count > MAX_VALUES:
            raise ScenarioError(
                f"{self.name}:{_line_of(self.lines, where)} the file expands to more than {MAX_VALUES:,} "
                "values once its YAML aliases (*name) are resolved; a scenario is far smaller: remove the "
                "aliases that repeat other aliases"
            )
        if id(node) in self.path_ids:
            raise ScenarioError(
                f"{self.name}:{_line_of(self.lines, where)} {dotted(where)}: a YAML alias refers to a node "
                "that contains it; the value would be infinite"
            )

    def convert(self, node: Any, where: Path_) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        if not isinstance(node, CommentedMap | CommentedSeq):
            self.count += 1
            return _scalar(node)
        self._grow(node, where)
        self.path_ids.append(id(node))
        try:
            if isinstance(node, CommentedMap):
                out = {}
                for key in node:
                    sub = (*where, str(key))
                    self.lines.setdefault(sub, node.lc.key(key)[0] + 1)
                    out[str(key)] = self.convert(node[key], sub)
                return out
            out_list = []
            for i, item in enumerate(node):
                sub = (*where, i)
                self.lines.setdefault(sub, node.lc.item(i)[0] + 1)
                out_list.append(self.convert(item, sub))
            return out_list
        finally:
            self.path_ids.pop()


def _line_of(lines: dict[Path_, int], where: Path_) -> int:
    while where and where not in lines:
        where = where[:-1]
    return lines.get(where, 1)


def _scalar(node: Any) -> Any:
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _expected(msg: str) -> str:
    for prefix in ("Input should be ", "Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg


def _data_path(loc: Sequence[Any], data: Any) -> Path_:
    """The part of a pydantic location that indexes the data (drops union-branch tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
    return tuple(out)


def _fields_at(model: type, loc: Sequence[Any]) -> list[str]:
    """Field names (aliases) of the model found along ``loc``, for 'did you mean' hints."""
    import typing

    from pydantic import BaseModel

    def models_in(annotation) -> list[type]:
        found = []
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        for arg in typing.get_args(annotation):
            found += models_in(arg)
        return found

    current = [model]
    for part in loc:
        nxt = []
        for m in current:
            field = next((f for n, f in m.model_fields.items() if part in (n, f.alias)), None)
            if field is not None:
                nxt += models_in(field.annotation)
            elif isinstance(part, int | str):
                # Inside a list or dict of models: keep looking in the item models.
                nxt.append(m)
        current = nxt or current
    names: list[str] = []
    for m in current:
        names += [f.alias or n for n, f in m.model_fields.items()]
    return names


def schema_problems(source: Located, model: type, err: Any) -> list[str]:
    """``file:line key: found X, expected Y`` for each pydantic error, unions merged."""
    by_path: dict[Path_, list[str]] = {}
    found: dict[Path_, Any] = {}
    order: list[Path_] = []
    for e in err.errors(include_url=False):
        loc = e["loc"]
        kind = e["type"]
        if kind == "extra_forbidden":
            where = _data_path(loc, source.data)
            key = str(loc[-1])
            known = _fields_at(model, loc[:-1])
            unused = [n for n in known if n not in (source.get(where[:-1]) or {})]
            close = difflib.get_close_matches(key, unused, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            msg = f"unknown key {key!r}{hint} (known keys: {', '.join(sorted(set(known)))})"
            where = (*_data_path(loc[:-1], source.data), key)
        elif kind == "missing":
            where = _data_path(loc[:-1], source.data)
            msg = f"missing required key {str(loc[-1])!r}"
            where = (*where, f"{loc[-1]}")
            source.lines.setdefault(where, source.line(where[:-1]))
        else:
            where = _data_path(loc, source.data)
            msg = None
        if where not in by_path:
            by_path[where] = []
            order.append(where)
        if msg is not None:
            by_path[where].append(msg)
        else:
            found[where] = e.get("input")
            text = _expected(e["msg"])
            by_path[where].append(text if text.startswith("expected ") else "expected " + text)
    problems = []
    for where in order:
        msgs = list(dict.fromkeys(by_path[where]))
        plain = [m for m in msgs if not m.startswith("expected ")]
        expected = [m[len("expected ") :] for m in msgs if m.startswith("expected ")]
        parts = plain
        if expected:
            value = found.get(where)
            shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
            parts = [*plain, f"found {shown}, expected {' or '.join(expected)}"]
        problems += [source.problem(where, p) for p in parts]
    return problems
