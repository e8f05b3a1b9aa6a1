"""The MPC charger's settings: its ports, objectives, weights and the named constants of its plan.

The numbers here are choices with a reason each, kept apart from the controller that uses them.
"""

from __future__ import annotations

from battery_fmu.parameters import DEFAULT_CELL
from control.charger_unit import charger_input_ports, charger_output_ports, limit_ports, pack_ports, trip_ports
from cosim.errors import ScenarioError
from cosim.unit import INPUT, OUTPUT, PARAMETER, Port

OBJECTIVES = ("overnight", "fast")
CRATE_STRESSORS = ("chunk", "current")
#: Below this time to departure [s] the plan is not worth solving: charge as CC-CV.
MIN_HORIZON = 300.0
#: SOC [1] a plan may end short of its target (IPOPT's constraint tolerance, the clipping of currents
#: under OFF_CURRENT) that the step reaching the target adds, above the planned current; a larger
#: remainder is left to the plan, whose current keeps the temperature and voltage limits.
LANDING_TOLERANCE = 1e-3
#: A planned current under this [A] is read as off: an interior-point solution sits a hair inside its
#: bounds (IPOPT's bound push, 1e-6 of a current scale of 100 A), never exactly on zero.
OFF_CURRENT = 0.05
#: The first guess charges at this fraction of the CC current: the CC current is the power limit at
#: the terminal voltage last read, and the plan checks the power at the (higher) voltage at an
#: interval's end, where 3 % covers the voltage rise of a charge to full.
FIRST_GUESS_FRACTION = 0.97
#: The least depth of discharge [1] a session's fade prediction assumes for its chunk: the charge it
#: starts is the chunk's SOC swing, and a top-up of a few percent would otherwise predict cycling
#: with no depth (the cycle law's DOD term is fitted from full cycles down, never at zero).
MIN_SESSION_DOD = 0.05


#: Weight of the target's slack overnight [per unit SOC]: large enough that missing the target is a
#: last resort, small enough to keep the program well scaled.
OVERNIGHT_SLACK_WEIGHT = 1e5
#: Default weight of an SOC-hour short of the target for a fast charge (time against fade).
FAST_TIME_WEIGHT = 100.0


def checked_choices(objective: str, crate_stressor: str | None) -> str:
    """The C-rate stressor for ``objective`` (its default when None); ScenarioError naming a bad choice."""
    if objective not in OBJECTIVES:
        raise ScenarioError(f"mpc_charger: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    crate_stressor = crate_stressor or ("chunk" if objective == "overnight" else "current")
    if crate_stressor not in CRATE_STRESSORS:
        raise ScenarioError(
            f"mpc_charger: crate_stressor must be one of {', '.join(CRATE_STRESSORS)}, got {crate_stressor!r}"
        )
    return crate_stressor


def weights(objective: str, degradation_weight: float, loss_weight: float, time_weight: float) -> dict:
    """The program's weights for an objective (a negative ``time_weight``: the objective's default)."""
    if time_weight < 0.0:
        time_weight = 0.0 if objective == "overnight" else FAST_TIME_WEIGHT
    return {
        "degradation_weight": degradation_weight,
        "loss_weight": loss_weight,
        "time_weight": time_weight,
        "slack_weight": OVERNIGHT_SLACK_WEIGHT if objective == "overnight" else 0.0,
    }


#: The MPC charger's ports: the CC-CV's inputs and outputs, the battery's temperatures and health, its
#: own outputs, the limits, the pack and the program's settings.
MPC_PORTS: tuple[Port, ...] = (
    *charger_input_ports(),
    *trip_ports(),
    Port("T_cell", INPUT, "K", "Battery cell temperature", 298.15),
    Port(
        "T_housing",
        INPUT,
        "K",
        "Battery housing temperature; 0 (unconnected): taken equal to T_cell",
        0.0,
    ),
    Port("T_ambient", INPUT, "K", "Ambient temperature", 298.15),
    Port("SOH_capacity", INPUT, "1", "Battery capacity relative to new", 1.0),
    Port("SOH_resistance", INPUT, "1", "Battery resistance relative to new", 1.0),
    *charger_output_ports(),
    Port(
        "solve_time",
        OUTPUT,
        "s",
        "Wall time of this step's replanning (0 when it followed the plan)",
        0.0,
    ),
    Port(
        "fallback",
        OUTPUT,
        "1",
        "1 when this step fell back to CC-CV (IPOPT failed or ran out of time)",
        0.0,
        0.0,
        1.0,
    ),
    Port(
        "soc_departure",
        OUTPUT,
        "1",
        "SOC the last plan predicts at its horizon's end (the departure)",
        0.0,
    ),
    Port("solves", OUTPUT, "1", "Solves so far", 0.0, 0.0),
    Port(
        "fallbacks",
        OUTPUT,
        "1",
        "Solves so far that failed (IPOPT status or time budget): CC-CV for the step",
        0.0,
        0.0,
    ),
    *limit_ports(),
    *pack_ports(),
    Port("n_series", PARAMETER, "1", "Cells in series (the battery's)", 106, 1, 10000, type="Integer"),
    Port("coolant_connected", PARAMETER, "1",
         "Whether the battery's housing exchanges heat with a coolant, taken at ambient (the battery's)",
         False, type="Boolean"),
    Port(
        "parameter_set",
        PARAMETER,
        "1",
        "Cell parameter set (the battery's parameter)",
        DEFAULT_CELL,
        type="String",
    ),
    Port(
        "degradation_weight",
        PARAMETER,
        "1",
        "Cost of 1 % of capacity lost, in kWh-equivalent",
        2600.0,
        0.0,
    ),
    Port("loss_weight", PARAMETER, "1", "Cost of 1 kWh lost in the charger and the battery", 1.0, 0.0),
    Port(
        "time_weight",
        PARAMETER,
        "1",
        "Cost of one SOC-hour short of the target; negative: 0 overnight, 100 fast",
        -1.0,
    ),
    Port("v_max", PARAMETER, "V", "Cell voltage limit; 0: the parameter set's voltage_max", 0.0, 0.0),
    Port("t_max", PARAMETER, "K", "Cell temperature limit (in the battery's range)", 318.15, 200.0, 400.0),
    Port(
        "max_c_rate",
        PARAMETER,
        "1/h",
        "Charge C-rate limit; 0: the aging model's fitted range (0.65C)",
        0.0,
        0.0,
    ),
    Port("intervals", PARAMETER, "1", "Intervals of the horizon (N)", 24, 2, type="Integer"),
    Port(
        "resolution",
        PARAMETER,
        "s",
        "Interval length (longer when N of them do not reach the departure); "
        "the plan is solved again at every interval boundary",
        900.0,
        1.0,
    ),
    Port(
        "departure_margin",
        PARAMETER,
        "s",
        "Overnight: plan to reach the target this long before departure "
        "(the rest of the way is charged as CC-CV, absorbing model error)",
        600.0,
        0.0,
    ),
    Port(
        "time_budget",
        PARAMETER,
        "s",
        "Wall-time budget of one solve; over it: CC-CV for the step",
        1.0,
        0.0,
    ),
    Port("resistance_weight", PARAMETER, "1",
         "Cost of 1 % of resistance growth (the calendar law), in kWh-equivalent; 0: not traded", 0.0, 0.0),
    Port("tariff_weight", PARAMETER, "1",
         "kWh-equivalent of one currency unit of the tariff's bill (1 / 0.15: the degradation weight's price)",
         1.0 / 0.15, 0.0),
)
