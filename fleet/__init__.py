"""Fleets of simulated EVs: vehicles drawn from distributions, run on Dask, summarised per day, reported.

- :mod:`fleet.spec` reads a fleet file and draws its vehicles reproducibly from the seed;
- :mod:`fleet.usage` turns one vehicle into a scenario for the engine (schedule, chargers, climate);
- :mod:`fleet.daily` summarises a run per day (the features fleet and warranty engineers ask for);
- :mod:`fleet.task` runs one vehicle; :mod:`fleet.store` keeps what finished; :mod:`fleet.report` reports.
"""
