"""Small units a fleet vehicle's scenario needs besides the engine's and the product's."""

from __future__ import annotations

from typing import ClassVar

from cosim.unit import INPUT, OUTPUT, Port, PythonUnit


class CurrentSum(PythonUnit):
    """Adds two charge currents (a home and a DC charger feeding one battery input) [A]."""

    PORTS: ClassVar[tuple[Port, ...]] = (
        Port("a", INPUT, "A", "First current", 0.0),
        Port("b", INPUT, "A", "Second current", 0.0),
        Port("total", OUTPUT, "A", "a + b", 0.0),
    )
    can_save_state: ClassVar[bool] = True

    def setup(self, start_time: float) -> None:
        self.total = self.a + self.b

    def do_step(self, t: float, h: float) -> None:
        self.total = self.a + self.b

    def save_state(self) -> float:
        return self.total

    def restore_state(self, state: float) -> None:
        self.total = state
