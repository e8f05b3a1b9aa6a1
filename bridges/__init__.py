"""The vehicle side: built-in EV on drive cycles, EV presets, BeamNG.tech bridge, recorded-log replay.

Unit types (entry-point group ``evtwin.unit_types``): ``ev`` (:class:`EVUnit`), ``beamng``
(:class:`BeamNGUnit`), ``log_replay`` (:class:`LogReplayUnit`). Names load on first use so that importing
the package (the command line does) stays cheap; beamngpy itself loads only when a BeamNG unit starts.
"""

from importlib import import_module

_PUBLIC = {
    "EVUnit": "bridges.vehicle_unit",
    "BeamNGUnit": "bridges.beamng",
    "LogReplayUnit": "bridges.replay",
    "BridgeError": "bridges.errors",
    "TelemetryError": "bridges.errors",
    "Preset": "bridges.presets",
    "get_preset": "bridges.presets",
    "all_presets": "bridges.presets",
    "VehicleParams": "bridges.ev_model",
    "MotorLossModel": "bridges.powertrain",
    "DriveCycle": "bridges.drive_cycles",
    "load_cycle": "bridges.drive_cycles",
    "drive": "bridges.consumption",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'bridges' has no attribute {name!r}")
