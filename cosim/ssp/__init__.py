"""SSP 1.0 (System Structure and Parameterization): run an SSP as a scenario, export a scenario's FMUs as one.

- :mod:`cosim.ssp.reader`: the package, its system structure, parameter sets and default experiment.
- :mod:`cosim.ssp.scenario`: an SSP as a scenario (``evtwin run system.ssp``, ``from_ssp:``).
- :mod:`cosim.ssp.writer`: a scenario's FMU units, connections and parameters as an SSP.
- :mod:`cosim.ssp.cli`: ``evtwin ssp export``.

Nothing is imported here, so that ``evtwin --help`` (which lists ``evtwin ssp``) stays light.
"""
