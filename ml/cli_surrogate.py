"""``evtwin ml loop-plot``, ``train-surrogate`` and ``surrogate``: the forecaster in the loop and the aging
surrogate (joined to the ``evtwin ml`` group by :mod:`ml.cli`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("loop-plot")
@click.argument("result", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The PNG to write.")
def loop_plot(result: Path, output: Path) -> None:
    """Plot the forecasts of a run with the SOH forecaster in the loop against its physics battery.

    RESULT: the result file of scenarios/soh_forecast_in_loop.yaml (or a scenario wired alike).
    """
    from ml.loop_plot import describe, plot_forecast_in_loop

    path, pairs = plot_forecast_in_loop(result, output)
    click.echo(f"wrote {path}\n{describe(pairs)}")


@click.command("train-surrogate")
@click.option("--parameter-set", default="lfp_220ah", show_default=True,
              help="The cell parameter set whose aging the surrogate learns (lfp_220ah, nmc_75ah).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The ONNX file to write (default: the one evtwin ships for the parameter set, "
              "under ml/data).")
@click.option("--vehicles", type=click.IntRange(min=10), default=800, show_default=True,
              help="Vehicles to draw and age (a fifth held out).")
@click.option("--epochs", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--validate", "folders", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A fleet run folder whose finished vehicles with the parameter set's cells score the "
              "surrogate against the physics (repeatable).")
def train_surrogate(parameter_set: str, output: Path | None, vehicles: int, epochs: int,
                    folders: tuple[Path, ...]) -> None:
    """Train an aging surrogate (a year of daily usage -> SOH after 1..10 years) and export it to ONNX."""
    from ml.surrogate import default_model, registered
    from ml.surrogate_train import train as run_training

    registered(parameter_set, "--parameter-set: ")
    output = output or default_model(parameter_set)
    metrics = run_training(output, vehicles, epochs, list(folders), parameter_set, say=click.echo)
    for key in ("rmse_drawn_held_out_laws_alone", "rmse_drawn_held_out", "rmse_fleet_runs_laws_alone",
                "rmse_fleet_runs", "rmse_fleet_runs_drawn_usage"):
        if key in metrics:
            click.echo(f"{key} [%-points, years 1..10]: " + " ".join(f"{v:.3f}" for v in metrics[key]))
    click.echo(f"wrote {output}")


@click.command("surrogate")
@click.argument("fleet_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--warranty", default="8 yr, 160000 km, 0.7", show_default=True,
              help="Warranty point: years, km (whichever comes first) and the guaranteed capacity SOH.")
@click.option("--vehicles", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Vehicles to draw from the fleet file's distributions.")
@click.option("--model", "models", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A surrogate's ONNX file, in place of the one evtwin ships for the cell parameter set it "
              "learnt (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def surrogate(fleet_file: Path, warranty: str, vehicles: int, models: tuple[Path, ...],
              as_json: bool) -> None:
    """The fleet report's warranty question for vehicles drawn from FLEET_FILE, by the aging surrogates.

    No vehicle is simulated: each one's year of usage is drawn and the surrogate (ONNX) of its cells
    (LFP or NMC) gives its SOH after 1..10 years; shares under 80 % and 70 % at the warranty point come
    with 95 % intervals.
    """
    import json

    from fleet.report import Warranty
    from ml.surrogate_warranty import answer, print_answer

    result = answer(fleet_file, Warranty.parse(warranty), vehicles, list(models))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        print_answer(result, click.echo)
