"""BeamNG.tech bridge: :class:`BeamNGUnit` (unit type ``beamng``) and the layers under it.

- :mod:`bridges.beamng.client`: the raw beamngpy client behind one choke point.
- :mod:`bridges.beamng.driver`: following a speed trace (feed-forward + PI on throttle and brake).
- :mod:`bridges.beamng.power`: battery power integrated from the powertrain readings; regen events.
- :mod:`bridges.beamng.ports`: the inputs every vehicle unit takes, and the outputs.
- :mod:`bridges.beamng.unit`: the co-simulation unit, in lockstep with the simulator.
- :mod:`bridges.beamng.readings`: the unit's telemetry reading (speed, lockstep check, outputs, log).
- :mod:`bridges.beamng.accounting`: the unit's power outputs and motor limiting per step.
- :mod:`bridges.beamng.settings`: checking the unit's settings and finding its EV preset.

beamngpy itself loads only when a unit starts.
"""

from bridges.beamng.client import DEFAULT_PORT, BeamNGClient
from bridges.beamng.unit import BeamNGUnit

__all__ = ["DEFAULT_PORT", "BeamNGClient", "BeamNGUnit"]
