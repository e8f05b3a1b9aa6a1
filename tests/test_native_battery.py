"""BatteryTwinNative.fmu: the twin in C, generated from its step, against the Python twin and FMU.

Built once for the quickstart's pack (the LFP cell at the Model 3 preset's capacity). It must pass
fmpy's validation, run in a plain C host with no Python, run a cell of another capacity as the model
scaled to it,
restore its state exactly, and agree with BatteryTwin.fmu (pythonfmu) when both are driven by the
same vehicle and charger through days of the quickstart's use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from fmpy import extract, read_model_description
from fmpy.fmi2 import FMU2Slave
from fmpy.validation import validate_fmu

from battery_fmu.model import BatteryPack
from battery_fmu.native.build import build_native
from battery_fmu.native.twins import TOLERANCES, differences, twins_spec, write_spec
from battery_fmu.parameters import load_cell
from cosim import scenario
from cosim.results import read_result

HERE = Path(__file__).parent
ROOT = HERE.parent
CAPACITY_AH = (
    178.36084905660377  # the quickstart's cell: the Model 3 RWD LFP preset's pack over 106 x 1 cells
)


@pytest.fixture(scope="module")
def native_fmu(tmp_path_factory) -> Path:
    return build_native(tmp_path_factory.mktemp("native"), "lfp_220ah", CAPACITY_AH)


@pytest.fixture(scope="module")
def description(native_fmu):
    return read_model_description(str(native_fmu))


def test_the_native_fmu_is_valid_and_carries_no_python(native_fmu, description, battery_fmu):
    assert validate_fmu(str(native_fmu)) == []
    with zipfile.ZipFile(native_fmu) as z:
        names = z.namelist()
        binary = z.read("binaries/linux64/BatteryTwinNative.so")
    assert not any(n.endswith(".py") for n in names) and b"libpython" not in binary
    assert {"sources/battery_generated.c", "sources/twin.c", "sources/twin_config.h"} <= set(names)
    # The same interface as the Python FMU: a host swaps one for the other.
    python = {
        v.name: (v.valueReference, v.causality, v.unit)
        for v in read_model_description(str(battery_fmu)).modelVariables
    }
    native = {v.name: (v.valueReference, v.causality, v.unit) for v in description.modelVariables}
    assert native == python


def _instance(path: Path, description, tmp_path: Path, **start):
    fmu = FMU2Slave(
        guid=description.guid,
        unzipDirectory=extract(str(path), unzipdir=str(tmp_path / "x")),
        modelIdentifier=description.coSimulation.modelIdentifier,
        instanceName="native",
    )
    vr = {v.name: v.valueReference for v in description.modelVariables}
    messages = []
    fmu.instantiate(loggingOn=False)
    fmu.setupExperiment(startTime=0.0)
    fmu.enterInitializationMode()
    for name, value in start.items():
        fmu.setReal([vr[name]], [value])
    return fmu, vr, messages


def test_a_cell_of_another_capacity_runs_as_the_model_scaled_to_it(native_fmu, description, tmp_path):
    # Generated at 178.4 A h, run at 220 A h in two strings: the scaled cell behaves as 220 / 178.4 cells.
    fmu, vr, _ = _instance(native_fmu, description, tmp_path, capacity_Ah=220.0, SOC_init=0.9)
    fmu.setInteger([vr["n_parallel"]], [2])
    fmu.exitInitializationMode()
    pack = BatteryPack(load_cell("lfp_220ah", 220.0), n_series=106, n_parallel=2, soc=0.9)
    names = ("SOC", "V_terminal", "T_cell", "SOH_capacity")
    worst = dict.fromkeys(names, 0.0)
    t = 0.0
    for dt, power, charge in [(10.0, 90e3, 0.0)] * 180 + [(10.0, 0.0, 300.0)] * 120 + [(3600.0, 0.0, 0.0)]:
        fmu.setReal([vr["P_load"], vr["I_charge"]], [power, charge])
        fmu.doStep(t, dt)
        pack.step(dt, power, charge, 298.15, 298.15)
        t += dt
        got = dict(zip(names, fmu.getReal([vr[n] for n in names]), strict=True))
        want = dict(zip(names, (pack.soc, pack.voltage, pack.t_cell, pack.soh_capacity), strict=True))
        worst = {n: max(worst[n], abs(got[n] - want[n])) for n in names}
    assert all(worst[n] <= TOLERANCES[n] for n in names), worst
    assert pack.soc < 0.9 and pack.t_cell > 298.15  # it drove, charged and rested: something to agree on
    fmu.terminate()
    fmu.freeInstance()
    bad, _, _ = _instance(native_fmu, description, tmp_path / "bad", capacity_Ah=-1.0)
    with pytest.raises(Exception, match="fmi2ExitInitializationMode"):
        bad.exitInitializationMode()
    bad.freeInstance()


def test_a_restored_state_continues_exactly(native_fmu, description, tmp_path):
    fmu, vr, _ = _instance(native_fmu, description, tmp_path, SOC_init=0.7)
    fmu.exitInitializationMode()
    fmu.setReal([vr["P_load"]], [30e3])
    fmu.doStep(0.0, 10.0)
    state = fmu.getFMUState()
    runs = []
    for _ in range(2):
        fmu.setFMUState(state)
        for k in range(1, 50):
            fmu.doStep(10.0 * k, 10.0)
        fmu.doStep(500.0, 7200.0)  # a long rest: the sub-stepped quadrature
        runs.append(fmu.getReal([vr["SOC"], vr["T_cell"], vr["SOH_capacity"]]))
    assert runs[0] == runs[1]
    fmu.freeFMUState(state)
    fmu.terminate()
    fmu.freeInstance()


def test_the_native_fmu_runs_in_a_plain_c_host_as_the_model_does(native_fmu, description, tmp_path):
    import fmpy

    exe = tmp_path / "host"
    headers = Path(fmpy.__file__).parent / "c-code"
    subprocess.run(
        ["gcc", "-O1", "-o", str(exe), str(HERE / "c_host" / "fmi2_host.c"), f"-I{headers}", "-ldl"],
        check=True,
    )
    unzipped = Path(extract(str(native_fmu), unzipdir=str(tmp_path / "fmu")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "LD_PRELOAD"}
    vr = {v.name: v.valueReference for v in description.modelVariables}
    args = [
        str(exe),
        str(unzipped / "binaries" / "linux64" / "BatteryTwinNative.so"),
        unzipped.as_uri(),
        description.guid,
        "180",
        "10.0",
        "40000",
        str(vr["P_load"]),
        str(vr["SOC"]),
        str(vr["V_terminal"]),
        str(vr["T_cell"]),
    ]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    t, soc, voltage, t_cell = map(float, done.stdout.split())
    pack = BatteryPack(load_cell("lfp_220ah", CAPACITY_AH), n_series=106, soc=0.5)
    for _ in range(180):
        pack.step(10.0, 40e3, 0.0, 298.15, 298.15)
    assert t == 1800.0
    assert (soc, voltage, t_cell) == pytest.approx((pack.soc, pack.voltage, pack.t_cell), rel=1e-9)


DAYS = 3


@pytest.mark.slow
def test_it_agrees_with_the_python_fmu_through_days_of_the_quickstart(native_fmu, battery_fmu, tmp_path):
    # The quickstart with a second battery, the native FMU, fed by the same vehicle, charger and weather
    # connections at the same steps (its outputs feed nothing): both see identical inputs.
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios", ignore=shutil.ignore_patterns("*.py"))
    spec = twins_spec(ROOT / "scenarios" / "quickstart.yaml", battery_fmu, native_fmu)
    path = write_spec(spec, tmp_path / "scenarios" / "twins.yaml")
    report = scenario.run(path, output=tmp_path / "twins.h5", duration=DAYS * 86400.0)
    result = read_result(report.path)
    assert len(result["native.SOC"].values) > 1000
    for name, difference in differences(result).items():
        assert difference <= TOLERANCES[name], (name, difference)
    # The run did what the quickstart does: drives, charges back to the target, ages.
    soc = result["battery.SOC"].values
    assert soc.min() < 0.75 and soc[-1] == pytest.approx(0.9, abs=1e-6)
    assert result["native.SOH_capacity"].values[-1] < 1.0
