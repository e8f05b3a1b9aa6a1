"""``evtwin ml train-surrogate``: the aging surrogate's training draws, its fit, its scores, its ONNX file.

Training pairs: the vehicles of ``ml/data/surrogate_fleet.yaml`` (drawn as a fleet draws them, never
simulated), each one's year of usage from :mod:`ml.usage_draw` and its SOH after 1..10 years from the
twin's aging model run on that year repeated, with the pack's drawn manufacturing factors. A fifth of
the draws is held out. Held-out fleet runs (``--validate DIR``, folders of ``evtwin fleet run``) score
the surrogate against the physics itself: their first year of daily usage and their packs' factors in,
their SOH at each whole year out.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from ml import surrogate as sg

FLEET_FILE = Path(__file__).parent / "data" / "surrogate_fleet.yaml"


def lfp_vehicles(fleet_file: Path, n: int | None = None) -> tuple[list, int]:
    """The LFP vehicles among vehicles ``0..n-1`` of the fleet file (its own count without ``n``), drawn
    as the fleet draws them, and how many others were left out (the surrogate learnt the LFP cell's laws
    only); refused when none is LFP."""
    from bridges.presets import get_preset
    from fleet.spec import draw, load
    from fleet.usage import parameter_set

    fleet = load(fleet_file)
    count = fleet.model.vehicles if n is None else n
    drawn = [draw(fleet.model, i) for i in range(count)]
    lfp = [v for v in drawn if parameter_set(get_preset(v.preset)) == sg.PARAMETER_SET]
    if not lfp:
        names = ", ".join(sorted(fleet.model.presets))
        raise EvtwinError(
            f"{fleet_file}: none of the {count} vehicles drawn has an LFP pack (presets {names}); the aging "
            f"surrogate learnt the {sg.PARAMETER_SET} cell's laws only: run the fleet instead "
            f"(`evtwin fleet run {fleet_file}`)"
        )
    return lfp, count - len(lfp)


def drawn_pairs(vehicles: list, say: Callable[[str], None] = print) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and the aging model's SOH ``[n, 10]`` of each vehicle's drawn year repeated."""
    from ml.usage_draw import aging_path, daily_stressors, usage_year

    days, factors, soh = [], [], []
    started = time.process_time()
    for i, v in enumerate(vehicles):
        year = usage_year(v)
        q = aging_path(year, sg.YEARS)
        f = {name: v.variation.get(name, 1.0) for name in sg.VARIATION}
        soh.append(sg.soh_of(q, f))
        days.append(daily_stressors(year))
        factors.append(f)
        if (i + 1) % 100 == 0 or i + 1 == len(vehicles):
            cpu = time.process_time() - started
            say(f"  {i + 1}/{len(vehicles)} vehicles drawn and aged ({cpu:.0f} CPU s)")
    return sg.inputs(days, factors), np.array(soh)


def fleet_pairs(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """From a fleet run (finished or not: its finished vehicles): ``x`` (each vehicle's first year, its
    pack's factors), the physics SOH at each whole year ``[n, 10]`` (NaN past the run's end) and the
    vehicle ids; vehicles with less than a year are left out."""
    from fleet.store import FleetStore

    store = FleetStore(folder)
    tables, factors, soh, ids = [], [], [], []
    ends = np.arange(1, sg.YEARS + 1) * sg.DAYS - 1
    for key in sorted(store.done()):
        attrs, daily = store.read_vehicle(key)
        col = daily["soh_capacity"]
        if len(col) < sg.DAYS:
            continue
        tables.append(daily)
        factors.append({name: float(attrs.get(f"truth_{name}", 1.0)) for name in sg.VARIATION})
        soh.append(np.where(ends < len(col), col[np.minimum(ends, len(col) - 1)], np.nan))
        ids.append(f"{Path(folder).name}/{key}")
    if not tables:
        raise EvtwinError(f"{folder}: no finished vehicle of a fleet run with a whole year of days")
    return sg.inputs(tables, factors), np.array(soh), ids


def fleet_validation(folders: list[Path]) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """:func:`fleet_pairs` of every folder together, and ``x`` of the same vehicles' drawn years (what
    the warranty question reads: the fleet file kept in each run folder draws them again)."""
    from fleet.spec import load
    from ml.usage_draw import daily_stressors, usage_year

    xs, ys, ids, drawn = [], [], [], []
    for folder in folders:
        x, y, names = fleet_pairs(Path(folder))
        vehicles = {v.vehicle_id: v for v in load(Path(folder) / "fleet.yaml").vehicles}
        chosen = [vehicles[name.split("/")[-1]] for name in names]
        days = [daily_stressors(usage_year(v)) for v in chosen]
        drawn.append(sg.inputs(days, [v.variation for v in chosen]))
        xs.append(x)
        ys.append(y)
        ids += names
    return np.concatenate(xs), np.concatenate(ys), ids, np.concatenate(drawn)


def train(output: Path, n: int, epochs: int, validate: list[Path], say: Callable[[str], None] = print,
          seed: int = 0) -> dict:
    """Draw, age, fit, score and export; the metrics the ONNX file carries."""
    say(f"drawing {n} vehicles of {FLEET_FILE.name} and ageing each one's year for {sg.YEARS} years")
    x, soh = drawn_pairs(lfp_vehicles(FLEET_FILE, n)[0], say)
    order = np.random.default_rng(seed).permutation(n)
    test, fit = order[: n // 5], order[n // 5:]
    model = sg.AgingSurrogate(x[fit], seed=seed)
    law_only = sg.rmse(model.predict(x[test]), soh[test])
    say(f"training on {len(fit)} draws, {epochs} epochs")
    model.fit(x[fit], soh[fit], epochs=epochs, say=say)
    metrics: dict = {
        "rmse_drawn_held_out": sg.rmse(model.predict(x[test]), soh[test]),
        "rmse_drawn_held_out_laws_alone": law_only,
        "drawn_vehicles": n, "drawn_held_out": len(test),
    }
    if validate:
        xv, yv, ids, drawn = fleet_validation(validate)
        metrics["rmse_fleet_runs"] = sg.rmse(model.predict(xv), yv)
        metrics["rmse_fleet_runs_drawn_usage"] = sg.rmse(model.predict(drawn), yv)
        metrics["fleet_vehicles"] = ids
        say(f"scored on {len(ids)} vehicles of fleet runs (their usage, and their usage drawn)")
    data_hash = hashlib.sha256(x.tobytes() + soh.tobytes()).hexdigest()
    from ml.onnx_model import save_model

    save_model(model.to_onnx(x[:1]), sg.model_info(data_hash, metrics), output)
    return metrics
