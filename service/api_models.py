"""The request and response bodies of the API (they make its OpenAPI schema at ``/openapi.json``).

Every SOC and SOH is a fraction; times are unix seconds; temperatures of telemetry in degC, of the
battery step in K (as the battery twin's interface).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The most samples one telemetry request may carry.
MAX_BATCH = 5000
#: Vehicle ids: what may stand in a URL path segment and a log line.
VEHICLE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PackSpec(_Strict):
    """A pack stated by its parameters (the battery twin's names); unstated ones take its defaults."""

    parameter_set: str | None = Field(None, description="Cell parameter set, e.g. lfp_220ah or nmc_75ah")
    capacity_Ah: Finite | None = Field(None, description="Nominal cell capacity [A h]")
    n_series: int | None = Field(None, description="Cells in series")
    n_parallel: int | None = Field(None, description="Cells in parallel")
    coolant_connected: bool | None = Field(
        None, description="Whether the housing exchanges heat with a coolant"
    )

    def stated(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Registration(_Strict):
    """A vehicle to register: a preset id or a pack, and the SOC its twin starts from."""

    preset: str | None = Field(None, description="Vehicle preset id (`evtwin vehicles list`)", max_length=100)
    pack: PackSpec | None = None
    soc_init: Finite = Field(0.5, ge=0.0, le=1.0, description="Initial SOC estimate [1]")


class Sample(_Strict):
    """One telemetry sample (SI; temperature in degC). Ranges are checked per sample, not here, so
    that the valid rest of a batch is stored."""

    t: float = Field(description="Time [unix s]")
    current_A: float = Field(description="Pack current [A], positive discharging")
    voltage_V: float = Field(description="Pack terminal voltage [V]")
    temperature_degC: float = Field(description="Pack temperature [degC]")
    speed_mps: float | None = Field(None, description="Vehicle speed [m/s]")
    motor_torque_Nm: float | None = Field(None, description="Motor torque [N m]")
    motor_speed_radps: float | None = Field(None, description="Motor speed [rad/s]")
    soc_bms: float | None = Field(None, description="SOC the BMS reports [1]")


class Telemetry(_Strict):
    samples: list[Sample] = Field(max_length=MAX_BATCH, description=f"In time order; at most {MAX_BATCH}")


class TelemetryResult(BaseModel):
    accepted: int = Field(description="Samples stored by this request")
    duplicates: int = Field(description="Samples whose timestamp was stored already (not stored twice)")


class CellStateIn(_Strict):
    soc: Finite = Field(0.5, ge=0.0, le=1.0, description="[1]")
    v1_V: Finite = Field(0.0, ge=-5.0, le=5.0, description="First RC pair's voltage, per cell [V]")
    v2_V: Finite = Field(0.0, ge=-5.0, le=5.0, description="Second RC pair's voltage, per cell [V]")
    hysteresis_V: Finite = Field(0.0, ge=-1.0, le=1.0, description="Hysteresis voltage, per cell [V]")
    t_cell_K: Finite = Field(298.15, ge=200.0, le=400.0, description="Cell temperature [K]")
    t_housing_K: Finite = Field(298.15, ge=200.0, le=400.0, description="Housing temperature [K]")


class StepRequest(_Strict):
    """A pack, its state, and a power or a current held for ``dt_s``."""

    preset: str | None = Field(None, max_length=100)
    pack: PackSpec | None = None
    state: CellStateIn = CellStateIn()
    power_W: Finite | None = Field(
        None, ge=-5e6, le=5e6, description="Power at the terminals [W], + discharging"
    )
    current_A: Finite | None = Field(None, ge=-1e5, le=1e5, description="Pack current [A], + discharging")
    dt_s: Finite = Field(gt=0.0, le=86400.0, description="Step length [s]")
    t_ambient_K: Finite = Field(298.15, ge=200.0, le=400.0)
    t_coolant_K: Finite | None = Field(None, ge=200.0, le=400.0)
    soh_capacity: Finite = Field(1.0, gt=0.0, le=1.0, description="Capacity relative to nominal [1]")
    soh_resistance: Finite = Field(1.0, ge=1.0, le=10.0, description="Resistance relative to new [1]")

    @model_validator(mode="after")
    def _one_request(self):
        if (self.power_W is None) == (self.current_A is None):
            raise ValueError("give either power_W or current_A")
        return self


class Alert(BaseModel):
    kind: str
    severity: str
    message: str
    t: float = Field(description="When it was raised [unix s]")
