"""BatteryTwin.fmu: model description, units, equality with the model, state, bad input, a plain C host."""

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fmpy import extract, read_model_description, simulate_fmu
from fmpy.fmi2 import (
    FMU2Slave,
    fmi2CallbackAllocateMemoryTYPE,
    fmi2CallbackFreeMemoryTYPE,
    fmi2CallbackFunctions,
    fmi2CallbackLoggerTYPE,
)
from fmpy.validation import validate_fmu

from battery_fmu.interface import INTERFACE
from battery_fmu.model import BatteryPack
from battery_fmu.parameters import load_parameters

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def fmu_path(battery_fmu):
    return battery_fmu


@pytest.fixture(scope="module")
def description(fmu_path):
    return read_model_description(str(fmu_path))


class Instance:
    """An FMU2Slave with its log captured, for tests that look at what the FMU says."""

    def __init__(self, fmu_path, description, name="battery"):
        self.messages: list[str] = []
        self.vr = {v.name: v.valueReference for v in description.modelVariables}
        self.dir = extract(str(fmu_path))
        self.fmu = FMU2Slave(guid=description.guid, unzipDirectory=self.dir,
                             modelIdentifier=description.coSimulation.modelIdentifier, instanceName=name)

        def log(env, instance, status, category, message):
            self.messages.append(message.decode(errors="replace"))

        self._callbacks = fmi2CallbackFunctions()
        self._callbacks.logger = fmi2CallbackLoggerTYPE(log)
        self._callbacks.allocateMemory = fmi2CallbackAllocateMemoryTYPE(_calloc)
        self._callbacks.freeMemory = fmi2CallbackFreeMemoryTYPE(_free)
        self.fmu.instantiate(callbacks=self._callbacks, loggingOn=True)

    def start(self, **parameters):
        self.fmu.setupExperiment(startTime=0.0)
        self.fmu.enterInitializationMode()
        for name, value in parameters.items():
            if isinstance(value, bool):
                self.fmu.setBoolean([self.vr[name]], [value])
            elif isinstance(value, int):
                self.fmu.setInteger([self.vr[name]], [value])
            else:
                self.fmu.setReal([self.vr[name]], [value])
        self.fmu.exitInitializationMode()
        return self

    def set(self, **inputs):
        self.fmu.setReal([self.vr[n] for n in inputs], list(inputs.values()))

    def get(self, *names):
        return self.fmu.getReal([self.vr[n] for n in names])

    def close(self):
        try:
            self.fmu.terminate()
        finally:
            self.fmu.freeInstance()
            shutil.rmtree(self.dir, ignore_errors=True)


_libc = ctypes.CDLL(None)
_libc.calloc.restype = ctypes.c_void_p
_libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]


def _calloc(n, size):
    return _libc.calloc(n, size)


def _free(ptr):
    _libc.free(ptr)


def test_fmpy_validate_reports_no_problems(fmu_path):
    assert validate_fmu(str(fmu_path)) == []


def test_interface_names_units_and_descriptions(description):
    variables = {v.name: v for v in description.modelVariables}
    for port in INTERFACE:
        v = variables[port.name]
        assert v.causality == port.causality
        assert v.description, port.name
        if port.type == "Real":
            assert (v.unit or "1") == port.unit, port.name
    units = {u.name: u.baseUnit for u in description.unitDefinitions}
    assert (units["W"].kg, units["W"].m, units["W"].s) == (1, 2, -3)
    assert (units["V"].kg, units["V"].m, units["V"].s, units["V"].A) == (1, 2, -3, -1)
    assert units["K"].K == 1
    assert (units["Ah"].A, units["Ah"].s, units["Ah"].factor) == (1, 1, 3600.0)
    cs = description.coSimulation
    assert cs.canGetAndSetFMUstate and cs.canSerializeFMUstate and cs.canHandleVariableCommunicationStepSize
    for name in ("P_load", "I_charge", "T_ambient", "T_coolant", "SOC", "V_terminal", "I_terminal", "T_cell",
                 "SOH_capacity", "SOH_resistance", "Q_heat", "P_discharge_max", "P_charge_max", "EFC",
                 "capacity_Ah", "n_series", "n_parallel", "SOC_init", "SOH_init", "T_init"):
        assert name in variables, name


def drive_inputs(n=600):
    t = np.arange(n) * 10.0
    p = 20e3 + 15e3 * np.sin(t / 300.0)
    return t, p


def test_simulate_fmu_equals_the_model_called_directly(fmu_path):
    t, p = drive_inputs()
    signals = np.zeros(len(t), dtype=[("time", float), ("P_load", float)])
    signals["time"], signals["P_load"] = t, p
    result = simulate_fmu(str(fmu_path), stop_time=t[-1], output_interval=10.0, input=signals,
                          start_values={"SOC_init": 0.9, "n_series": 100},
                          output=["SOC", "V_terminal", "T_cell", "SOH_capacity", "EFC"])
    pack = BatteryPack(load_parameters(), n_series=100, n_parallel=1, soc=0.9)
    for k in range(len(t) - 1):
        pack.step(10.0, p[k], 0.0, 298.15, 298.15)
        row = result[k + 1]
        assert row["SOC"] == pack.soc
        assert row["V_terminal"] == pack.voltage
        assert row["T_cell"] == pack.t_cell
        assert row["SOH_capacity"] == pack.soh_capacity
        assert row["EFC"] == pack.efc


def test_variable_step_sizes_from_a_tenth_of_a_second_to_a_day(fmu_path, description):
    inst = Instance(fmu_path, description).start(SOC_init=0.6)
    pack = BatteryPack(load_parameters(), n_series=106, soc=0.6)
    steps = [0.1, 0.1, 1.0, 10.0, 60.0, 3600.0, 86400.0, 0.5, 86400.0, 10.0]
    loads = [30e3, -10e3, 50e3, 5e3, 0.0, 2e3, 0.0, 80e3, 0.0, 0.0]
    t = 0.0
    try:
        for h, load in zip(steps, loads):
            inst.set(P_load=load)
            inst.fmu.doStep(t, h)
            pack.step(h, load, 0.0, 298.15, 298.15)
            t += h
            assert inst.get("SOC", "V_terminal", "T_cell", "SOH_capacity") == [
                pack.soc, pack.voltage, pack.t_cell, pack.soh_capacity]
    finally:
        inst.close()


def test_restored_state_continues_bit_identically(fmu_path, description):
    inst = Instance(fmu_path, description).start(SOC_init=0.7)
    outputs = ("SOC", "V_terminal", "T_cell", "T_housing", "SOH_capacity", "SOH_resistance", "EFC", "P_charge_max")
    t, p = drive_inputs(300)

    def run(instance, start):
        rows = []
        for k in range(start, start + 150):
            instance.set(P_load=p[k % len(p)])
            instance.fmu.doStep(k * 10.0, 10.0)
            rows.append(instance.get(*outputs))
        return rows

    try:
        run(inst, 0)
        state = inst.fmu.getFMUstate()
        serialized = inst.fmu.serializeFMUstate(state)
        first = run(inst, 150)
        inst.fmu.setFMUstate(state)
        assert run(inst, 150) == first
        # Into a fresh instance, through bytes.
        other = Instance(fmu_path, description, name="copy").start()
        try:
            other.fmu.setFMUstate(other.fmu.deSerializeFMUstate(serialized))
            assert run(other, 150) == first
        finally:
            other.close()
        inst.fmu.freeFMUstate(state)
    finally:
        inst.close()


@pytest.mark.parametrize("parameter, value, message", [
    ("SOC_init", 1.5, "SOC_init must be within [0, 1], got 1.5"),
    ("n_series", 0, "n_series must be an integer >= 1, got 0"),
    ("capacity_Ah", -5.0, "capacity must be positive"),
    ("T_init", 25.0, "T_init must be a temperature in K"),
])
def test_bad_parameters_end_in_an_error_with_a_clear_log(fmu_path, description, parameter, value, message):
    inst = Instance(fmu_path, description)
    try:
        with pytest.raises(Exception, match="fmi2ExitInitializationMode failed"):
            inst.start(**{parameter: value})
        assert any(message in m for m in inst.messages), inst.messages
    finally:
        inst.fmu.freeInstance()


def test_bad_input_fails_the_step_and_says_why(fmu_path, description):
    inst = Instance(fmu_path, description).start()
    try:
        inst.set(I_charge=-5.0)
        with pytest.raises(Exception, match="fmi2DoStep"):
            inst.fmu.doStep(0.0, 1.0)
        assert any("I_charge must be >= 0" in m for m in inst.messages), inst.messages
    finally:
        inst.fmu.freeInstance()


def test_the_fmu_runs_in_a_plain_c_host(fmu_path, description, tmp_path):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed")
    import fmpy

    exe = tmp_path / "host"
    headers = Path(fmpy.__file__).parent / "c-code"
    subprocess.run([gcc, "-O1", "-o", str(exe), str(HERE / "c_host" / "fmi2_host.c"), f"-I{headers}", "-ldl"],
                   check=True)
    unzipped = Path(extract(str(fmu_path), unzipdir=str(tmp_path / "fmu")))
    binary = unzipped / "binaries" / "linux64" / "BatteryTwin.so"
    resources = (unzipped / "resources").as_uri()
    # Only CPython itself: the model needs nothing beyond the standard library. No LD_PRELOAD and no
    # PYTHONHOME: the FMU's shim loads the libpython recorded when it was built.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "LD_PRELOAD"}
    vr = {v.name: v.valueReference for v in description.modelVariables}
    args = [str(exe), str(binary), resources, description.guid, "180", "10.0", "40000",
            str(vr["P_load"]), str(vr["SOC"]), str(vr["V_terminal"]), str(vr["T_cell"])]
    # Twice: the exit status also covers the host's teardown (Python finalised when the FMU unloads).
    for _ in range(2):
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    t, soc, voltage, t_cell = map(float, done.stdout.split())
    pack = BatteryPack(load_parameters(), n_series=106, soc=0.5)
    for _ in range(180):
        pack.step(10.0, 40e3, 0.0, 298.15, 298.15)
    assert t == 1800.0 and 0.2 < soc < 0.4
    assert (soc, voltage, t_cell) == pytest.approx((pack.soc, pack.voltage, pack.t_cell), rel=1e-12)


def test_the_model_runtime_imports_nothing_beyond_the_standard_library():
    code = ("import sys; import battery_fmu.fmu_slave; from battery_fmu.model import BatteryPack; "
            "b = BatteryPack(); b.step(86400.0, 0.0, 0.0, 300.0); b.step(1.0, 5e3, 0.0, 300.0); "
            "print(sorted(m for m in ('numpy', 'casadi', 'torch', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_two_builds_from_different_sources_run_their_own_code_in_one_process(fmu_path, tmp_path, monkeypatch):
    from battery_fmu import build

    # A modified copy of the model package: another default initial temperature.
    copy = tmp_path / "battery_fmu"
    shutil.copytree(build.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    interface = copy / "interface.py"
    interface.write_text(interface.read_text().replace(
        '"Initial cell and housing temperature", 298.15', '"Initial cell and housing temperature", 288.15'))
    monkeypatch.setattr(build, "PACKAGE_DIR", copy)
    other = build.build_fmu(tmp_path / "other")
    results = [simulate_fmu(str(path), stop_time=10.0, output_interval=10.0, output=["T_cell"])
               for path in (fmu_path, other, fmu_path)]
    assert [r["T_cell"][0] for r in results] == [298.15, 288.15, 298.15]


def test_a_build_after_running_an_fmu_of_the_same_code_in_process(tmp_path):
    # Running the FMU in this interpreter caches its package from the extraction folder, which fmpy
    # removes afterwards; a build of the same code must not import the description from that ghost.
    from battery_fmu import build

    first = build.build_fmu(tmp_path / "first")
    simulate_fmu(str(first), stop_time=10.0, output_interval=10.0, output=["SOC"])
    second = build.build_fmu(tmp_path / "second")
    assert read_model_description(str(second)).modelName == read_model_description(str(first)).modelName


def test_a_process_that_ran_the_fmu_and_then_ipopt_exits_normally(fmu_path):
    # pythonfmu 0.7.0 released its interpreter state twice at exit; the shim makes the release happen once.
    script = Path(__file__).parents[1] / "scripts" / "repro_exit_abort.py"
    for _ in range(3):
        done = subprocess.run([sys.executable, str(script), "--child", "--fmu", str(fmu_path)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
