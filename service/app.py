"""The twin service's web application (FastAPI): routes, keys, limits and the dashboard's files.

:func:`create_app` builds it on a database URL; ``evtwin serve`` runs it under uvicorn, with one
or more worker processes that share the database (:func:`app_from_env` builds each worker's).
Data routes need the fleet's key in ``X-API-Key``; ``/health``, ``/docs``, ``/openapi.json`` and the
dashboard (``/`` and ``/static``) are open. A vehicle of another fleet answers 404, as one that does
not exist.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles

from service import keys, packs, store
from service.api_models import (
    VEHICLE_ID,
    Alert,
    Registration,
    StepRequest,
    Telemetry,
    TelemetryResult,
)
from service.db import Database, DatabaseError
from service.forecast import Forecaster, ForecastUnavailable
from service.limits import BodyLimit
from service.step_api import run_step

#: Environment variables that carry ``evtwin serve``'s options to each worker process.
ENV_DB, ENV_FORECAST = "EVTWIN_SERVICE_DB", "EVTWIN_FORECAST_MODEL"
STATIC = Path(str(files("service") / "static"))
VehicleId = Annotated[str, PathParam(pattern=VEHICLE_ID, description="The vehicle's id within its fleet")]
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The fleet's API key")


def _fleet_of(request: Request, key: Annotated[str | None, Depends(_key_header)]) -> str:
    """The fleet of the request's key; 401 without a valid one."""
    fleet = keys.fleet_of(request.app.state.db, key)
    if fleet is None:
        raise HTTPException(401, "missing or unknown API key (header X-API-Key)")
    return fleet


Fleet = Annotated[str, Depends(_fleet_of)]


def create_app(db_url: str, forecast_model: str | None = None) -> FastAPI:
    """The application on the database at ``db_url``; ``forecast_model``: an SOH forecaster's ONNX file."""
    db = Database(db_url)
    forecaster = Forecaster(forecast_model)
    app = FastAPI(
        title="evtwin battery twin service",
        version="1",
        description="Live battery digital twins of a fleet: telemetry in; SOC, SOH, temperature, "
        "forecasts and alerts out.",
    )
    app.state.db = db
    app.add_middleware(BodyLimit)
    _open_routes(app, db)
    _write_routes(app, db)
    _read_routes(app, db, forecaster)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _open_routes(app: FastAPI, db: Database) -> None:
    """Error answers and the routes that need no key."""

    @app.exception_handler(store.VehicleNotFound)
    def _not_found(request: Request, err: store.VehicleNotFound) -> JSONResponse:
        return JSONResponse({"detail": f"no vehicle {err.args[0]!r} in this fleet"}, status_code=404)

    @app.exception_handler(DatabaseError)
    def _db_down(request: Request, err: DatabaseError) -> JSONResponse:
        return JSONResponse({"detail": f"database unavailable: {err}"}, status_code=503)

    @app.get("/health", tags=["open"])
    def health() -> dict[str, Any]:
        """Whether the service and its database answer."""
        with db.transaction() as tx:
            tx.one("SELECT 1")
        return {
            "status": "ok",
            "database": "postgresql" if db.postgres else "sqlite",
            "worker_pid": os.getpid(),
        }


def _write_routes(app: FastAPI, db: Database) -> None:
    """The battery step and the routes that change a vehicle."""

    @app.post("/step", tags=["battery"])
    def step(req: StepRequest, fleet: Fleet) -> dict[str, Any]:
        """One stateless step of a pack under a power or a current: the new state and the outputs."""
        pack = _resolve(req.preset, req.pack)
        return run_step(packs.cell(pack), pack, req.model_dump())

    @app.put(
        "/vehicles/{vehicle_id}",
        tags=["vehicles"],
        status_code=201,
        responses={
            200: {"description": "Already registered as asked"},
            409: {"description": "Registered with another pack"},
        },
    )
    def register(vehicle_id: VehicleId, body: Registration, fleet: Fleet) -> JSONResponse:
        """Register a vehicle by a preset id or a pack, with its twin's initial SOC."""
        pack = _resolve(body.preset, body.pack)
        try:
            created = store.register(db, fleet, vehicle_id, {"pack": pack, "soc_init": body.soc_init})
        except store.RegistrationConflict as err:
            raise HTTPException(409, str(err)) from None
        return JSONResponse(
            {"vehicle_id": vehicle_id, "pack": pack, "created": created}, status_code=201 if created else 200
        )

    @app.post(
        "/vehicles/{vehicle_id}/telemetry",
        tags=["vehicles"],
        response_model=TelemetryResult,
        responses={422: {"description": "Samples rejected (index and field named); the rest stored"}},
    )
    def telemetry(vehicle_id: VehicleId, body: Telemetry, fleet: Fleet) -> Any:
        """Store a batch of samples (idempotent by timestamp) and advance the vehicle's twin over them."""
        batch = [s.model_dump() for s in body.samples]
        result = store.ingest(db, fleet, vehicle_id, batch)
        out = {"accepted": result.accepted, "duplicates": result.duplicates}
        if result.problems:
            return JSONResponse({"detail": result.problems, **out}, status_code=422)
        return out


def _read_routes(app: FastAPI, db: Database, forecaster: Forecaster) -> None:
    """The routes that read a vehicle or the fleet."""

    @app.get("/vehicles/{vehicle_id}/state", tags=["vehicles"])
    def state(vehicle_id: VehicleId, fleet: Fleet) -> dict[str, Any]:
        """SOC and its standard deviation, SOH of capacity and resistance, temperature, EFC, last sample."""
        return store.state(db, fleet, vehicle_id)

    @app.get("/vehicles/{vehicle_id}/history", tags=["vehicles"])
    def history(
        vehicle_id: VehicleId,
        fleet: Fleet,
        since: Annotated[float, Query(allow_inf_nan=False)] = 0.0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> list[dict[str, Any]]:
        """The twin's state after every minute of data since ``since`` [unix s], oldest first."""
        return store.history(db, fleet, vehicle_id, since, limit)

    @app.get(
        "/vehicles/{vehicle_id}/forecast",
        tags=["vehicles"],
        responses={503: {"description": "No forecaster configured, or it cannot forecast this vehicle"}},
    )
    def forecast(vehicle_id: VehicleId, fleet: Fleet) -> dict[str, Any]:
        """The SOH trajectory the ONNX forecaster predicts, with its interval."""
        store.state(db, fleet, vehicle_id)  # 404 before 503
        try:
            return forecaster.forecast(db, fleet, vehicle_id)
        except ForecastUnavailable as err:
            raise HTTPException(503, str(err)) from None

    @app.get("/vehicles/{vehicle_id}/alerts", tags=["vehicles"])
    def alerts(vehicle_id: VehicleId, fleet: Fleet) -> list[Alert]:
        """The vehicle's alerts, newest first."""
        return store.alerts(db, fleet, vehicle_id)

    @app.get("/fleet", tags=["vehicles"])
    def fleet_view(fleet: Fleet) -> dict[str, Any]:
        """Every vehicle of the key's fleet with its state and latest alerts."""
        return {"fleet": fleet, "vehicles": store.fleet(db, fleet)}


def _resolve(preset: str | None, pack: Any) -> dict[str, Any]:
    try:
        return packs.resolve(preset, None if pack is None else pack.stated())
    except packs.PackError as err:
        raise HTTPException(422, str(err)) from None


def app_from_env() -> FastAPI:
    """The application of one ``evtwin serve`` worker, configured by the environment it was given."""
    return create_app(os.environ[ENV_DB], os.environ.get(ENV_FORECAST) or None)
