"""``evtwin ml cycle-life`` and ``train-charger``: the real cells' cycle life and the RL charging policy,
beside the SOH forecasters (joined to the ``evtwin ml`` group by :mod:`ml.cli`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("cycle-life")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also plot the cells' capacity and the predicted against the measured cycle life (PNG).",
)
def cycle_life(as_json: bool, plot_file: Path | None) -> None:
    """Cycle life of 45 real LFP cells (Attia et al. 2020) from their first 100 cycles, cross-validated."""
    import json

    from ml.cycle_life import evaluate as run_evaluation

    result = run_evaluation()
    if plot_file is not None:
        from ml.plots import plot_cycle_life

        click.echo(f"wrote {plot_cycle_life(plot_file)}", err=as_json)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        f"{result['cells']} cells, {result['protocols']} charge protocols; mean absolute % error of the "
        f"cycle life (Severson et al. 2019: {result['severson_2019_mape']} % from 100 cycles)"
    )
    click.echo(f"  {'':24}{'first 100 cycles':>18}{'protocol only':>15}{'training mean':>15}")
    for split in ("leave_one_cell_out", "leave_one_protocol_out"):
        s = result[split]
        click.echo(
            f"  {split.replace('_', ' '):24}{s['mape_first_100_cycles']:>17.1f}%"
            f"{s['mape_protocol_only']:>14.1f}%{s['mape_training_mean']:>14.1f}%"
        )


@click.command("train-charger")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("control/data/rl_charger.onnx"),
    show_default=True,
    help="The ONNX policy to write (its training metadata goes beside it, .json).",
)
@click.option("--timesteps", type=click.IntRange(min=64), default=40000, show_default=True,
              help="Environment steps of 15 min to train for.")
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True, help="Days per episode.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the training.")
@click.option("--eval-episodes", type=click.IntRange(min=0), default=4, show_default=True,
              help="Two-week episodes to compare the policy with the fixed rules on (0: none).")
def train_charger(output: Path, timesteps: int, days: int, seed: int, eval_episodes: int) -> None:
    """Train the RL charging policy (PPO on the twin's charging environment) and export it to ONNX."""
    from ml.rl_train import train_and_export

    meta = train_and_export(output, timesteps, days, seed, eval_episodes)
    click.echo(f"{output}: {timesteps} steps in {meta['training_seconds']:.0f} s")
    for name, row in meta.get("evaluation", {}).items():
        if isinstance(row, dict):
            click.echo(f"  {name:12s} return {row['return']:9.2f}  fade {row['fade']:.3e}  "
                       f"grid {row['grid_kWh']:.1f} kWh")
