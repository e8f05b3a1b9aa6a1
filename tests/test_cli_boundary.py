"""Bad input and refusing systems at the command line: one line naming what and where, a non-zero exit, no
traceback, and no file written or changed (a read-only folder, a path under a file, a full device, an empty
path, a binary file for a CSV, a folder for a file, numbers outside what the model means)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cosim.cli import cli

SCENARIO = """\
experiment: {duration: 100 s}
units:
  source: {type: table, settings: {data: {t: [0, 100], P: [0, 100]}, outputs: {P: {unit: W}}}}
"""
HAS_DEV_FULL = Path("/dev/full").exists()


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def refused(folder: Path, args: list[str], *expected: str, code: int = 2) -> str:
    """``evtwin args`` exits ``code`` with each expected text and without a traceback; ``folder`` unchanged."""
    before = snapshot(folder)
    res = invoke(*args)
    assert res.exit_code == code, res.output
    for text in expected:
        assert text in res.output, res.output
    assert "Traceback" not in res.output
    assert snapshot(folder) == before
    return res.output


@pytest.fixture
def work(tmp_path, monkeypatch):
    """An empty working folder holding a file ``afile``, a folder ``adir``, a binary ``bin.csv`` and a scenario."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("keep me\n", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    return tmp_path


# ---------------------------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "args, expected",
    [
        (["life", "personal_ev_smallbatt_week", "--years", "nan"], "'nan': expected a finite number in yr"),
        (["life", "personal_ev_smallbatt_week", "--years", "inf"], "'inf': expected a finite number in yr"),
        (
            ["life", "personal_ev_smallbatt_week", "--years", "1e9"],
            "'1e9': expected a number above 0 and up to "
            "100 yr (a battery's life: the model projects at most 100 years)",
        ),
        (["life", "personal_ev_smallbatt_week", "--years", "0"], "'0': expected a number above 0"),
        (
            ["drive", "model3_rwd_lfp", "udds", "--ambient-degC", "nan"],
            "'nan': expected a finite number in degC",
        ),
        (
            ["drive", "model3_rwd_lfp", "udds", "--ambient-degC", "-500"],
            "'-500': expected -90 to 60 degC (an air temperature",
        ),
        (["drive", "model3_rwd_lfp", "udds", "--ambient-degC", "1e6"], "'1e6': expected -90 to 60 degC"),
        (
            ["drive", "model3_rwd_lfp", "udds", "--charge-limit-kW", "nan"],
            "'nan': expected a finite number in kW",
        ),
        (["drive", "model3_rwd_lfp", "udds", "--charge-limit-kW", "-1"], "'-1': expected a number >= 0 kW"),
        (["fmu", "demo", "--soc-init", "1.5"], "'1.5': expected 0 to 1 (a state of charge)"),
        (["fmu", "demo", "--soc-init", "nan"], "'nan': expected a finite number"),
        (["run", "s.yaml", "--duration", "inf"], "the duration must be > 0 and finite"),
        (["run", "s.yaml", "--duration", "1e400"], "the duration must be > 0 and finite"),
    ],
)
def test_numbers_outside_what_the_model_means_are_refused(work, args, expected):
    refused(work, args, "Invalid value", expected)


def test_life_profile_temperatures_beyond_a_cell_are_refused_and_outside_the_fit_warned(work):
    (work / "hot.csv").write_text("time_s,soc,temperature_degC\n0,0.5,25\n3600,0.6,5000\n", encoding="utf-8")
    (work / "cold.csv").write_text("time_s,soc,temperature_degC\n0,0.5,-300\n3600,0.6,25\n", encoding="utf-8")
    refused(
        work,
        ["life", "hot.csv", "--years", "1"],
        "error: hot.csv:3: temperature_degC 5000 is outside what a lithium-ion cell survives (-60 to 120 degC)",
    )
    refused(work, ["life", "cold.csv", "--years", "1"], "error: cold.csv:2: temperature_degC -300 is outside")
    # Physical but outside the fitted 10-45 degC: it runs, and says the fade is extrapolated.
    (work / "warm.csv").write_text("time_s,soc,temperature_degC\n0,0.5,55\n3600,0.5,55\n", encoding="utf-8")
    res = invoke("life", "warm.csv", "--years", "1")
    assert res.exit_code == 0, res.output
    assert "cell temperatures from 55.0 to 55.0 degC, outside the fitted 10 to 45 degC" in res.output


# ------------------------------------------------------------------------------------------- input files
@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["life", "bin.csv", "--years", "1"],
            "error: bin.csv: not a text file (byte 128 is not UTF-8 text); "
            "expected a CSV profile with columns time_s,soc,temperature_degC",
        ),
        (["life", "adir", "--years", "1"], "error: adir: is a folder; expected a CSV profile"),
        (["drive", "model3_rwd_lfp", "bin.csv"], "error: bin.csv: not a text file"),
        (["drive", "model3_rwd_lfp", "adir"], "error: adir: is a folder; expected a drive cycle CSV file"),
        (["fmu", "demo", "bin.csv"], "error: bin.csv: not a text file"),
        (
            ["fmu", "demo", "demo_day", "--fmu", "missing.fmu"],
            "error: missing.fmu: no such file; expected an FMU",
        ),
        (
            ["fmu", "demo", "demo_day", "--fmu", "afile"],
            "error: afile: not an FMU: the file is not a zip archive",
        ),
        (["fmu", "demo", "demo_day", "--fmu", "adir"], "error: adir: is a directory; expected an FMU"),
        (["validate", "adir"], "adir: is a folder; give scenario files"),
    ],
)
def test_wrong_kinds_of_input_file(work, args, expected):
    refused(work, args, expected)


def test_a_malformed_model_description_says_what_is_malformed(work):
    for name, xml in (
        ("root.fmu", "<notFMI/>"),
        ("version.fmu", '<fmiModelDescription modelName="m"/>'),
        ("broken.fmu", "<fmiModelDescription"),
    ):
        with zipfile.ZipFile(work / name, "w") as zf:
            zf.writestr("modelDescription.xml", xml)
    refused(
        work,
        ["inspect", "root.fmu"],
        "root.fmu: modelDescription.xml holds <notFMI> at its root, expected "
        "<fmiModelDescription fmiVersion=...>",
    )
    refused(work, ["inspect", "version.fmu"], "<fmiModelDescription> has no fmiVersion attribute")
    refused(work, ["inspect", "broken.fmu"], "modelDescription.xml is not well-formed XML")


# ------------------------------------------------------------------------------------------ output paths
@pytest.fixture
def result(work):
    """A result file to export and plot."""
    res = invoke("run", "-q", "s.yaml", "-o", "r.h5")
    assert res.exit_code == 0, res.output
    return work / "r.h5"


@pytest.mark.parametrize(
    "args, code, expected",
    [
        (["run", "-q", "s.yaml", "-o", "afile/r.h5"], 1, "error: afile: a file is in the way of a folder"),
        (["run", "-q", "s.yaml", "-o", ""], 2, "the path is empty; give a file name"),
        (["run", "-q", "s.yaml", "-o", "adir"], 2, "is a directory"),
        (["export", "r.h5", "--csv", "afile/out"], 1, "error: afile/out: a part of the path is a file"),
        (["export", "r.h5", "--csv", ""], 2, "the path is empty; give a folder name"),
        (["export", "r.h5", "--csv", "afile"], 2, "afile"),
        (["plot", "r.h5", "-o", "afile/p.png"], 1, "error: afile: a file is in the way of a folder"),
        (["plot", "r.h5", "-o", ""], 2, "the path is empty; give a file name"),
        (["experiment", "charging", "x.yaml", "-o", ""], 2, "the path is empty; give a folder name"),
        (["experiment", "charging", "x.yaml", "-o", "afile"], 2, "afile"),
    ],
)
def test_bad_output_paths_are_one_line_errors(work, result, args, code, expected):
    refused(work, args, expected, code=code)


@pytest.mark.skipif(not HAS_DEV_FULL, reason="needs /dev/full (Linux)")
def test_a_full_device_is_one_line_error(work, result):
    refused(work, ["plot", "r.h5", "-o", "/dev/full"], "error: /dev/full: the device is full", code=1)
    # The standard output on a full device: through the real entry point, which flushes at the end.
    before = snapshot(work)
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "cosim.cli", "schema"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=work,
            timeout=60,
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == "error: cannot write the output: the device is full", done.stderr
    assert snapshot(work) == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_line_error(work, result):
    ro = work / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        refused(work, ["plot", "r.h5", "-o", "ro/p.png"], "error: ro/p.png: permission denied", code=1)
        refused(work, ["export", "r.h5", "--csv", "ro/out"], "ro/out: permission denied", code=1)
    finally:
        ro.chmod(0o755)
