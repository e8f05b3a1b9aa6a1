"""``evtwin inspect`` and ``evtwin fmus build-c`` through the command line."""

from __future__ import annotations

import json
from pathlib import Path
from importlib.metadata import entry_points

import pytest
from click.testing import CliRunner

from cosim.cli import _Group
from cosim.fmu.inspect import inspect
import fmus.build_c as build_c
from fmus.build_c import fmus

pytest_plugins = ["fmu_fixtures"]  # the FMUs under test, built once per session


@pytest.fixture
def evtwin():
    """The evtwin command group with the FMU commands only (other packages' plugins are not needed here)."""
    group = _Group(name="evtwin")
    group._loaded = True
    group.add_command(inspect)
    group.add_command(fmus)
    runner = CliRunner()
    return lambda *args: runner.invoke(group, [str(a) for a in args])


def test_commands_are_registered_as_plugins():
    registered = {ep.name: ep for ep in entry_points(group="evtwin.commands")}
    assert registered["inspect"].load() is inspect
    assert registered["fmus"].load() is fmus


def test_inspect_prints_variables_units_capabilities_and_hints(evtwin, plate_fmu):
    result = evtwin("inspect", plate_fmu)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    for expected in (
        "CoolingPlate",
        "FMI 2.0 co-simulation",
        "{5b0f8a3e-2d71-4c9b-9e44-7a1c3f60b2d8}",
        "coolant_in.V_flow",
        "l/min",
        "coolant.m_flow",
        "local",
        "J/(kg.K)",
        "m2.s-2.K-1",
        "K + 273.15",
        "evtwin fmus build-c",
        "linux64 (runs here)",
    ):
        assert expected in text, expected
    assert "fixed step only" in text and "(1 s is its default)" in text
    assert "no rollback (canGetAndSetFMUstate=false): step rejection is unavailable" in text


def test_inspect_json(evtwin, sensor_fmu):
    result = evtwin("inspect", sensor_fmu, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["fmiVersion"], data["modelName"]) == ("3.0", "TempSensor3")
    assert data["guid"] == "{c3a9e1f4-6b52-4d0e-8f17-93d2a5b7c401}"
    assert data["capabilities"]["canGetAndSetFMUstate"] is True
    assert data["capabilities"]["canHandleVariableCommunicationStepSize"] is True
    variables = {v["name"]: v for v in data["variables"]}
    assert variables["time"]["port"] is False and variables["time"]["causality"] == "independent"
    assert (variables["In1"]["unit"], variables["In1"]["start"], variables["In1"]["port"]) == (
        "K",
        298.15,
        True,
    )
    assert variables["step_count"]["type"] == "Int32"
    assert {u["name"]: u["registry"] for u in data["units"]} == {"K": "ok", "s": "ok"}
    assert any(h.startswith("rollback and checkpoints") for h in data["hints"])
    assert len(data["sha256"]) == 64


def test_inspect_missing_file_exits_2(evtwin, tmp_path):
    result = evtwin("inspect", tmp_path / "none.fmu")
    assert result.exit_code == 2
    assert "error: " in result.output and "none.fmu: no such file; expected an FMU" in result.output


def test_inspect_corrupt_zip_exits_2(evtwin, tmp_path):
    bad = tmp_path / "cut.fmu"
    bad.write_bytes(b"not a zip at all")
    result = evtwin("inspect", bad, "--json")
    assert result.exit_code == 2
    assert "cut.fmu: not an FMU: the file is not a zip archive" in result.output


def test_fmus_build_c_command(evtwin, tmp_path):
    result = evtwin("fmus", "build-c", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    sources = sorted(d.name for d in (Path(build_c.__file__).parent / "src").iterdir() if d.is_dir())
    assert len(sources) >= 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{name}.fmu" for name in sources]
    assert f"built {len(sources)} FMUs" in result.output


def test_fmus_build_c_bad_source_folder_exits_2(evtwin, tmp_path):
    result = evtwin("fmus", "build-c", "--src", tmp_path / "missing", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "missing: no such folder; expected the FMU sources" in result.output
