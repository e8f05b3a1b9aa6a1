"""``evtwin ml train-surrogate``: the aging surrogate's training draws, its fit, its scores, its ONNX file.

One surrogate per cell parameter set (:data:`ml.surrogate.SURROGATES`). Training pairs: the vehicles of
the set's training fleet file (``ml/data/surrogate_fleet.yaml`` for the LFP cell,
``ml/data/surrogate_fleet_nmc_75ah.yaml`` for the NMC cell; drawn as a fleet draws them, never
simulated), each one's year of usage from :mod:`ml.usage_draw` and its SOH after 1..10 years from the
twin's aging model run on that year repeated, with the pack's drawn manufacturing factors. A fifth of
the draws is held out. Held-out fleet runs (``--validate DIR``, folders of ``evtwin fleet run``) score
the surrogate against the physics itself (their vehicles with the set's cells): their first year of
daily usage and their packs' factors in, their SOH at each whole year out.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from ml import surrogate as sg


def parameter_set_of(vehicle) -> str | None:
    """The cell parameter set of a drawn vehicle's pack (its aging laws follow its chemistry)."""
    from bridges.presets import get_preset
    from fleet.usage import parameter_set

    return parameter_set(get_preset(vehicle.preset))


def drawn_by_parameter_set(fleet_file: Path, n: int | None = None) -> dict[str, list]:
    """Vehicles ``0..n-1`` of the fleet file (its own count without ``n``), drawn as the fleet draws them,
    grouped by their cells' parameter set (in draw order within each)."""
    from fleet.spec import draw, load

    fleet = load(fleet_file)
    groups: dict[str, list] = {}
    for i in range(fleet.model.vehicles if n is None else n):
        v = draw(fleet.model, i)
        groups.setdefault(str(parameter_set_of(v)), []).append(v)
    return groups


def vehicles_of(fleet_file: Path, parameter_set: str, n: int | None = None) -> list:
    """The vehicles with ``parameter_set`` cells among vehicles ``0..n-1`` of the fleet file; refused in
    one line when none has."""
    from fleet.spec import load

    chosen = drawn_by_parameter_set(fleet_file, n).get(parameter_set, [])
    if not chosen:
        fleet = load(fleet_file)
        names = ", ".join(sorted(fleet.model.presets))
        count = fleet.model.vehicles if n is None else n
        raise EvtwinError(f"{fleet_file}: none of the {count} vehicles drawn has {parameter_set} cells "
                          f"(presets {names})")
    return chosen


def drawn_pairs(vehicles: list, parameter_set: str, say: Callable[[str], None] = print
                ) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and the aging model's SOH ``[n, 10]`` of each vehicle's drawn year repeated (its cells'
    ``parameter_set``)."""
    from ml.usage_draw import aging_path, daily_stressors, usage_year

    days, factors, soh = [], [], []
    started = time.process_time()
    for i, v in enumerate(vehicles):
        year = usage_year(v)
        q = aging_path(year, sg.YEARS, parameter_set)
        f = {name: v.variation.get(name, 1.0) for name in sg.VARIATION}
        soh.append(sg.soh_of(q, f))
        days.append(daily_stressors(year))
        factors.append(f)
        if (i + 1) % 100 == 0 or i + 1 == len(vehicles):
            cpu = time.process_time() - started
            say(f"  {i + 1}/{len(vehicles)} vehicles drawn and aged ({cpu:.0f} CPU s)")
    return sg.inputs(days, factors), np.array(soh)


def fleet_pairs(folder: Path, keys: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """From a fleet run (finished or not: its finished vehicles among ``keys``): ``x`` (each vehicle's
    first year, its pack's factors), the physics SOH at each whole year ``[n, 10]`` (NaN past the run's
    end) and the vehicle ids; vehicles with less than a year are left out."""
    from fleet.store import FleetStore

    store = FleetStore(folder)
    tables, factors, soh, ids = [], [], [], []
    ends = np.arange(1, sg.YEARS + 1) * sg.DAYS - 1
    for key in sorted(set(store.done()) & set(keys)):
        attrs, daily = store.read_vehicle(key)
        col = daily["soh_capacity"]
        if len(col) < sg.DAYS:
            continue
        tables.append(daily)
        factors.append({name: float(attrs.get(f"truth_{name}", 1.0)) for name in sg.VARIATION})
        soh.append(np.where(ends < len(col), col[np.minimum(ends, len(col) - 1)], np.nan))
        ids.append(f"{Path(folder).name}/{key}")
    if not tables:
        empty = np.zeros((0, sg.DAYS, len(sg.DAILY) + len(sg.VARIATION)), np.float32)
        return empty, np.zeros((0, sg.YEARS)), []
    return sg.inputs(tables, factors), np.array(soh), ids


def fleet_validation(folders: list[Path], parameter_set: str = "lfp_220ah"
                     ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """:func:`fleet_pairs` of every folder's vehicles with ``parameter_set`` cells together, and ``x`` of
    the same vehicles' drawn years (what the warranty question reads: the fleet file kept in each run
    folder draws them again); refused when no folder has a finished one with a whole year."""
    from fleet.spec import load
    from ml.usage_draw import daily_stressors, usage_year

    xs, ys, ids, drawn = [], [], [], []
    for folder in folders:
        vehicles = {v.vehicle_id: v for v in load(Path(folder) / "fleet.yaml").vehicles
                    if parameter_set_of(v) == parameter_set}
        x, y, names = fleet_pairs(Path(folder), list(vehicles))
        chosen = [vehicles[name.split("/")[-1]] for name in names]
        days = [daily_stressors(usage_year(v)) for v in chosen]
        drawn.append(sg.inputs(days, [v.variation for v in chosen]) if chosen else x)
        xs.append(x)
        ys.append(y)
        ids += names
    if not ids:
        where = ", ".join(map(str, folders))
        raise EvtwinError(f"{where}: no finished vehicle with {parameter_set} cells and a whole year of days")
    return np.concatenate(xs), np.concatenate(ys), ids, np.concatenate(drawn)


def train(output: Path, n: int, epochs: int, validate: list[Path], parameter_set: str = "lfp_220ah",
          say: Callable[[str], None] = print, seed: int = 0) -> dict:
    """Draw, age, fit, score and export the surrogate of ``parameter_set``; the metrics its file carries."""
    fleet_file = sg.training_fleet(parameter_set)
    say(f"drawing {n} vehicles of {fleet_file.name} and ageing each one's year for {sg.YEARS} years "
        f"({parameter_set} cells)")
    vehicles = vehicles_of(fleet_file, parameter_set, n)
    x, soh = drawn_pairs(vehicles, parameter_set, say)
    n = len(vehicles)
    order = np.random.default_rng(seed).permutation(n)
    test, fit = order[: n // 5], order[n // 5:]
    model = sg.AgingSurrogate(x[fit], parameter_set, seed=seed)
    law_only = sg.rmse(model.predict(x[test]), soh[test])
    say(f"training on {len(fit)} draws, {epochs} epochs")
    model.fit(x[fit], soh[fit], epochs=epochs, say=say)
    metrics: dict = {
        "rmse_drawn_held_out": sg.rmse(model.predict(x[test]), soh[test]),
        "rmse_drawn_held_out_laws_alone": law_only,
        "drawn_vehicles": n, "drawn_held_out": len(test),
    }
    if validate:
        xv, yv, ids, drawn = fleet_validation(validate, parameter_set)
        metrics["rmse_fleet_runs"] = sg.rmse(model.predict(xv), yv)
        metrics["rmse_fleet_runs_drawn_usage"] = sg.rmse(model.predict(drawn), yv)
        laws = sg.AgingSurrogate(x[fit], parameter_set)  # its correction at zero
        metrics["rmse_fleet_runs_laws_alone"] = sg.rmse(laws.predict(xv), yv)
        metrics["fleet_vehicles"] = ids
        say(f"scored on {len(ids)} vehicles of fleet runs (their usage, and their usage drawn)")
    data_hash = hashlib.sha256(x.tobytes() + soh.tobytes()).hexdigest()
    from ml.onnx_model import save_model

    save_model(model.to_onnx(x[:1]), sg.model_info(data_hash, metrics, parameter_set), output)
    return metrics
