"""``evtwin ml surrogate FLEET.yaml``: the fleet report's warranty question, answered by the aging surrogates.

The vehicles are drawn from the fleet file as ``evtwin fleet run`` draws them (vehicle ``i`` from the
stream ``(seed, i)``, past the file's count where more are asked for), each one's year of usage is
drawn without simulation (:mod:`ml.usage_draw`), and the surrogate of its cells' parameter set
(:data:`ml.surrogate.SURROGATES`: LFP and NMC) gives its SOH after 1..10 years; a fleet with a vehicle
whose cells have no surrogate is refused, naming them, rather than answered for the others. At the
warranty point (whichever of its years and its km comes first, at the vehicle's drawn yearly distance)
the SOH is interpolated between whole years (from the pack's capacity factor at year 0).

Intervals (95 %) of each share: the vehicles are resampled (bootstrap), and each resampled vehicle's
SOH moves by a draw of its surrogate's own error against the physics (normal, with the RMSE that
surrogate's metadata states at that year: against held-out fleet runs, from their usage drawn as here,
where it was scored on them), so the interval holds both the sampling of a finite fleet and the error of
the drawn usage and the surrogate together.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from fleet.report import Warranty
from ml import surrogate as sg

LIMITS = (0.8, 0.7)
BOOTSTRAP = 2000


def draw_inputs(fleet_file: Path, n: int, covered=sg.SURROGATES
                ) -> dict[str, tuple[np.ndarray, np.ndarray, list]]:
    """Per cell parameter set: ``x`` of its vehicles among ``n`` drawn from the fleet file, their yearly
    distance [km] and the vehicles; refused in one line if a vehicle's set is not in ``covered``."""
    from ml.surrogate_train import drawn_by_parameter_set
    from ml.usage_draw import daily_stressors, usage_year

    groups = drawn_by_parameter_set(fleet_file, n)
    for name, vehicles in groups.items():
        if name not in covered:
            presets = ", ".join(sorted({v.preset for v in vehicles}))
            raise EvtwinError(
                f"{fleet_file}: {len(vehicles)} of the {n} vehicles drawn ({presets}) have {name} cells, for "
                f"which there is no aging surrogate (surrogates: {', '.join(covered) or 'none'}): run the "
                f"fleet instead (`evtwin fleet run {fleet_file}`)")
    out = {}
    for name, vehicles in sorted(groups.items()):
        days = [daily_stressors(usage_year(v)) for v in vehicles]
        factors = [{f: v.variation.get(f, 1.0) for f in sg.VARIATION} for v in vehicles]
        km = np.array([float(d["distance_km"].sum()) for d in days])
        out[name] = (sg.inputs(days, factors), km, vehicles)
    return out


def load_surrogates(models: list[Path] = ()) -> dict:
    """The surrogates to answer with, per cell parameter set: the registry's files, each replaced by one of
    ``models`` that learnt the same set (its metadata says which)."""
    from ml.onnx_model import OnnxModel

    features = [*sg.DAILY, *sg.VARIATION]
    chosen = {name: OnnxModel(sg.default_model(name), features=features) for name in sg.SURROGATES
              if sg.default_model(name).exists()}
    for path in models:
        model = OnnxModel(path, features=features)
        try:
            chosen[sg.model_parameter_set(model.info)] = model
        except EvtwinError as e:
            raise EvtwinError(f"{path}: {e}") from None
    return chosen


def soh_at(soh: np.ndarray, start: np.ndarray, t_years: np.ndarray) -> np.ndarray:
    """SOH at ``t_years`` of each vehicle, linear between its whole years (``start``: at year 0)."""
    grid = np.arange(0, sg.YEARS + 1, dtype=float)
    full = np.column_stack([start, soh])
    return np.array([np.interp(t, grid, row) for t, row in zip(t_years, full, strict=True)])


def model_error(model) -> np.ndarray:
    """A surrogate's RMSE against the physics per year [%-points]: against fleet runs from their drawn
    usage where it was scored so, else the best score its metadata holds."""
    metrics = model.info.metrics
    error = (metrics.get("rmse_fleet_runs_drawn_usage") or metrics.get("rmse_fleet_runs")
             or metrics.get("rmse_drawn_held_out") or [0.0] * sg.YEARS)
    return np.asarray(error, dtype=float)


def at_warranty(groups: dict, surrogates: dict, warranty: Warranty) -> dict:
    """Per vehicle, in the groups' order: its SOH at the warranty point, its surrogate's error there
    [1], whether the km came first, its vehicle and cell parameter set; and each surrogate's error
    per year [%-points]."""
    out: dict = {"soh": [], "sigma": [], "at_km": [], "vehicles": [], "sets": [], "errors": {}}
    for name, (x, km, members) in groups.items():
        soh = surrogates[name].run(x).astype(float)
        t_w = np.minimum(warranty.years, warranty.km / np.maximum(km, 1e-9))
        out["soh"].append(soh_at(soh, x[:, 0, len(sg.DAILY)].astype(float), t_w))
        error = out["errors"][name] = model_error(surrogates[name])
        out["sigma"].append(np.interp(t_w, np.arange(1, sg.YEARS + 1), error) / 100.0)
        out["at_km"].append(t_w < warranty.years)
        out["vehicles"] += members
        out["sets"] += [name] * len(members)
    for key in ("soh", "sigma", "at_km"):
        out[key] = np.concatenate(out[key])
    return out


def resample(soh_w: np.ndarray, sigma: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """:data:`BOOTSTRAP` resampled fleets: which vehicles ``[BOOTSTRAP, n]`` and their SOH, each moved by a
    normal draw of its surrogate's error ``sigma`` [1]."""
    n = len(soh_w)
    pick = rng.integers(0, n, size=(BOOTSTRAP, n))
    return pick, soh_w[pick] + sigma[pick] * rng.standard_normal((BOOTSTRAP, n))


def share_under(soh_w: np.ndarray, limit: float, resampled: np.ndarray, members=None) -> dict:
    """The share of vehicles (of ``members``, a mask over them, or all) under ``limit`` [1], and its 95 %
    interval over the resampled fleets (``members`` a mask over their picks)."""
    under = resampled < limit
    if members is None:
        boot = np.mean(under, axis=1)
    else:
        boot = np.sum(under & members, axis=1) / np.maximum(np.sum(members, axis=1), 1)
    return {"ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
            "share": float(np.mean(soh_w < limit))}


def answer(fleet_file: Path, warranty: Warranty, n: int = 1000, models: list[Path] = (),
           seed: int = 0) -> dict:
    """The shares under :data:`LIMITS` and the warranty's SOH at the warranty point, with intervals."""
    if warranty.years > sg.YEARS:
        raise EvtwinError(f"--warranty: {warranty.years:g} years is past the surrogate's {sg.YEARS} years")
    surrogates = load_surrogates(list(models))
    cpu0 = time.process_time()
    groups = draw_inputs(fleet_file, n, covered=surrogates)
    cpu1 = time.process_time()
    w = at_warranty(groups, surrogates, warranty)
    cpu2 = time.process_time()
    soh_w, sigma = w["soh"], w["sigma"]
    pick, resampled = resample(soh_w, sigma, np.random.default_rng(seed))
    shares = {f"{limit:.2f}": share_under(soh_w, limit, resampled)
              for limit in sorted({*LIMITS, warranty.soh}, reverse=True)}
    sets = np.array(w["sets"])
    by_set = _by(w["sets"], soh_w, warranty.soh)
    for name, row in by_set.items():
        mine = sets == name
        row["ci95"] = share_under(soh_w[mine], warranty.soh, resampled, mine[pick])["ci95"]
    return {
        "fleet": str(fleet_file), "vehicles": len(soh_w), "warranty": warranty.__dict__,
        "judged_at_km": int(np.sum(w["at_km"])),
        "soh_at_warranty": {"median": float(np.median(soh_w)), "p5": float(np.percentile(soh_w, 5)),
                            "p95": float(np.percentile(soh_w, 95))},
        "under": shares,
        "by_parameter_set": by_set,
        "by_climate": _by([v.climate for v in w["vehicles"]], soh_w, warranty.soh),
        "cpu_s": {"usage_draws": cpu1 - cpu0, "surrogate": cpu2 - cpu1},
        "surrogate_rmse_pct_points": {name: e.tolist() for name, e in w["errors"].items()},
    }


def _by(labels: list, soh_w: np.ndarray, limit: float) -> dict:
    groups = np.array(labels)
    out = {}
    for g in sorted(set(labels)):
        s = soh_w[groups == g]
        out[str(g)] = {"vehicles": len(s), "median_soh": float(np.median(s)),
                       "under_warranty": float(np.mean(s < limit))}
    return out


def print_answer(a: dict, say) -> None:
    w = a["warranty"]
    cpu = a["cpu_s"]
    say(f"{a['vehicles']} vehicles drawn from {a['fleet']} (none simulated): usage in "
        f"{cpu['usage_draws']:.1f} CPU s, SOH by the surrogates in {cpu['surrogate']:.2f} CPU s")
    say(f"warranty point: {w['years']:g} years or {w['km']:g} km, whichever comes first "
        f"({a['judged_at_km']} vehicles reach the km first); guaranteed SOH {w['soh']:.0%}")
    s = a["soh_at_warranty"]
    say(f"SOH at the warranty point: median {s['median']:.1%}, "
        f"5-95 % of vehicles {s['p5']:.1%}-{s['p95']:.1%}")
    for limit, row in a["under"].items():
        lo, hi = row["ci95"]
        say(f"  under {float(limit):.0%}: {row['share']:.1%} of vehicles (95 % interval {lo:.1%}-{hi:.1%})")
    for title, key in (("cell", "by_parameter_set"), ("climate", "by_climate")):
        say(f"by {title} (median SOH at the warranty point, share under the guaranteed SOH):")
        for name, row in a[key].items():
            interval = f" (95 % interval {row['ci95'][0]:.1%}-{row['ci95'][1]:.1%})" if "ci95" in row else ""
            say(f"  {name:12} {row['vehicles']:5d} vehicles  {row['median_soh']:.1%}  "
                f"{row['under_warranty']:.1%}{interval}")
    for name, rmse in a["surrogate_rmse_pct_points"].items():
        say(f"the {name} surrogate's RMSE against the physics, %-points, years 1..10: "
            + " ".join(f"{v:.2f}" for v in rmse))
