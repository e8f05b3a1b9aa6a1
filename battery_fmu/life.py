"""The aging model alone on a (time, SOC, temperature) profile, repeated for years (BLAST-Lite style).

The profile is repeated end to end; the step from its last sample to the first sample of
the next repetition takes the profile's median time step. By default energy throughput is
conserved as the cell fades: each SOC change of the profile is divided by the relative
capacity, so the SOC swing grows as the cell ages (BLAST-Lite's default), clipped to [0, 1];
every repetition starts again at the profile's first SOC.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from battery_fmu.aging_laws import aging_model
from battery_fmu.parameters import CellParameters, load_parameters
from cosim.textfile import TextFileError, read_text

SECONDS_PER_YEAR = 365.0 * 86400.0
#: Cell temperatures [degC] a profile may hold: below about -60 degC the electrolyte freezes, above about
#: 120 degC the separator melts and the cell goes into thermal runaway; the aging model means nothing there.
#: (Inside this range but outside the fitted one, the aging model warns and extrapolates.)
CELL_TEMPERATURE_DEGC = (-60.0, 120.0)
#: The longest life ``simulate_life`` projects [yr]: far past any cell's test data and any vehicle's life.
MAX_YEARS = 100.0
PROFILES_DIR = Path(__file__).parent / "data" / "profiles"


class ProfileError(ValueError):
    """A usage profile that cannot be read; the message names the file, the row and the column."""


@dataclass(frozen=True)
class Profile:
    """A usage profile: time [s], SOC [1] and cell temperature [K], one sample per row."""

    time: np.ndarray
    soc: np.ndarray
    temperature: np.ndarray
    source: str = ""

    @property
    def period(self) -> float:
        """Length of one repetition [s], including the step back to the first sample."""
        return float(self.time[-1] - self.time[0] + np.median(np.diff(self.time)))


def read_profile(path: str | Path) -> Profile:
    """Read a CSV with columns ``time_s,soc,temperature_degC``.

    A bare name (no folder, no suffix) is looked up among the shipped profiles.
    """
    path = Path(path)
    if not path.exists() and path.parent == Path(".") and (PROFILES_DIR / f"{path.name}.csv").exists():
        path = PROFILES_DIR / f"{path.name}.csv"
    if not path.exists():
        raise ProfileError(f"{path}: profile not found (shipped profiles: {', '.join(shipped_profiles())})")
    required = ("time_s", "soc", "temperature_degC")
    try:
        text = read_text(path, "CSV profile with columns time_s,soc,temperature_degC")
    except TextFileError as err:
        raise ProfileError(str(err)) from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ProfileError(f"{path}: missing column(s) {missing}; expected header {','.join(required)} "
                               f"(found {reader.fieldnames})")
        columns: dict[str, list[float]] = {c: [] for c in required}
        for row_number, row in enumerate(reader, start=2):
            for c in required:
                try:
                    value = float(row[c])
                except (TypeError, ValueError):
                    raise ProfileError(f"{path}:{row_number}: column {c}: expected a number, found {row[c]!r}") from None
                if not np.isfinite(value):
                    raise ProfileError(f"{path}:{row_number}: column {c}: not finite ({row[c]!r})")
                columns[c].append(value)
    t, soc, temp = (np.asarray(columns[c]) for c in required)
    _check_values(path, t, soc, temp)
    return Profile(t, soc, temp + 273.15, str(path))


def _check_values(path: Path, t: np.ndarray, soc: np.ndarray, temp: np.ndarray) -> None:
    """Raise :class:`ProfileError` at the first row a profile cannot have (rows count from the header, 1)."""
    if len(t) < 2:
        raise ProfileError(f"{path}: needs at least two rows, found {len(t)}")
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        raise ProfileError(f"{path}:{bad[0] + 3}: time_s must increase (found {t[bad[0] + 1]} after {t[bad[0]]})")
    bad = np.flatnonzero((soc < 0) | (soc > 1))
    if bad.size:
        raise ProfileError(f"{path}:{bad[0] + 2}: soc must lie in [0, 1], found {soc[bad[0]]}")
    bad = np.flatnonzero((temp < CELL_TEMPERATURE_DEGC[0]) | (temp > CELL_TEMPERATURE_DEGC[1]))
    if bad.size:
        raise ProfileError(
            f"{path}:{bad[0] + 2}: temperature_degC {temp[bad[0]]:g} is outside what a lithium-ion cell "
            f"survives ({CELL_TEMPERATURE_DEGC[0]:g} to {CELL_TEMPERATURE_DEGC[1]:g} degC)"
        )


def shipped_profiles() -> list[str]:
    """Names of the shipped usage profiles (those with the time_s,soc,temperature_degC header)."""
    names = []
    for p in sorted(PROFILES_DIR.glob("*.csv")):
        with open(p, encoding="utf-8-sig") as fh:
            if fh.readline().strip() == "time_s,soc,temperature_degC":
                names.append(p.stem)
    return names


@dataclass
class LifeResult:
    """Relative capacity and resistance at each whole year [1], and where they came from."""

    years: list[float] = field(default_factory=list)
    capacity: list[float] = field(default_factory=list)
    resistance: list[float] = field(default_factory=list)
    efc: list[float] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def q_final(self) -> float:
        return self.capacity[-1]

    @property
    def r_final(self) -> float:
        return self.resistance[-1]

    def to_json(self) -> dict:
        return {
            "years": self.years, "q": self.capacity, "r": self.resistance, "efc": self.efc,
            "q_final": self.q_final, "r_final": self.r_final, "warnings": self.warnings,
        }


def simulate_life(profile: Profile, years: float, params: CellParameters | None = None,
                  conserve_energy: bool = True, progress=None) -> LifeResult:
    """Run the aging model on ``profile`` repeated for ``years``.

    Parameters
    ----------
    profile : Profile
        Usage profile (SOC is relative to the capacity at the time).
    years : float
        Simulated duration [yr of 365 days].
    params : CellParameters, optional
        Cell parameters; the default cell when omitted.
    conserve_energy : bool
        Scale SOC changes by 1/relative capacity (constant energy per cycle).
    progress : callable, optional
        Called with the fraction done after each repetition.
    """
    if not 0.0 < years <= MAX_YEARS:
        raise ValueError(f"years must be above 0 and at most {MAX_YEARS:g} (got {years!r})")
    params = params or load_parameters()
    result = LifeResult()
    model = aging_model(params, warn=result.warnings.append)
    q_nominal = params.capacity
    duration = years * SECONDS_PER_YEAR
    # One repetition's intervals, the wrap-around interval included.
    t, soc, temp = profile.time, profile.soc, profile.temperature
    dts = np.append(np.diff(t), profile.period - (t[-1] - t[0])).tolist()
    dsocs = np.append(np.diff(soc), soc[0] - soc[-1]).tolist()
    temps = (0.5 * (temp + np.roll(temp, -1))).tolist()
    n = len(dts)

    result.years.append(0.0)
    result.capacity.append(model.soh_capacity)
    result.resistance.append(model.soh_resistance)
    result.efc.append(0.0)
    elapsed = 0.0
    next_year = SECONDS_PER_YEAR
    advance = model.advance
    while elapsed < duration - 1e-6:
        s = float(soc[0])
        for i in range(n):
            dt = dts[i]
            if elapsed + dt > duration:
                dt = duration - elapsed
            q = model.soh_capacity_committed if conserve_energy else 1.0
            s_new = s + dsocs[i] * (dt / dts[i]) / q
            s_new = 0.0 if s_new < 0.0 else (1.0 if s_new > 1.0 else s_new)
            # Current that moves the SOC this far against the actual capacity [A].
            current = (s - s_new) * model.soh_capacity_committed * q_nominal / dt
            advance(dt, s, s_new, temps[i], current)
            s = s_new
            elapsed += dt
            while elapsed >= next_year - 1e-6 and next_year <= duration + 1e-6:
                result.years.append(round(next_year / SECONDS_PER_YEAR, 6))
                result.capacity.append(model.soh_capacity)
                result.resistance.append(model.soh_resistance)
                result.efc.append(model.total_efc)
                next_year += SECONDS_PER_YEAR
            if elapsed >= duration - 1e-6:
                break
        if progress is not None:
            progress(min(elapsed / duration, 1.0))
    if result.years[-1] < years - 1e-9:
        result.years.append(years)
        result.capacity.append(model.soh_capacity)
        result.resistance.append(model.soh_resistance)
        result.efc.append(model.total_efc)
    _warn_past_the_fit(result, profile, params)
    return result


#: Relative capacity below which a projection is far past any cell's end of life (70-80 % in EVs).
FAR_PAST_END_OF_LIFE = 0.5


def _warn_past_the_fit(result: LifeResult, profile: Profile, params: CellParameters) -> None:
    """Warnings for a life outside what the model was fitted on: the temperatures, and a cell long dead."""
    a = params.aging
    low, high = float(profile.temperature.min()), float(profile.temperature.max())
    if low < a.cycling_temperature_min or high > a.cycling_temperature_max:
        result.warnings.append(
            f"cell temperatures from {low - 273.15:.1f} to {high - 273.15:.1f} degC, outside the fitted "
            f"{a.cycling_temperature_min - 273.15:g} to {a.cycling_temperature_max - 273.15:g} degC: the fade "
            "is extrapolated"
        )
    dead = next((y for y, q in zip(result.years, result.capacity, strict=True) if q < FAR_PAST_END_OF_LIFE), None)
    if dead is not None:
        result.warnings.append(
            f"capacity below {FAR_PAST_END_OF_LIFE:.0%} from year {dead:g}: far past a cell's end of life "
            "(70-80 %), where the model was not fitted; later figures mean nothing"
        )


def constant_profile(soc: float, temperature_degC: float, step: float = 3600.0) -> Profile:
    """A storage profile: constant SOC [1] and temperature [degC] (one day, hourly)."""
    t = np.arange(0.0, 86400.0, step)
    return Profile(t, np.full_like(t, soc), np.full_like(t, temperature_degC + 273.15), "constant")
