"""The vehicle side: built-in EV model on drive cycles, EV presets, BeamNG.tech bridge, recorded-log replay."""
