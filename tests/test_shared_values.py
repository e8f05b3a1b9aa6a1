"""Shared values: a fact stated once (by the scenario or by a unit) and taken by every unit that needs it;
a contradiction is a problem with its file, line and key. The engine's mechanism with units of its own,
then the pack of a vehicle preset reaching the battery and the chargers."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import ClassVar

import pytest

from cosim import scenario
from cosim.errors import ScenarioError
from cosim.unit import OUTPUT, PARAMETER, Port, PythonUnit


class Stater(PythonUnit):
    """States a value for the scenario: ``size`` (its setting)."""

    PORTS: ClassVar = (Port("y", OUTPUT, "1", "", 0.0),)

    def __init__(self, size: float = 3.0):
        super().__init__()
        self.size = size

    def shared_values(self):
        return {"size": self.size, "label": "cells"}

    def setup(self, start_time):
        pass

    def do_step(self, t, h):
        pass


class Taker(PythonUnit):
    """Takes ``length`` [m] from the shared value ``size`` by its own declaration."""

    SHARED_PARAMETERS: ClassVar = {"length": "size"}
    PORTS: ClassVar = (
        Port("length", PARAMETER, "m", "", 1.0),
        Port("label", PARAMETER, "1", "", "none", type="String"),
        Port("width", PARAMETER, "m", "", 1.0),
    )

    def setup(self, start_time):
        pass

    def do_step(self, t, h):
        pass


BASE = """\
version: 1
experiment: {duration: 10 s}
units:
  a: {type: "test_shared_values:Stater", settings: {size: 2.5}}
  b: {type: "test_shared_values:Taker"}
"""


def check(tmp_path: Path, text: str):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return scenario.check(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        check(tmp_path, text)
    return info.value.problems


def test_a_unit_takes_what_another_states(tmp_path):
    plan = check(tmp_path, BASE)
    assert plan.units["b"].parameters == {"length": 2.5}
    # By its scenario entry too (what an FMU does): names, or parameter: name.
    plan = check(tmp_path, BASE.replace('Taker"}', 'Taker", shared: {width: size, label: label}}'))
    assert plan.units["b"].parameters == {"length": 2.5, "width": 2.5, "label": "cells"}


def test_the_scenario_states_it_once_and_wins(tmp_path):
    text = BASE.replace("units:", "shared: {size: 120 cm}\nunits:")
    assert check(tmp_path, text).units["b"].parameters == {"length": pytest.approx(1.2)}


def test_a_contradiction_names_both_sides(tmp_path):
    text = BASE.replace('Taker"}', 'Taker", parameters: {length: 3.0}}')
    assert problems(tmp_path, text) == [
        "s.yaml:5 units.b.parameters.length: 3.0 contradicts the shared value size = 2.5 stated by unit 'a': "
        "state it once (remove this line, or change it there)"
    ]
    # Agreeing is no contradiction (in the parameter's unit).
    assert check(tmp_path, BASE.replace('Taker"}', 'Taker", parameters: {length: 250 cm}}'))
    # Two units stating different values that the scenario does not settle.
    text = BASE + '  c: {type: "test_shared_values:Stater", settings: {size: 4.0}}\n'
    assert problems(tmp_path, text) == [
        "s.yaml:6 units.c: states size = 4.0, but unit 'a' states 2.5: settle it once in the scenario's "
        "shared section (shared: {size: ...})"
    ]
    assert check(tmp_path, text.replace("units:", "shared: {size: 4.0}\nunits:"))


def test_a_binding_to_nothing_is_named(tmp_path):
    text = BASE.replace('Taker"}', 'Taker", shared: [width, depth]}')
    assert problems(tmp_path, text) == [
        "s.yaml:5 units.b.shared: no value for the shared name 'width': no unit states it and the "
        "scenario's shared section does not (shared: {width: ...})",
        "s.yaml:5 units.b.shared: 'b' has no parameter 'depth' to take the shared value 'depth'",
    ]


PACK = """\
version: 1
experiment: {duration: 1 h}
units:
  vehicle: {type: ev, settings: {preset: ioniq5_rwd}}
  battery: {type: battery}
  cccv: {type: cccv_charger}
  mpc: {type: mpc_charger, settings: {departure: "07:30"}}
"""


def test_the_vehicle_presets_pack_reaches_the_battery_and_the_chargers(tmp_path):
    from bridges.presets import get_preset

    preset = get_preset("ioniq5_rwd")  # 192s2p
    cell = preset.capacity_Ah / 2
    units = check(tmp_path, PACK).units
    assert units["battery"].parameters == {"n_series": 192, "n_parallel": 2, "capacity_Ah": cell,
                                           "parameter_set": "nmc_75ah"}
    assert units["cccv"].parameters == {"n_parallel": 2, "capacity_Ah": cell}
    assert units["mpc"].parameters == {"n_series": 192, "n_parallel": 2, "capacity_Ah": cell,
                                       "parameter_set": "nmc_75ah"}
    # The LFP preset names the LFP cell; another pack is one line.
    units = check(tmp_path, PACK.replace("ioniq5_rwd", "model3_rwd_lfp").replace(
        "units:", "shared: {capacity_Ah: 150 Ah}\nunits:")).units
    for name in ("battery", "mpc"):
        assert units[name].parameters == {"n_series": 106, "n_parallel": 1, "capacity_Ah": 150.0,
                                          "parameter_set": "lfp_220ah"}
    assert units["cccv"].parameters == {"n_parallel": 1, "capacity_Ah": 150.0}


def test_a_cooled_pack_is_stated_once_for_the_battery_and_its_mpc(tmp_path):
    lfp_pack = PACK.replace("ioniq5_rwd", "model3_rwd_lfp")  # the MPC predicts LFP cells
    text = lfp_pack.replace("units:", "shared: {coolant_connected: true}\nunits:")
    units = check(tmp_path, text).units
    assert units["battery"].parameters["coolant_connected"] is True
    assert units["mpc"].parameters["coolant_connected"] is True
    assert "coolant_connected" not in units["cccv"].parameters  # the CC-CV charger has no thermal model
    # The MPC's prediction is built for the cooled pack: the housing's conductance includes the coolant's.
    from battery_fmu.parameters import load_cell
    from control.mpc import MPCCharger

    mpc = MPCCharger(departure="07:30")
    mpc.configure(units["mpc"].parameters)
    mpc._build()
    p = load_cell(units["mpc"].parameters["parameter_set"], units["mpc"].parameters["capacity_Ah"])
    assert mpc.model.conductance_boundary == pytest.approx(p.conductance_housing_ambient
                                                           + p.conductance_housing_coolant)
    # Stating it on one side only contradicts the shared value.
    text = text.replace("battery: {type: battery}",
                        "battery: {type: battery, parameters: {coolant_connected: false}}")
    assert problems(tmp_path, text) == [
        "s.yaml:6 units.battery.parameters.coolant_connected: False contradicts the shared value "
        "coolant_connected = True stated by the scenario's shared section: state it once (remove this line, "
        "or change it there)"
    ]


def test_validate_reports_a_pack_stated_twice(tmp_path):
    from click.testing import CliRunner

    from cosim.cli import cli

    path = tmp_path / "s.yaml"
    path.write_text(PACK.replace("cccv: {type: cccv_charger}",
                                 "cccv: {type: cccv_charger, parameters: {capacity_Ah: 220}}"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code != 0
    assert "s.yaml:6 units.cccv.parameters.capacity_Ah: 220.0 contradicts the shared value capacity_Ah" in (
        result.output)
    assert "Traceback" not in result.output


def test_a_parameter_set_on_the_battery_reaches_its_mpc(tmp_path):
    """The battery's own parameter states the fact for the units that take it (no shared section)."""
    lfp_pack = PACK.replace("ioniq5_rwd", "model3_rwd_lfp")
    text = lfp_pack.replace("battery: {type: battery}",
                            "battery: {type: battery, parameters: {coolant_connected: true}}")
    units = check(tmp_path, text).units
    assert units["battery"].parameters["coolant_connected"] is True
    assert units["mpc"].parameters["coolant_connected"] is True
    # The MPC's prediction is the cooled pack's.
    from control.mpc import MPCCharger

    mpc = MPCCharger(departure="07:30")
    mpc.configure(units["mpc"].parameters)
    mpc._build()
    assert mpc.model.coolant_connected is True
    # The MPC stating the opposite is a contradiction, with the line of each side.
    text = text.replace('mpc: {type: mpc_charger, settings: {departure: "07:30"}}',
                        'mpc: {type: mpc_charger, settings: {departure: "07:30"}, '
                        'parameters: {coolant_connected: false}}')
    assert problems(tmp_path, text) == [
        "s.yaml:7 units.mpc.parameters.coolant_connected: False contradicts the shared value "
        "coolant_connected = True stated by unit 'battery' (its parameter coolant_connected): state it once "
        "(remove this line, or change it there)"
    ]
