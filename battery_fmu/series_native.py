""":meth:`battery_fmu.model.BatteryPack.step_series` in C.

A fleet's vehicles spend most of their time in 10 s battery steps while driving, and in Python the
step's arithmetic is what costs (some 7 us a step). Here the pack's traced step
(:mod:`battery_fmu.step_compiled`: the look-ups and limits, the state's update) and its aging
law's rates (``traced_rates`` of :class:`battery_fmu.aging.AgingModel` and its NMC subclass, added
to the integrals its ``RATE_INTEGRALS`` names) are translated to C (:mod:`battery_fmu.trace_c`), and
the loop of ``step_series`` around them (the power request solved for a current, the limits, the
aging model's per-step accounting) is written out in C in the order of the Python code, so the
results agree bit for bit (``tests/test_fleet_fast_path.py`` compares them). A step at which the
aging model would close a chunk, and whatever the C loop cannot do, is left to the Python loop.

The library is compiled with gcc at first use into the user's cache folder (``$XDG_CACHE_HOME/evtwin``),
named by the hash of its source (one per cell design); without gcc, or with ``EVTWIN_ENGINE`` set to
``python`` or ``interpreter``, the Python loop runs.
"""

from __future__ import annotations

import ctypes as C
import hashlib
import os
import subprocess
import tempfile
from array import array
from pathlib import Path

from battery_fmu.series_python import step_series_python
from battery_fmu.trace_c import BISECT_C, Translation

#: The aging model's open chunk as the C loop keeps it (besides its law's rate integrals, which follow
#: :data:`FIELDS` in ``io``: ``RATE_INTEGRALS`` of :class:`battery_fmu.aging.AgingModel`).
_AGING = ("c_time", "c_efc", "c_crate", "c_temp", "c_soc_min", "c_soc_max", "c_direction", "c_charge_time",
          "c_charge_crate", "c_discharge_time", "c_discharge_crate", "r_cal")
#: The numbers that travel between Python and the C loop, in this order (``io`` in the C code).
FIELDS = (
    "soc", "v1", "v2", "hys", "tc", "th",  # the cell's state
    "ocv", "entropic", "r0c", "r0d", "r1", "r2",  # its look-ups,
    "lim_cd", "lim_cc", "lim_pd", "lim_pc", "e", "r_rc", "cap",  # limits, emf and capacity [C]
    "k_dt", "k_d1", "k_a1", "k_d2", "k_a2", "k_kb", "k_th0", "k_th1", "k_th2", "k_th3",  # step constants
    "i_charge", "tb", "cells", "ns", "npar",  # inputs
    *_AGING,  # the open chunk
    "r_cyc", "q_nominal", "crate_floor", "chunk_efc", "chunk_time", "v_resistance", "efc",  # aging constants
    "last_power", "last_current", "last_voltage", "last_heat", "last_housing", "reason",  # the last step
)
#: Why the C loop stopped: all steps taken, a limit (as the Python loop), a chunk closes at the next step.
DONE, LIMIT, CHUNK = 0, 1, 2
CFLAGS = ("-O2", "-shared", "-fPIC", "-ffp-contract=off", "-std=c99")

_LOOP = """
long evtwin_series(long n, const double *powers, const double *floors, const double *ceilings, double *io,
                   double *o_soc, double *o_current, double *o_voltage, double *o_temperature, double *o_efc) {
%(load)s
    double pcm = lim_pc * cells, pdm = lim_pd * cells;
    long j;
    reason = DONE;
    for (j = 0; j < n; j++) {
        if (floors[j] < -pcm || ceilings[j] > pdm) { reason = LIMIT; break; }
        /* BatteryPack.step: the power request solved for a current, within the limits */
        double power_load = powers[j];
        double p_cell = power_load / cells;
        int charging = p_cell < 0.0 || i_charge * ocv > p_cell;
        double r_eff = (charging ? r0c : r0d) + r_rc;
        double b = e + r_eff * i_charge;
        double disc = b * b - 4.0 * r_eff * p_cell;
        double i_vehicle = disc > 0.0 ? 2.0 * p_cell / (b + sqrt(disc)) : b / (2.0 * r_eff);
        double current = i_vehicle - i_charge;
        if (current > lim_cd) current = lim_cd;
        else if (current < -lim_cc) current = -lim_cc;
%(advance)s
        /* AgingModel.advance: a chunk that closes here is left to Python */
        double soc_end = %(new_soc)s, temperature = %(t_cell_mean)s;
        int direction = soc_end > soc ? 1 : (soc_end < soc ? -1 : 0);
        if (direction && c_direction != 0.0 && direction != c_direction && c_efc > chunk_efc) {
            reason = CHUNK; break;
        }
        double c_time_new = c_time + k_dt;
        if (c_time_new >= chunk_time - 1e-6) { reason = CHUNK; break; }
        if (direction) c_direction = direction;
        double soc_mid = 0.5 * (soc + soc_end);
%(rates)s
        /* the law's _accumulate_rates */
%(accumulate)s
        c_temp += temperature * k_dt;
        double abs_current = current >= 0.0 ? current : -current;
        if (abs_current > 0.0) {
            c_efc += abs_current * k_dt / (2.0 * q_nominal);
            if (abs_current >= crate_floor) {
                double crate = abs_current * 3600.0 / q_nominal;
                c_crate += crate * k_dt;
                if (current < 0.0) { c_charge_time += k_dt; c_charge_crate += crate * k_dt; }
                else { c_discharge_time += k_dt; c_discharge_crate += crate * k_dt; }
            }
        }
        if (soc_end < c_soc_min) c_soc_min = soc_end;
        else if (soc_end > c_soc_max) c_soc_max = soc_end;
        c_time = c_time_new;
%(commit)s
        double resistance_factor = 1.0 + r_cal + r_cyc;
%(prepare)s
%(commit_prepare)s
        pcm = lim_pc * cells; pdm = lim_pd * cells;
        o_soc[j] = soc; o_current[j] = current * npar; o_voltage[j] = %(voltage)s * ns; o_temperature[j] = tc;
        o_efc[j] = efc + c_efc;
        last_power = power_load; last_current = current; last_voltage = %(voltage)s; last_heat = %(heat)s;
        last_housing = %(t_housing_mean)s;
    }
%(store)s
    return j;
}
"""


def source(compiled, rates, integrals) -> str:
    """The C file for a pack's compiled step (:class:`battery_fmu.step_compiled.CompiledStep`), its aging
    model's traced rates and their integrals (``RATE_INTEGRALS``)."""
    fields = FIELDS + _extra(integrals)
    state = ["soc", "v1", "v2", "hys", "tc", "th"]
    k = ["k_dt", "k_d1", "k_a1", "k_d2", "k_a2", "k_kb", ["k_th0", "k_th1", "k_th2", "k_th3"]]
    look = ["ocv", "entropic", "r0c", "r0d", "r1", "r2"]
    advance = Translation(compiled.advance, "a_", {"state": state, "look": look, "k": k, "current": "current",
                                                     "t_boundary": "tb", "capacity": "cap"})
    new, means = advance.outputs[:6], advance.outputs[6:]
    rates_c = Translation(rates, "g_", {"soc_mid": "soc_mid", "temperature": "temperature"})
    prepare = Translation(compiled.prepare, "p_", {"state": state, "resistance_factor": "resistance_factor",
                                                     "capacity": "cap", "k": k})
    targets = look + ["lim_cd", "lim_cc", "lim_pd", "lim_pc", "e", "r_rc"]
    indent = "        "
    parts = {
        "load": "\n".join(f"    double {name} = io[{i}];" for i, name in enumerate(fields)),
        "store": "\n".join(f"    io[{i}] = {name};" for i, name in enumerate(fields)),
        "advance": "\n".join(indent + line for line in advance.lines),
        "new_soc": new[0], "t_cell_mean": means[3], "voltage": means[0], "heat": means[1],
        "t_housing_mean": means[4],
        "rates": "\n".join(indent + line for line in rates_c.lines),
        "accumulate": "\n".join(f"{indent}{name} += {rates_c.outputs[k]}{f' * {factor}' if factor else ''} * k_dt;"
                                 for name, k, factor in integrals),
        "commit": "\n".join(f"{indent}{name} = {value};" for name, value in zip(state, new, strict=True)),
        "prepare": "\n".join(indent + line for line in prepare.lines),
        "commit_prepare": "\n".join(f"{indent}{name} = {value};"
                                    for name, value in zip(targets, prepare.outputs, strict=True)),
    }
    header = "#include <math.h>\n" + f"#define DONE {DONE}\n#define LIMIT {LIMIT}\n#define CHUNK {CHUNK}\n"
    tables = "\n".join(advance.tables + rates_c.tables + prepare.tables)
    return header + BISECT_C + tables + "\n" + _LOOP % parts


def _extra(integrals) -> tuple[str, ...]:
    """The rate integrals that :data:`FIELDS` does not hold already."""
    return tuple(name for name, _, _ in integrals if name not in FIELDS)


_LIBRARIES: dict[str, object] = {}


def library(text: str):
    """The compiled ``evtwin_series`` of ``text`` (built now if needed); raises OSError when it cannot be."""
    tag = hashlib.sha256(text.encode()).hexdigest()[:16]
    run = _LIBRARIES.get(tag)
    if run is not None:
        return run
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evtwin"
    target = cache / f"battery-series-{tag}.so"
    if not target.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        fd, c_file = tempfile.mkstemp(suffix=".c", dir=cache)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        tmp = c_file[:-2] + ".so"
        try:
            done = subprocess.run(["gcc", *CFLAGS, "-o", tmp, c_file, "-lm"], capture_output=True, text=True,
                                  timeout=120)
            if done.returncode != 0:
                raise OSError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "gcc failed")
            os.replace(tmp, target)  # atomic: workers building at once all end with a whole file
        except subprocess.SubprocessError as err:
            raise OSError(str(err)) from err
        finally:
            for path in (c_file, tmp):
                if os.path.exists(path):
                    os.unlink(path)
    run = C.CDLL(str(target)).evtwin_series
    array = C.POINTER(C.c_double)
    run.argtypes = [C.c_long, array, array, array, array, array, array, array, array, array]
    run.restype = C.c_long
    _LIBRARIES[tag] = run
    return run


_RUNS: dict[tuple, object] = {}


def for_pack(pack):
    """The C loop for ``pack`` (a :class:`battery_fmu.model.BatteryPack`) with its rate integrals' names
    beyond :data:`FIELDS`, or None where the Python loop runs: no gcc, an aging model without traced
    rates, or ``$EVTWIN_ENGINE`` asking for Python."""
    from cosim.master.settings import default_engine

    traced = getattr(pack.aging, "traced_rates", None)
    rates = traced() if traced is not None and default_engine()[1] else None
    if rates is None:
        return None
    integrals = tuple(pack.aging.RATE_INTEGRALS)
    key = (pack._compiled.advance.__source__, pack._compiled.prepare.__source__, rates.__source__, integrals)
    if key not in _RUNS:
        try:
            _RUNS[key] = library(source(pack._compiled, rates, integrals)), _extra(integrals)
        except OSError:
            _RUNS[key] = None
    return _RUNS[key]


_AT = {name: i for i, name in enumerate(FIELDS)}


def step_series(pack, native, dt, powers, floors, current_charge, t_ambient, t_coolant, ceilings) -> tuple:
    """:meth:`battery_fmu.model.BatteryPack.step_series` through the C loop ``native`` (:func:`for_pack`),
    the steps at which a chunk closes through the Python loop; the same lists."""
    out = ([], [], [], [], [])
    start, n = 0, len(powers)
    while start < n:
        taken, reason = _run(pack, native, dt, powers[start:], floors[start:], ceilings[start:], current_charge,
                             t_ambient, t_coolant, out)
        start += taken
        if reason != CHUNK:
            break
        before = len(out[0])
        step_series_python(pack, dt, powers[start:start + 1], floors[start:start + 1], ceilings[start:start + 1],
                           current_charge, t_ambient, t_coolant, out)
        if len(out[0]) == before:  # a limit stopped it
            break
        start += 1
    return out


def _doubles(values):
    """A C array of ``values`` (Python floats), by way of an ``array`` (several times faster than ctypes'
    own constructor for a few dozen numbers)."""
    return (C.c_double * len(values)).from_buffer(array("d", values))


def _run(pack, native, dt, powers, floors, ceilings, current_charge, t_ambient, t_coolant, out) -> tuple[int, int]:
    """One call of the C loop from the pack's state; (steps taken, why it stopped)."""
    run, extra = native
    from battery_fmu.step import CellState, Limits, Lookups, boundary

    prep = pack._prep
    if prep is None or prep[2].dt != dt:
        prep = pack._prepare(dt)
    state, look, k, lim, e, r_rc, cap = prep
    aging, ns, npar = pack.aging, pack.n_series, pack.n_parallel
    _, tb = boundary(pack.p, t_ambient, t_coolant, pack.coolant_connected)
    i_charge = current_charge / npar
    crate_floor = aging._floor_current * aging.v_capacity * (1.0 - aging.q_cal - aging.q_cyc)  # as advance()
    io = _doubles([
        *state, *look, *lim, e, r_rc, cap, *k[:6], *k[6], i_charge, tb, ns * npar, ns, npar,
        *(getattr(aging, name) for name in _AGING), aging.r_cyc, aging.q_nominal, crate_floor, aging.a.chunk_efc,
        aging.a.chunk_time, aging.v_resistance, aging.efc, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        *(getattr(aging, name) for name in extra)])
    n = len(powers)
    arrays = [_doubles(values) for values in (powers, floors, ceilings)]
    outputs = [(C.c_double * n)() for _ in range(5)]
    taken = run(n, *arrays, io, *outputs)
    if taken:
        for column, values in zip(out, outputs):
            column += values[:taken]
        values = io[:]
        for name in _AGING:
            setattr(aging, name, values[_AT[name]])
        for name, value in zip(extra, values[len(FIELDS):], strict=True):
            setattr(aging, name, value)
        aging.c_direction = int(aging.c_direction)
        new = tuple.__new__(CellState, values[0:6])
        pack._prep = (new, tuple.__new__(Lookups, values[6:12]), k, tuple.__new__(Limits, values[12:16]),
                      values[_AT["e"]], values[_AT["r_rc"]], cap)
        last = values[_AT["last_power"]:_AT["reason"]]
        pack._finish_series(last[0], last[1], i_charge, last[2], last[3], last[4], t_ambient, t_coolant)
    return taken, int(io[_AT["reason"]])
