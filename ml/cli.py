"""``evtwin ml``: datasets from fleet runs, training, evaluation and ONNX export of SOH forecasters."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def ml() -> None:
    """SOH forecasters: datasets from fleet runs, training, evaluation, ONNX export."""


@ml.command("dataset")
@click.argument("fleet", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The dataset file to write (HDF5).")
@click.option("--period-days", type=click.IntRange(min=1), default=7, show_default=True,
              help="Days per row (7: vehicle-weeks, 1: vehicle-days).")
@click.option("--hold-out-climate", "held_out", multiple=True,
              help="Climate whose vehicles form the climate_test split (repeatable; default: the rarest "
                   "climate when there are two or more).")
def dataset(fleet: Path, output: Path, period_days: int, held_out: tuple[str, ...]) -> None:
    """Turn the run of FLEET (a fleet run folder, or FLEET.yaml run to results/<name>) into a dataset."""
    from ml import dataset as ds_mod

    folder = ds_mod.fleet_folder(fleet)
    ds = ds_mod.build(folder, period_days, held_out=list(held_out) if held_out else None)
    ds_mod.save(ds, output, folder)
    counts = {s: int((ds.vehicles["split"] == s).sum()) for s in ds_mod.SPLITS}
    click.echo(f"{output}: {len(ds.rows['vehicle'])} vehicle-periods of {period_days} d, "
               f"{len(ds.vehicles['vehicle_id'])} vehicles (" + ", ".join(f"{k} {v}" for k, v in counts.items())
               + f"), {len(ds.features)} features")
