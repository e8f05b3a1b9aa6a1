"""Many independent runs on dask.distributed, keeping each result as it arrives (resumable).

A batch is a list of :class:`Job` s and one function that runs a job's payload on a worker and
returns its result. The client hands each finished result to a :class:`Store` at once, so a batch
stopped at any moment (Ctrl-C, a killed client or cluster) keeps every result it acknowledged, and
a rerun skips the keys the store already holds. A job that raises is reported with its error;
the others go on.

The cluster: a ``LocalCluster`` of worker processes (one thread each: fmpy is not thread-safe) on
this machine, or an existing one given by its scheduler address (``tcp://host:8786``), whose
workers must have the same packages (and files the payloads name) installed.

Dask is imported here only, when a batch runs.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cosim.errors import EvtwinError


@dataclass(frozen=True)
class Job:
    """One run: a unique ``key``, the ``payload`` the function receives, a ``weight`` for progress."""

    key: str
    payload: Any
    weight: float = 1.0


class Store(Protocol):
    """Where results go; must make each ``save`` durable before it returns."""

    def done(self) -> set[str]:
        """Keys whose results are kept already."""

    def save(self, key: str, result: Any) -> None:
        """Keep a result."""

    def fail(self, key: str, message: str) -> None:
        """Record that a job failed."""


class ClusterLost(EvtwinError):
    """The scheduler went away with jobs in flight: what was saved stays saved, a rerun does the rest."""


@dataclass
class BatchOutcome:
    """What a batch did: keys computed now, skipped (already stored) and failed (key: message)."""

    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    workers: int = 0


class Progress(Protocol):
    def __call__(self, done_weight: float, total_weight: float, key: str, ok: bool) -> None: ...


def _client(scheduler: str | None, workers: int | None):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="30s"), None
        except (OSError, TimeoutError) as err:
            raise EvtwinError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
    # The workers are started ignoring Ctrl-C (the disposition passes to the processes spawned): the
    # client alone handles it, keeps what finished and closes the cluster.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: a busy 8787 would only warn
            silence_logs=logging.CRITICAL,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    return Client(cluster), cluster


def run_batch(
    jobs: Sequence[Job],
    fn: Callable[[Any], Any],
    store: Store,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> BatchOutcome:
    """Run the jobs the store does not hold yet; save each result as it arrives.

    Parameters
    ----------
    jobs : sequence of Job
        Keys must be unique.
    fn : callable
        Runs one payload on a worker (picklable: a module-level function).
    store : Store
    scheduler : str, optional
        Address of a running Dask scheduler; default: a LocalCluster on this machine.
    workers : int, optional
        LocalCluster worker processes (default: the CPU count).
    progress : callable, optional
        Called after each job with the weight finished so far and the total.
    on_start : callable, optional
        Called with the number of workers once the cluster is up.

    Raises
    ------
    KeyboardInterrupt
        After cancelling what is in flight; what was saved stays saved.
    ClusterLost
        When the scheduler goes away; what was saved stays saved.
    """
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique")
    done = store.done()
    outcome = BatchOutcome(skipped=[k for k in keys if k in done])
    todo = [j for j in jobs if j.key not in done]
    total = sum(j.weight for j in jobs)
    finished = sum(j.weight for j in jobs if j.key in done)
    t0 = time.perf_counter()
    if not todo:
        return outcome
    client, cluster = _client(scheduler, workers)
    # The client logs its failed reconnections to a lost scheduler as tracebacks, and so does its
    # batched connection when the scheduler goes while a message is on its way; the batch reports the
    # loss itself (ClusterLost), in one line.
    logs = [logging.getLogger(name) for name in ("distributed.client", "distributed.batched")]
    log_levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL)
    try:
        outcome.workers = len(client.scheduler_info(n_workers=-1)["workers"]) if scheduler else len(cluster.workers)
        if on_start is not None:
            on_start(outcome.workers)
        futures = {client.submit(fn, j.payload, key=f"batch-{j.key}", pure=False): j.key for j in todo}
        lost = f"lost the Dask scheduler{f' at {scheduler}' if scheduler else ''}"
        try:
            _gather(futures, {j.key: j.weight for j in todo}, store, outcome, (finished, total), progress, lost)
        except ClusterLost:
            raise
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        outcome.wall_s = time.perf_counter() - t0
        client.close()
        for log, level in zip(logs, log_levels):
            log.setLevel(level)
        if cluster is not None:
            cluster.close()
    return outcome


def _gather(futures: dict, weight: dict[str, float], store: Store, outcome: BatchOutcome,
            progress_at: tuple[float, float], progress: Progress | None, lost: str) -> None:
    """Save or record each job as it completes; ``progress_at``: (weight done before, total weight)."""
    from dask.distributed import as_completed

    finished, total = progress_at
    for future in as_completed(futures):
        key = futures[future]
        if future.status == "cancelled":  # not by this client: the scheduler is gone
            raise ClusterLost(lost)
        ok = future.status == "finished"
        if ok:
            try:
                result = future.result()
            except OSError as err:  # the connection closed while the result came over
                raise ClusterLost(lost) from err
            store.save(key, result)
            outcome.computed.append(key)
        else:
            message = _error_message(future)
            store.fail(key, message)
            outcome.failed[key] = message
        finished += weight[key]
        future.release()
        if progress is not None:
            progress(finished, total, key, ok)


def _error_message(future) -> str:
    try:
        err = future.exception()
    except Exception as exc:  # a lost worker or a cancelled future: say what happened
        return f"{type(exc).__name__}: {exc}"
    if err is None:
        return f"job ended as {future.status!r}"
    return f"{type(err).__name__}: {err}"
