"""Parameter sets: sources, units, the Arrhenius fit, other cells without code changes."""

import csv
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from battery_fmu.parameters import _AS_IS, _TO_SI, PARAMS_DIR, ParameterError, load_parameters, scaled_to_capacity
from cosim import si

P = load_parameters()


def test_every_value_names_its_source():
    doc = tomllib.loads((PARAMS_DIR / "lfp_220ah.toml").read_text())

    def entries(node, path=""):
        for key, value in node.items():
            if isinstance(value, dict) and ("value" in value or "file" in value or "points" in value):
                yield f"{path}{key}", value
            elif isinstance(value, dict):
                yield from entries(value, f"{path}{key}.")

    found = list(entries(doc))
    assert len(found) > 40
    for key, entry in found:
        assert entry.get("source", "").strip(), key
        if entry.get("assumption"):
            assert len(entry["source"]) > 20, f"{key}: an assumption must say its reasoning"


def test_unit_conversions_agree_with_the_project_registry():
    for unit, (factor, offset) in _TO_SI.items():
        assert si.to_si(1.0, unit) == pytest.approx(factor + offset), unit
        assert si.to_si(0.0, unit) == pytest.approx(offset), unit
    for unit in _AS_IS - {"K/V"}:  # fit constants' units are documented, not converted
        assert si.is_known(unit), unit


def test_values_arrive_in_si():
    assert P.capacity == 220 * 3600
    assert P.reference_temperature == pytest.approx(298.15)
    assert P.r1 == pytest.approx(0.163e-3)
    assert P.aging.chunk_time == 86400
    assert P.aging.cycling_temperature_min == pytest.approx(283.15)
    # OCV table of the Sony LFP cell: 3.197 V at 10 %, 3.299 V at 50 %, 3.342 V at 90 % (reference figures).
    assert [P.ocv.scalar(s) for s in (0.1, 0.5, 0.9)] == pytest.approx([3.197, 3.299, 3.342], abs=6e-4)


def test_activation_temperature_matches_a_fit_to_the_sony_resistance_tables():
    with open(PARAMS_DIR / "tables" / "CLFP_Sony_US26650_Rint.csv") as fh:
        rows = list(csv.DictReader(fh))
    x = 1.0 / (np.array([10.0, 25.0, 40.0]) + 273.15)  # the 60 degC column repeats 40 degC
    xc = x - x.mean()
    slopes = []
    for row in rows:
        for kind in ("R_Ch", "R_DCh"):
            log_r = np.log([float(row[f"{kind}(T={t})"]) for t in (10, 25, 40)])
            slopes.append((log_r - log_r.mean()) @ xc / (xc @ xc))  # least-squares slope of ln R on 1/T
    assert np.mean(slopes) == pytest.approx(P.activation_temperature, rel=0.05)


def test_resistance_scaling_gives_sub_milliohm_dc_resistance():
    r_dc = P.r0_discharge.scalar(0.5) + P.r1 + P.r2
    assert 0.5e-3 < r_dc < 0.7e-3  # 3/220 x 47.8 mOhm = 0.65 mOhm (reference note: 0.6-0.7 mOhm)


def test_scaled_cell_keeps_intensive_properties():
    big = scaled_to_capacity(P, 280 * 3600.0)
    assert big.capacity_ah == pytest.approx(280)
    assert big.r1 * big.capacity == pytest.approx(P.r1 * P.capacity)
    assert big.r0_charge.scalar(0.3) * 280 == pytest.approx(P.r0_charge.scalar(0.3) * 220)
    assert big.ocv is P.ocv and big.aging is P.aging
    assert big.cell_heat_capacity / big.capacity == pytest.approx(P.cell_heat_capacity / P.capacity)
    with pytest.raises(ParameterError, match="capacity must be positive"):
        scaled_to_capacity(P, -1.0)


def copy_set(tmp_path: Path) -> Path:
    shutil.copytree(PARAMS_DIR / "tables", tmp_path / "tables")
    target = tmp_path / "other.toml"
    shutil.copy(PARAMS_DIR / "lfp_220ah.toml", target)
    return target


def test_another_cell_is_another_file(tmp_path):
    path = copy_set(tmp_path)
    text = path.read_text().replace('name = "LFP/graphite prismatic 220 Ah"', 'name = "Sony US26650 3 Ah"')
    text = text.replace("capacity = { value = 220.0, unit = \"Ah\"", "capacity = { value = 3.0, unit = \"Ah\"")
    text = text.replace('scale = 0.0075', 'scale = 1.0')
    path.write_text(text)
    cell = load_parameters(path)
    assert cell.name == "Sony US26650 3 Ah"
    assert cell.capacity == 3 * 3600
    assert cell.r0_discharge.scalar(0.5) == pytest.approx(0.047827935)

    from battery_fmu.model import BatteryPack

    pack = BatteryPack(cell, soc=0.5)
    pack.step(10.0, 3.3 * 3.0, 0.0, 298.15)  # 1C
    assert pack.current == pytest.approx(3.0, rel=0.05)


def test_a_copied_set_finds_the_shipped_tables_and_its_own_first(tmp_path):
    alone = tmp_path / "alone.toml"
    shutil.copy(PARAMS_DIR / "lfp_220ah.toml", alone)  # no tables/ beside it: the shipped ones
    assert load_parameters(alone).ocv.scalar(0.5) == load_parameters().ocv.scalar(0.5)
    path = copy_set(tmp_path / "own")  # tables/ beside it win over the shipped ones
    ocv = path.parent / "tables" / "CLFP_Sony_US26650_OCV.csv"
    header, *rows = ocv.read_text().splitlines()
    column = header.split(",").index("OCV")
    shifted = [",".join(f"{float(v) + 0.1:.6f}" if i == column else v for i, v in enumerate(r.split(",")))
               for r in rows]
    ocv.write_text("\n".join([header, *shifted]) + "\n")
    assert load_parameters(path).ocv.scalar(0.5) == pytest.approx(load_parameters().ocv.scalar(0.5) + 0.1)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('voltage_min = { value = 2.5, unit = "V"', 'voltage_min = { value = "low", unit = "V"'),
     r"\[cell\] voltage_min: value must be a number, found 'low'"),
    (lambda t: t.replace('unit = "kg", source = "220', 'unit = "stone", source = "220'),
     r"\[thermal\] mass: unknown unit 'stone'"),
    (lambda t: t.replace("tau2 = {", "tau_two = {"), r"\[resistance\] tau2: missing"),
    (lambda t: t.replace('y = "OCV"', 'y = "Voltage"'), r"column 'Voltage' not in CLFP_Sony_US26650_OCV.csv"),
    (lambda t: t.replace('source = "BLAST-Lite default breakpoints_max_EFC_diff"', 'note = "x"'),
     r"\[aging.capacity\] chunk_efc: every value needs a `source`"),
    (lambda t: t.replace("current_max_charge = { value = 220.0", "current_max_charge = { value = -5.0"),
     r"\[cell\] current_max_charge: must be positive"),
])
def test_bad_parameter_files_are_reported_with_file_and_key(tmp_path, edit, message):
    path = copy_set(tmp_path)
    path.write_text(edit(path.read_text()))
    with pytest.raises(ParameterError, match=message) as info:
        load_parameters(path)
    assert "other.toml" in str(info.value)


def test_unknown_set_lists_the_known_ones():
    with pytest.raises(ParameterError, match=r"known sets: \['lfp_220ah', 'nmc_75ah'\]"):
        load_parameters("nmc_999ah")


def test_broken_toml_is_reported(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[cell\nname = 1\n")
    with pytest.raises(ParameterError, match="broken.toml: not valid TOML"):
        load_parameters(path)
