"""A scenario with both battery FMUs side by side: the Python one in the loop, the native one beside it.

The native FMU gets every connection the Python FMU's inputs get, at the same steps, and feeds nothing:
both see identical inputs, so their outputs can be compared point by point (``tests/test_native_battery.py``
over days, ``benchmarks/bench_native_battery.py`` over a month).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Outputs compared, and the agreement asked for (absolute, in the outputs' units).
TOLERANCES = {"SOC": 1e-9, "V_terminal": 1e-3, "T_cell": 0.01, "SOH_capacity": 1e-5}


def twins_spec(
    scenario: str | Path, python_fmu: str | Path, native_fmu: str | Path, unit: str = "battery"
) -> dict[str, Any]:
    """``scenario`` (its plain data) with ``native`` beside ``unit``, recording the compared outputs."""
    from ruamel.yaml import YAML

    spec = YAML(typ="safe").load(Path(scenario).read_text(encoding="utf-8"))
    battery = spec["units"][unit]
    battery["fmu"] = str(python_fmu)
    spec["units"]["native"] = {**battery, "fmu": str(native_fmu)}
    fed = [c for c in spec["connections"] if c["to"].startswith(f"{unit}.")]
    spec["connections"] += [{**c, "to": "native." + c["to"].split(".", 1)[1]} for c in fed]
    signals = [f"{u}.{s}" for u in (unit, "native") for s in TOLERANCES]
    spec["outputs"] = {"groups": [{"name": "main", "signals": signals}]}
    spec.pop("summary", None)
    spec.pop("plots", None)
    return spec


def write_spec(spec: dict[str, Any], path: str | Path) -> Path:
    from ruamel.yaml import YAML

    path = Path(path)
    with path.open("w", encoding="utf-8") as f:
        YAML(typ="safe").dump(spec, f)
    return path


def differences(result: Any, unit: str = "battery") -> dict[str, float]:
    """The largest |native - Python| of each compared output over a run's result file."""
    return {
        name: float(abs(result[f"native.{name}"].values - result[f"{unit}.{name}"].values).max())
        for name in TOLERANCES
    }
