"""The twin's alerts: capacity heading below a threshold, and resistance or temperature far from prediction.

::

    from service.alerts import evaluate_alerts

    for alert in evaluate_alerts(twin, horizon_months=6):
        print(alert["kind"], alert["severity"], alert["message"], alert["t"])

Each alert is ``{"kind", "severity", "message", "t"}`` with ``t`` in unix seconds: when the anomaly began
(it stays listed while it holds and for :data:`RECENT_S` after it was last seen), or, for a projection,
the time of the last sample it was made from.
"""

from __future__ import annotations

from service import projection
from service.anomalies import SETTINGS, boundary_shift_limit

#: An anomaly that no longer holds stays listed this long [s] after it was last seen.
RECENT_S = 86400.0
#: Capacity thresholds (relative to nominal) and the severity of crossing each.
SOH_THRESHOLDS = ((0.8, "warning"), (0.7, "critical"))
#: Default look-ahead of the capacity projection [months].
HORIZON_MONTHS = 6.0


def evaluate_alerts(twin, horizon_months: float = HORIZON_MONTHS,
                    thresholds: tuple[tuple[float, str], ...] = SOH_THRESHOLDS) -> list[dict]:
    """The alerts that hold for ``twin`` (a :class:`service.twin.LiveTwin`) now."""
    alerts = _anomalies(twin)
    alerts += _capacity(twin, horizon_months, thresholds)
    return alerts


def _anomalies(twin) -> list[dict]:
    out = []
    now = twin.last_sample_t
    for kind, event in sorted(twin.detectors.events.items()):
        if not event.active and (now is None or now - event.t_last > RECENT_S):
            continue
        ended = "" if event.active else " (no longer seen)"
        if kind == "resistance":
            message = (f"resistance {100 * event.peak:+.0f} % from the twin's prediction "
                       f"(threshold {100 * SETTINGS.resistance_deviation:.0f} %){ended}")
        else:
            message = (f"cell temperature or its cooling {event.peak:+.1f} K from the twin's prediction "
                       f"(thresholds {SETTINGS.temperature_deviation_K:.1f} K for the cell, "
                       f"{boundary_shift_limit(twin.pack['coolant_connected']):.1f} K for the cooling within "
                       f"{SETTINGS.temperature_window_s / 3600:.0f} h){ended}")
        out.append({"kind": f"{kind}_anomaly", "severity": "warning" if event.active else "info",
                     "message": message, "t": event.t_start})
    return out


def _capacity(twin, horizon_months: float, thresholds) -> list[dict]:
    soh = twin.state()["soh_capacity"]
    out = []
    trajectory = None
    for threshold, severity in sorted(thresholds, reverse=True):
        if soh <= threshold:
            out.append({"kind": "soh_below", "severity": severity, "t": twin.last_sample_t,
                        "message": f"capacity {100 * soh:.1f} % of nominal, below {100 * threshold:.0f} %"})
            continue
        if trajectory is None:
            trajectory = projection.project(twin, horizon_months) or []
        month = projection.crossing(trajectory, threshold)
        if month is not None:
            out.append({"kind": "soh_projection", "severity": severity, "t": twin.last_sample_t,
                        "message": f"capacity projected to fall below {100 * threshold:.0f} % in "
                                   f"{month:.1f} months (now {100 * soh:.1f} %)"})
    return out
