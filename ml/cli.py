"""``evtwin ml``: datasets from fleet runs, training, evaluation and ONNX export of SOH forecasters."""

from __future__ import annotations

from pathlib import Path

import click

#: The models `evtwin ml train` knows (ml.training.CLASSES; repeated here so --help imports no model).
TRAINABLE = ("forest", "lstm", "transformer", "pinn")


@click.group()
def ml() -> None:
    """SOH forecasters: datasets from fleet runs, training, evaluation, ONNX export."""


@ml.command("dataset")
@click.argument("fleet", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The dataset file to write (HDF5).",
)
@click.option(
    "--period-days",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    help="Days per row (7: vehicle-weeks, 1: vehicle-days).",
)
@click.option(
    "--hold-out-climate",
    "held_out",
    multiple=True,
    help="Climate whose vehicles form the climate_test split (repeatable; default: the rarest "
    "climate when there are two or more).",
)
@click.option(
    "--bms-noise",
    type=click.FloatRange(min=0.0),
    default=None,
    help="sd of the reported SOH's independent error per report, %-points (default: ml/bms.py's).",
)
@click.option(
    "--bms-bias0",
    type=click.FloatRange(min=0.0),
    default=None,
    help="sd of each vehicle's BMS bias when new, %-points (default: ml/bms.py's; 0.5: the harsher "
    "sensitivity case).",
)
@click.option(
    "--bms-drift",
    type=click.FloatRange(min=0.0),
    default=None,
    help="Random-walk drift of the bias, %-points per sqrt(year) (default: ml/bms.py's; 0.5: the "
    "harsher case).",
)
def dataset(
    fleet: Path,
    output: Path,
    period_days: int,
    held_out: tuple[str, ...],
    bms_noise: float | None,
    bms_bias0: float | None,
    bms_drift: float | None,
) -> None:
    """Turn the run of FLEET (a fleet run folder, or FLEET.yaml run to results/<name>) into a dataset.

    The reported SOH is the true SOH plus the BMS model's noise and drifting bias (ml/bms.py)."""
    from ml import dataset as ds_mod
    from ml.bms import BmsModel

    folder = ds_mod.fleet_folder(fleet)
    given = {"noise": bms_noise, "bias0": bms_bias0, "drift_per_sqrt_year": bms_drift}
    bms = BmsModel(**{k: v / 100.0 for k, v in given.items() if v is not None})
    ds = ds_mod.build(folder, period_days, bms=bms, held_out=list(held_out) if held_out else None)
    ds_mod.save(ds, output, folder)
    counts = {s: int((ds.vehicles["split"] == s).sum()) for s in ds_mod.SPLITS}
    click.echo(
        f"{output}: {len(ds.rows['vehicle'])} vehicle-periods of {period_days} d, "
        f"{len(ds.vehicles['vehicle_id'])} vehicles ("
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f"), {len(ds.features)} features"
    )


@ml.command("train")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/models"),
    show_default=True,
    help="Folder of the trained models.",
)
@click.option(
    "--history",
    type=click.IntRange(min=2),
    default=104,
    show_default=True,
    help="Periods of history a forecast sees (104 weeks: two years).",
)
@click.option(
    "--horizons", default="52,260", show_default=True, help="Periods ahead to forecast, comma-separated."
)
@click.option(
    "--stride",
    type=click.IntRange(min=1),
    default=13,
    show_default=True,
    help="Periods between forecast origins in a vehicle's series.",
)
@click.option(
    "--models",
    "names",
    default=",".join(TRAINABLE),
    show_default=True,
    help="Models to train, comma-separated; the ensemble is their mean.",
)
@click.option(
    "--trees", type=click.IntRange(min=1), default=200, show_default=True, help="Trees of the forest."
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Epochs of every network (default: each one's own: LSTM 60, transformer 40, PINN 150).",
)
@click.option(
    "--hidden", type=click.IntRange(min=1), default=32, show_default=True, help="State size of the networks."
)
@click.option(
    "--calibration-folds",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Refits of each model without a fold of the training vehicles, whose residuals join the "
    "calibration vehicles' in setting its interval (0: the calibration vehicles alone).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Workers of the training fleet's run (without DATA; default: the CPU count).",
)
def train(
    data: Path | None,
    output: Path,
    history: int,
    horizons: str,
    stride: int,
    names: str,
    trees: int,
    epochs: int | None,
    hidden: int,
    calibration_folds: int,
    workers: int | None,
) -> None:
    """Train the forecasters on DATA (from `evtwin ml dataset`), with 90 % conformal intervals.

    Without DATA: the default training fleet is run once to results/ml, its dataset built to
    results/ml.h5 (both kept for next time), and the default configuration trained.
    """
    import time

    from ml import dataset as ds_mod
    from ml.task import Task
    from ml.training import train as run_training

    started = time.perf_counter()
    models = _models(names)
    if data is None:
        from ml.defaults import default_dataset

        data = default_dataset(click.echo, workers)
    task = Task(history, _horizons(horizons), stride)
    nets = {} if epochs is None else {"epochs": epochs}
    config = {
        "forest": {"n_estimators": trees},
        "lstm": {"hidden": hidden, **nets},
        "transformer": {"width": max(4, hidden - hidden % 4), **nets},
        "pinn": {"hidden": hidden, **nets},
        "calibration_folds": calibration_folds,
    }
    meta = run_training(ds_mod.load(data), output, task, models=models, config=config, say=click.echo)
    click.echo(
        f"{output}: {', '.join(meta['models'])} ({meta['calibration_windows']} calibration windows) "
        f"in {time.perf_counter() - started:.0f} s"
    )


def _models(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in TRAINABLE]
    if not names or unknown:
        raise click.BadParameter(f"{text!r}: choose from {', '.join(TRAINABLE)}", param_hint="--models")
    return names


@ml.command("evaluate")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option(
    "-m",
    "--models",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/models"),
    show_default=True,
    help="Folder of the trained models.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also plot the forecasts with their intervals for a few test vehicles (PNG), and beside it "
    "(NAME_held_out_climate.png) for a few vehicles of the held-out climates.",
)
@click.option(
    "--folds",
    type=click.IntRange(min=0),
    default=None,
    help="Cross-validate: train the models' configuration FOLDS times, each vehicle outside the held-out "
    "climates a test vehicle once, and score all their forecasts (beside the trained models' own split); "
    "0: the trained models' own test split only. Default: 6 for the default dataset, else 0.",
)
def evaluate(
    data: Path | None, models: Path, as_json: bool, plot_file: Path | None, folds: int | None
) -> None:
    """Score the trained models and the baselines on DATA's held-out vehicles and climates.

    Without DATA: the default dataset (results/ml.h5, from `evtwin ml train` without arguments),
    cross-validated in 6 folds (a few minutes: its single split holds out too few vehicles for the
    coverage figure to say much).
    """
    import json

    from ml import dataset as ds_mod
    from ml.defaults import DATASET, EVALUATE_FOLDS
    from ml.training import evaluate as run_evaluation

    if data is None and not DATASET.exists():
        from cosim.errors import EvtwinError

        raise EvtwinError(f"{DATASET} does not exist: `evtwin ml train` without arguments builds it")
    if folds is None:
        folds = EVALUATE_FOLDS if data is None else 0
    data = data or DATASET
    ds = ds_mod.load(data)
    if folds == 0:
        result = run_evaluation(models, ds)
    else:
        from ml.crossval import cross_validate
        from ml.training import load_models

        if folds < 3:
            raise click.BadParameter(f"{folds}: give 0 (no cross-validation) or at least 3", param_hint="--folds")
        meta = load_models(models, ds)[0]
        result = cross_validate(ds, meta, folds, lambda line: click.echo(line, err=True))
        result["single_split"] = run_evaluation(models, ds)
    if plot_file is not None:
        from ml.plots import plot_forecast_files

        for path in plot_forecast_files(models, ds, plot_file):
            click.echo(f"wrote {path}", err=as_json)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    crossed = f", cross-validated in {result['folds']} folds" if "folds" in result else ""
    _print_scores(f"held-out vehicles{crossed}", result)
    if result["held_out_climates"]:
        _print_scores(f"held-out climates{crossed}", result["held_out_climates"])
    if "single_split" in result:
        _print_scores("the trained models on their own test split", result["single_split"])


def _horizons(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r}: give whole numbers of periods, e.g. 52,260") from None
    if not values or min(values) < 1:
        raise click.BadParameter(f"{text!r}: horizons must be at least 1 period")
    return values


def _print_scores(title: str, result: dict) -> None:
    keys = [k for k in result if k.startswith("rmse_")]
    click.echo(
        f"{title}: {result['vehicles']} vehicles, {result['windows']} forecasts; RMSE in %-points of SOH"
    )
    click.echo(f"  {'':18}" + "".join(f"{k:>11}" for k in keys) + f"{'within 5 %':>12}{'cover 90':>10}")
    rows = [(n, s) for n, s in result["baselines"].items()] + list(result["models"].items())
    if "floor" in result:  # what no forecaster can beat on these windows (ml/noise_floor.py)
        rows.append(("floor (oracle)", result["floor"]))
    for name, s in rows:
        cover = f"{s['coverage_90']:>10.3f}" if "coverage_90" in s else ""
        within = f"{s['within_5pct']:>12.3f}" if "within_5pct" in s else ""
        click.echo(f"  {name:18}" + "".join(f"{s[k]:>11.3f}" for k in keys) + within + cover)


@ml.command("export")
@click.option(
    "-m",
    "--models",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/models"),
    show_default=True,
    help="Folder of the trained models.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the ONNX files (default: the models folder).",
)
@click.option(
    "--ensemble",
    "ensemble_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the ensemble (the mean of the models, its calibrated 90 % intervals) as this one file.",
)
def export(models: Path, output: Path | None, ensemble_file: Path | None) -> None:
    """Write the trained models as ONNX files with their metadata (features, units, data hash, metrics)."""
    from ml.export import export as run_export
    from ml.export import export_ensemble
    from ml.training import load_models

    meta, trained = load_models(models)
    for path in run_export(meta, trained, output or models):
        click.echo(f"wrote {path}")
    if ensemble_file is not None:
        path = export_ensemble(meta, trained, ensemble_file)
        click.echo(f"wrote {path} (the ensemble of {', '.join(trained)})")


# The other commands live beside (ml/cli_surrogate.py: the loop and the surrogate; ml/cli_cells_charger.py:
# real cells and the RL charger); they join the group here.
from ml.cli_cells_charger import cycle_life, train_charger  # noqa: E402
from ml.cli_surrogate import loop_plot, surrogate, train_surrogate  # noqa: E402

for _command in (cycle_life, train_charger, loop_plot, train_surrogate, surrogate):
    ml.add_command(_command)
