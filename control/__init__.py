"""Charging controllers: CC-CV charger and the CasADi MPC."""
