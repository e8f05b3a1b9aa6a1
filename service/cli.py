"""``evtwin serve`` and ``evtwin service key create``: run the twin service, give fleets their keys."""

from __future__ import annotations

import os

import click

from service.db import DEFAULT_URL

_DB_HELP = f"Database: sqlite:///PATH or postgresql://USER@HOST/NAME (default {DEFAULT_URL})."


@click.command()
@click.option("--db", "db_url", default=DEFAULT_URL, show_default=True, help=_DB_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes; they share the database.",
)
@click.option(
    "--forecast-model",
    type=click.Path(exists=True, dir_okay=False),
    help="SOH forecaster (an ONNX file from `evtwin ml export`) for GET /vehicles/{id}/forecast.",
)
def serve(db_url: str, host: str, port: int, workers: int, forecast_model: str | None) -> None:
    """Run the live twin service (API at /docs, dashboard at /)."""
    import uvicorn

    from service.app import ENV_DB, ENV_FORECAST
    from service.db import Database

    Database(db_url).close()  # a bad URL or an unreachable database fails here, in one line
    if forecast_model:
        from service.forecast import Forecaster

        Forecaster(forecast_model)
    os.environ[ENV_DB] = db_url
    os.environ[ENV_FORECAST] = forecast_model or ""
    uvicorn.run(
        "service.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        timeout_graceful_shutdown=5,
    )


@click.group()
def service() -> None:
    """The twin service's administration: API keys."""


@service.group()
def key() -> None:
    """API keys of fleets."""


@key.command("create")
@click.argument("fleet")
@click.option("--db", "db_url", default=DEFAULT_URL, show_default=True, help=_DB_HELP)
def key_create(fleet: str, db_url: str) -> None:
    """Create an API key for FLEET; the key is printed alone on the last line, and only once."""
    from service.db import Database
    from service.keys import create_key

    db = Database(db_url)
    try:
        new = create_key(db, fleet)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="FLEET") from None
    finally:
        db.close()
    click.echo(
        f"API key for fleet {fleet!r} (stored hashed: keep it now, it cannot be shown again):", err=True
    )
    click.echo(new)
