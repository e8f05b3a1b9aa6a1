"""The in-process battery unit: same ports as the FMU, same numbers as the model, exact rollback."""

import pytest

from battery_fmu.interface import INTERFACE
from battery_fmu.model import BatteryPack
from battery_fmu.parameters import load_parameters
from battery_fmu.unit import _INPUTS, BatteryUnit
from cosim.errors import SimulationError
from cosim.unit import Port


def make(**parameters):
    unit = BatteryUnit(**parameters)
    unit.name = "battery"
    unit.bind(["T_ambient", "P_load"], ["SOC", "V_terminal", "SOH_capacity", "EFC"])
    unit.setup(0.0)
    return unit


def test_ports_are_the_fmu_interface():
    ports = BatteryUnit().ports()
    assert all(isinstance(p, Port) for p in ports)
    assert [(p.name, p.causality, p.unit) for p in ports] == [(v.name, v.causality, v.unit) for v in INTERFACE]
    assert _INPUTS == tuple(v.name for v in INTERFACE if v.causality == "input")


def test_unit_equals_the_model():
    unit = make(SOC_init=0.8, n_series=100)
    pack = BatteryPack(load_parameters(), n_series=100, soc=0.8)
    for k in range(200):
        load = 30e3 if k % 7 else -12e3
        unit.set_inputs([300.0, load])
        unit.do_step(k * 2.0, 2.0)
        pack.step(2.0, load, 0.0, 300.0, 300.0)
        assert tuple(unit.get_outputs()) == (pack.soc, pack.voltage, pack.soh_capacity, pack.efc)


def test_save_and_restore_is_exact():
    unit = make()
    unit.set_inputs([298.15, 40e3])
    unit.do_step(0.0, 10.0)
    state = unit.save_state()
    first = []
    for k in range(50):
        unit.set_inputs([298.15, 40e3 - 1e3 * k])
        unit.do_step(10.0 * k, 10.0)
        first.append(tuple(unit.get_outputs()))
    unit.restore_state(state)
    again = []
    for k in range(50):
        unit.set_inputs([298.15, 40e3 - 1e3 * k])
        unit.do_step(10.0 * k, 10.0)
        again.append(tuple(unit.get_outputs()))
    assert again == first


def test_bad_parameters_and_inputs_are_named():
    with pytest.raises(KeyError, match="battery has no parameter 'SOC'"):
        BatteryUnit(SOC=0.5)
    unit = BatteryUnit(SOC_init=2.0)
    unit.name = "battery"
    with pytest.raises(SimulationError, match=r"unit 'battery', t = 0 s: invalid parameter: SOC_init must be within"):
        unit.setup(0.0)
    with pytest.raises(KeyError, match="battery has no input 'P'"):
        BatteryUnit().bind(["P"], [])
    charging = BatteryUnit()
    charging.name = "battery"
    charging.bind(["I_charge"], [])
    charging.setup(0.0)
    charging.set_inputs([-3.0])
    with pytest.raises(SimulationError, match="I_charge must be >= 0, got -3.0"):
        charging.do_step(5.0, 1.0)


def test_fmu_doc_lists_every_variable():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "fmu.md").read_text()
    for v in INTERFACE:
        assert f"| `{v.name}` | {v.causality} | {v.type} | {v.unit} |" in doc, v.name


def test_every_output_maps_to_a_pack_attribute():
    from battery_fmu.interface import PACK_ATTRIBUTE
    from battery_fmu.model import BatteryPack

    outputs = [v.name for v in INTERFACE if v.causality == "output"]
    assert sorted(PACK_ATTRIBUTE) == sorted(outputs)
    pack = BatteryPack()
    for attr in PACK_ATTRIBUTE.values():
        assert isinstance(getattr(pack, attr), float), attr
