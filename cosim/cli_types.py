"""Command-line values checked at the boundary: a number within what the model means, a path to write.

A value outside the physical range is an error naming the range and why; a value inside it but
outside what a model was fitted on is accepted with a warning.
"""

from __future__ import annotations

import math
from pathlib import Path

import click


class Bounded(click.ParamType):
    """A finite number within ``[low, high]`` (``unit`` shown in messages); a warning outside ``fitted``.

    ``why`` says where the bounds come from, e.g. "a cell temperature".
    """

    name = "number"

    def __init__(
        self,
        low: float | None = None,
        high: float | None = None,
        unit: str = "",
        why: str = "",
        fitted: tuple[float, float] | None = None,
        low_open: bool = False,
    ):
        self.low, self.high, self.unit, self.why, self.fitted = low, high, unit, why, fitted
        self.low_open = low_open

    def convert(self, value, param, ctx):
        if isinstance(value, float | int) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        unit = f" {self.unit}" if self.unit else ""
        if not math.isfinite(number):
            self.fail(
                f"{value!r}: expected a finite number" + (f" in {self.unit}" if self.unit else ""), param, ctx
            )
        too_low = self.low is not None and (number <= self.low if self.low_open else number < self.low)
        too_high = self.high is not None and number > self.high
        if too_low or too_high:
            self.fail(
                f"{value!r}: expected {self._range()}{unit}" + (f" ({self.why})" if self.why else ""),
                param,
                ctx,
            )
        if self.fitted is not None and not self.fitted[0] <= number <= self.fitted[1]:
            name = param.opts[0] if param is not None and param.opts else "value"
            click.echo(
                f"warning: {name} {number:g}{unit} is outside the range the model was fitted on "
                f"({self.fitted[0]:g} to {self.fitted[1]:g}{unit}); the result is an extrapolation",
                err=True,
            )
        return number

    def _range(self) -> str:
        low, high = self.low, self.high
        if low is not None and high is not None:
            return f"a number above {low:g} and up to {high:g}" if self.low_open else f"{low:g} to {high:g}"
        if low is not None:
            return f"a number {'>' if self.low_open else '>='} {low:g}"
        return f"a number <= {high:g}"


def output_file(ctx, param, value):
    """Click callback: an output file path that names something (not ``""``) and is not a folder."""
    if value is None:
        return None
    if str(value).strip() in ("", "."):
        raise click.BadParameter("the path is empty; give a file name", ctx, param)
    path = Path(value)
    if path.is_dir():
        raise click.BadParameter(f"{value} is a folder; give a file name", ctx, param)
    return path


def output_folder(ctx, param, value):
    """Click callback: an output folder path that names something (not ``""``) and is not a file."""
    if value is None:
        return None
    if str(value).strip() == "":
        raise click.BadParameter(
            "the path is empty; give a folder name ('.' for the current one)", ctx, param
        )
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise click.BadParameter(f"{value} is a file; give a folder name", ctx, param)
    return path
