"""Run results in HDF5: written incrementally during the run, read back during or after it.

Layout::

    /time/<group>              float64 [s], one per output group (its own decimation)
    /signals/<unit>/<port>     float64, attrs: unit, causality, description, time (path of its /time dataset)
    /events/time, /events/name the events that fired
    root attrs                 format, status, scenario text and SHA-256, package versions, git commit,
                               unit metadata (FMU GUIDs), start/end time, steps, wall time,
                               real-time factor, ...

The writer (:mod:`cosim.results.writer`) flushes the file after every block of rows (a full
buffer, or at most ``flush_seconds`` of work), in HDF5's SWMR mode: a run killed at any moment
leaves a file that opens, with every row up to the last flush and a ``status`` of ``running``;
a run that fails or is interrupted closes the file with ``failed: <message>`` / ``interrupted``.
"""

from cosim.results.claim import OutputBusy, OutputClaim, being_written
from cosim.results.failure import ResultsWriteError
from cosim.results.format import (
    FORMAT,
    STATUS_COMPLETE,
    STATUS_INTERRUPTED,
    STATUS_RUNNING,
    OutputGroup,
    write_attrs,
)
from cosim.results.reader import Result, Signal, open_result_file, read_result
from cosim.results.writer import ResultWriter

__all__ = [
    "FORMAT",
    "STATUS_COMPLETE",
    "STATUS_INTERRUPTED",
    "STATUS_RUNNING",
    "OutputBusy",
    "OutputClaim",
    "OutputGroup",
    "Result",
    "ResultWriter",
    "ResultsWriteError",
    "Signal",
    "being_written",
    "open_result_file",
    "read_result",
    "write_attrs",
]
