"""BatteryTwin3.fmu: the battery twin as FMI 3.0 (pythonfmu3), checked by fmpy and against the model."""

from __future__ import annotations

import pytest
from fmpy import extract, read_model_description
from fmpy.fmi3 import FMU3Slave
from fmpy.validation import validate_fmu

from battery_fmu.build_fmi3 import build_fmu3
from battery_fmu.interface import INTERFACE
from battery_fmu.model import BatteryPack
from battery_fmu.parameters import load_parameters


@pytest.fixture(scope="module")
def fmu3(tmp_path_factory):
    return build_fmu3(tmp_path_factory.mktemp("fmu3"))


def test_fmpy_validates_it_and_it_declares_the_twins_interface(fmu3):
    assert validate_fmu(str(fmu3)) == []
    md = read_model_description(str(fmu3))
    assert md.fmiVersion == "3.0"
    variables = {v.name: v for v in md.modelVariables}
    assert variables["time"].causality == "independent"
    for port in INTERFACE:
        v = variables[port.name]
        assert v.causality == port.causality, port.name
        if port.type == "Real" and port.unit != "1":
            assert (v.declaredType.unit if v.declaredType is not None else v.unit) == port.unit, port.name


def started(fmu3, folder, name):
    """An instance of ``fmu3`` initialised at SOC 0.9, and the value references by name."""
    md = read_model_description(str(fmu3))
    vr = {v.name: v.valueReference for v in md.modelVariables}
    fmu = FMU3Slave(
        guid=md.guid,
        unzipDirectory=extract(str(fmu3), unzipdir=str(folder / name)),
        modelIdentifier=md.coSimulation.modelIdentifier,
        instanceName=name,
    )
    fmu.instantiate()
    fmu.enterInitializationMode(startTime=0.0)
    fmu.setFloat64([vr["SOC_init"]], [0.9])
    fmu.exitInitializationMode()
    return fmu, vr


def drive(fmu, vr, t0, powers):
    """Steps of 10 s at ``powers`` [W]: the outputs after each."""
    outs = [vr[n] for n in ("SOC", "V_terminal", "T_cell", "SOH_capacity", "T_housing")]
    rows = []
    for k, power in enumerate(powers):
        fmu.setFloat64([vr["P_load"]], [power])
        fmu.doStep(currentCommunicationPoint=t0 + 10.0 * k, communicationStepSize=10.0)
        rows.append(fmu.getFloat64(outs))
    return rows


def test_a_restored_state_continues_bit_identically_also_in_another_instance(fmu3, tmp_path):
    md = read_model_description(str(fmu3))
    assert md.coSimulation.canGetAndSetFMUstate and md.coSimulation.canSerializeFMUstate
    a, vr = started(fmu3, tmp_path, "a")
    drive(a, vr, 0.0, [60e3] * 30)
    state = a.getFMUState()
    ahead = [40e3, -20e3, 80e3, 0.0] * 5
    first = drive(a, vr, 300.0, ahead)
    assert first[-1][0] < first[0][0]  # it moved on: discharging
    a.setFMUState(state)
    assert drive(a, vr, 300.0, ahead) == first
    a.setFMUState(state)  # the same state again: restoring it must not have used it up
    assert drive(a, vr, 300.0, ahead) == first
    b, _ = started(fmu3, tmp_path, "b")  # another instance, at another SOC, takes the serialised state
    b.setFMUState(b.deserializeFMUState(a.serializeFMUState(state)))
    assert drive(b, vr, 300.0, ahead) == first
    for fmu in (a, b):
        fmu.terminate()
        fmu.freeInstance()


def test_its_steps_equal_the_model_called_directly(fmu3, tmp_path):
    md = read_model_description(str(fmu3))
    vr = {v.name: v.valueReference for v in md.modelVariables}
    fmu = FMU3Slave(
        guid=md.guid,
        unzipDirectory=extract(str(fmu3), unzipdir=str(tmp_path / "x")),
        modelIdentifier=md.coSimulation.modelIdentifier,
        instanceName="twin3",
    )
    fmu.instantiate()
    fmu.enterInitializationMode(startTime=0.0)
    fmu.setFloat64([vr["SOC_init"]], [0.9])
    fmu.exitInitializationMode()
    pack = BatteryPack(load_parameters(), n_series=106, soc=0.9)
    for k in range(120):
        power = 40e3 if k < 60 else -15e3
        fmu.setFloat64([vr["P_load"]], [power])
        fmu.doStep(currentCommunicationPoint=10.0 * k, communicationStepSize=10.0)
        pack.step(10.0, power, 0.0, 298.15, 298.15)
    fmu.setFloat64([vr["P_load"]], [0.0])
    fmu.doStep(currentCommunicationPoint=1200.0, communicationStepSize=3600.0)  # a rest, sub-stepped
    pack.step(3600.0, 0.0, 0.0, 298.15, 298.15)
    got = fmu.getFloat64([vr["SOC"], vr["V_terminal"], vr["T_cell"], vr["SOH_capacity"]])
    assert got == [pack.soc, pack.voltage, pack.t_cell, pack.soh_capacity]
    fmu.terminate()
    fmu.freeInstance()
