"""Build ``BatteryTwin3.fmu``: the battery twin as an FMI 3.0 co-simulation FMU (pythonfmu3).

The same pack and interface as ``BatteryTwin.fmu`` (:mod:`battery_fmu.fmu3_slave`), packaged the same
way (the model package under a content-hashed name in ``resources/``), checked with fmpy's validator.
It saves, restores and serialises its whole state, as ``BatteryTwin.fmu`` does.
Like any pythonfmu FMU it runs Python inside the importing process (see docs/fmu.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

FMU_NAME = "BatteryTwin3.fmu"


def build_fmu3(out_dir: str | Path = "fmus") -> Path:
    """Build the FMI 3.0 battery FMU into ``out_dir`` and return its path."""
    from pythonfmu3.builder import FmuBuilder

    from battery_fmu.build import _stage_model, forget_staged

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evtwin_fmu3_") as tmp:
        package, script = _stage_model(Path(tmp), "fmu3_slave.py", "battery_twin3")
        forget_staged(package)  # see forget_staged
        try:
            built = Path(
                FmuBuilder.build_FMU(
                    script,
                    dest=tmp,
                    project_files=[package],
                    canGetAndSetFMUState=True,
                    canSerializeFMUState=True,
                )
            )
        finally:
            forget_staged(package)
        target = out_dir / FMU_NAME
        built.replace(target)
    return target
