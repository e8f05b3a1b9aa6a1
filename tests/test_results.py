"""HDF5 results: round trip (hypothesis), decimation, events, metadata, partial files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from cosim_units import Failing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.errors import EvtwinError, SimulationError
from cosim.master import Event, Master
from cosim.results import OutputGroup, ResultWriter, read_result
from cosim.sources import Constant, TableSource
from cosim.timeline import fixed

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def tables(draw):
    n = draw(st.integers(min_value=2, max_value=40))
    cols = draw(st.integers(min_value=1, max_value=4))
    data = {"t": [float(k) for k in range(n)]}
    for c in range(cols):
        data[f"c{c}"] = draw(st.lists(finite, min_size=n, max_size=n))
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=tables(),
    block=st.integers(min_value=1, max_value=7),
    every=st.integers(min_value=1, max_value=3),
    meta=st.dictionaries(
        st.text(alphabet="abcxyz_", min_size=1, max_size=8), st.text(max_size=20), max_size=3
    ),
)
def test_round_trip_keeps_every_value_unit_and_attribute(tmp_path, data, block, every, meta):
    n = len(data["t"])
    outputs = {
        name: {"unit": "W" if k % 2 else "degC", "description": f"column {name}"}
        for k, name in enumerate(data)
        if name != "t"
    }
    src = TableSource(outputs=outputs, data=data, interpolation="step", sample="start")
    signals = [f"s.{name}" for name in outputs]
    m = Master({"s": src}, observe=signals)
    path = tmp_path / "run.h5"
    writer = ResultWriter(
        path,
        [OutputGroup("all", signals), OutputGroup("slow", [], every=every)],
        metadata={"meta": meta, "scenario": "x: 1"},
        block=block,
    )
    m.run(fixed(0.0, float(n - 1), 1.0), observers=[writer])
    writer.close("complete", final=(float(n - 1), m.outs, m.ins))
    result = read_result(path)
    assert result.status == "complete"
    assert result.json_attr("meta") == meta
    assert result.attrs["scenario"] == "x: 1"
    # With sample="start" the value over step [k, k+1] is row k; the start point shows row 0.
    expected_t = np.arange(n, dtype=float)
    for name, spec in outputs.items():
        sig = result[f"s.{name}"]
        assert (
            sig.unit == spec["unit"] and sig.description == spec["description"] and sig.causality == "output"
        )
        np.testing.assert_array_equal(sig.time, expected_t)
        np.testing.assert_array_equal(sig.values, np.asarray([data[name][0]] + data[name][:-1]))


def test_decimation_keeps_first_every_nth_and_last_point(tmp_path):
    m = Master({"c": Constant(outputs={"a": 1.0, "b": 2.0})}, observe=["c.a", "c.b"])
    path = tmp_path / "run.h5"
    # A signal lives in the first group that names it.
    writer = ResultWriter(
        path,
        [
            OutputGroup("fast", ["c.a"]),
            OutputGroup("slow", ["c.a", "c.b"], every=4),
            OutputGroup("timed", [], interval=2.5),
        ],
    )
    m.run(fixed(0.0, 10.0, 1.0), observers=[writer])
    writer.close("complete", final=(10.0, m.outs, m.ins))
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["time/fast"][()], np.arange(11.0))
        np.testing.assert_array_equal(f["time/slow"][()], [0.0, 4.0, 8.0, 10.0])
        np.testing.assert_array_equal(f["time/timed"][()], [0.0, 3.0, 6.0, 9.0, 10.0])
        assert f["signals/c/a"].attrs["time"] == "/time/fast"
        assert f["signals/c/b"].attrs["time"] == "/time/slow"
        np.testing.assert_array_equal(f["signals/c/b"][()], [2.0] * 4)


def test_events_are_written(tmp_path):
    from cosim_units import Integrator

    from cosim.connection import Connection

    m = Master(
        {"u": Constant(value=2.0, unit="W"), "i": Integrator()},
        [Connection("u.value", "i.u")],
        events=[Event("full", "i.x", above=7.0)],
        observe=["i.x"],
    )
    writer = ResultWriter(tmp_path / "run.h5", [OutputGroup("main", ["i.x"])])
    m.run(fixed(0.0, 6.0, 1.0), observers=[writer])
    writer.close("complete")
    result = read_result(tmp_path / "run.h5")
    ((t, name),) = result.events
    assert name == "full" and t == pytest.approx(3.5, abs=1e-3)
    assert 3.5 <= result["i.x"].time[np.argmax(result["i.x"].values >= 7.0)] <= 3.5 + 1e-3


def test_failed_run_leaves_a_readable_partial_file(tmp_path):
    m = Master({"bad": Failing(fail_at=2500.0)}, observe=["bad.y"])
    path = tmp_path / "run.h5"
    writer = ResultWriter(path, [OutputGroup("main", ["bad.y"])], block=1000)
    with pytest.raises(SimulationError) as info:
        m.run(fixed(0.0, 5000.0, 1.0), observers=[writer])
    writer.close(f"failed: {info.value}")
    result = read_result(path)
    assert result.status.startswith("failed: unit 'bad', t = 2500 s")
    np.testing.assert_array_equal(result["bad.y"].time, np.arange(2500.0))


@pytest.mark.usefixtures("engine")  # on the C core and on the Python loop
def test_file_is_readable_while_the_run_is_still_open(tmp_path):
    # What a crash leaves: the writer never closed; every flushed block must be readable.
    m = Master({"c": Constant(value=3.0)}, observe=["c.value"])
    path = tmp_path / "run.h5"
    writer = ResultWriter(path, [OutputGroup("main", ["c.value"])], block=100)
    m.run(fixed(0.0, 250.0, 1.0), observers=[writer])
    result = read_result(path)
    assert result.status == "running"
    assert len(result["c.value"].values) == 200
    writer.close("complete")


@pytest.mark.usefixtures("engine")  # on the C core and on the Python loop
def test_reader_errors_are_clear(tmp_path):
    with pytest.raises(EvtwinError, match=r"result file '.*nope.h5' does not exist"):
        read_result(tmp_path / "nope.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["x"] = 1
    with pytest.raises(EvtwinError, match=r"not an evtwin result"):
        read_result(tmp_path / "other.h5")
    m = Master({"c": Constant(value=3.0)}, observe=["c.value"])
    writer = ResultWriter(tmp_path / "run.h5", [OutputGroup("main", ["c.value"])])
    m.run(fixed(0.0, 2.0, 1.0), observers=[writer])
    writer.close("complete")
    with pytest.raises(KeyError, match=r"no signal 'c.valeu'; did you mean c.value"):
        read_result(tmp_path / "run.h5")["c.valeu"]


def test_generated_loop_and_interpreter_write_the_same_file(tmp_path):
    from cosim_units import Integrator

    from cosim.connection import Connection

    def run(compile: bool):
        units = {
            "s": TableSource(outputs={"P": {"unit": "W"}}, data={"t": [0.0, 50.0], "P": [1.0, 9.0]}),
            "i": Integrator(),
        }
        m = Master(
            units,
            [Connection("s.P", "i.u", transfer="mean")],
            every={"i": 3},
            observe=["i.x", "i.u", "s.P"],
            compile=compile,
        )
        path = tmp_path / f"{compile}.h5"
        writer = ResultWriter(
            path, [OutputGroup("all", ["i.x", "i.u", "s.P"]), OutputGroup("slow", [], every=7)], block=16
        )
        m.run(fixed(0.0, 100.0, 0.5), observers=[writer])
        writer.close("complete", final=(100.0, m.outs, m.ins))
        return read_result(path)

    a, b = run(True), run(False)
    assert set(a.signals) == set(b.signals) == {"i.x", "i.u", "s.P"}
    for name in a.signals:
        np.testing.assert_array_equal(a[name].time, b[name].time)
        np.testing.assert_array_equal(a[name].values, b[name].values)
    np.testing.assert_array_equal(a.times["slow"], b.times["slow"])
    assert len(a["i.x"].time) == 201
