"""Run, audit and sweep on a Dask cluster, with exactly the serial run's output.

The work splits into chunks of samples x settings.  A chunk is a `Job` (small: paths and
options, never arrays) plus (setting, offset, limit); each worker opens the model and the data
itself, by path, and prepares engines once per job (`_worker_state`), so a worker pays for
loading, quantizing and Numba's kernel loading once, not per chunk.  A chunk returns the same
sums the serial loop keeps (`api.Tally`, `audit.AuditTally`, `audit.Scored`): integer counts,
so merging them in chunk order gives the serial numbers bit for bit, and the reports are built
by the serial code's own report functions.  Chunk boundaries fall on the serial run's batch
boundaries, so every batch (and the reference engine's batched arithmetic) is the same.

Faults: each chunk is one Dask task with its own key, and results are kept by chunk index, so
a chunk recomputed after a worker died replaces nothing and is counted once; an EvsimError in
a chunk cancels the rest and reaches the caller unchanged (one line, exit 2 at the CLI).

Dask is an optional extra (`pip install 'evsim[cluster]'`): nothing here imports it until a
session is opened, and the serial path never imports this module.  docs/cluster.md.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from . import api
from . import audit as hwapi
from .engines import event
from .errors import EvsimError
from .hardware.profile import Profile

ChunkProgress = Callable[[int, int], None]  # (finished chunks, all chunks)

CHUNKS_PER_WORKER = 4  # enough chunks that a slow or lost worker holds up little of the run


@dataclass(frozen=True)
class Source:
    """Where the model and the data are: paths as the workers see them (docs/cluster.md)."""

    weights: str
    task: str
    data: str | None = None
    options: tuple[tuple[str, Any], ...] = ()

    def open(self):
        """(network, dataset), read from the paths."""
        from evsim.tasks import open_task

        from .formats.h5 import load_network

        return load_network(Path(self.weights)), open_task(self.task, self.data, **dict(self.options))


# ---- a session: a Dask client on a running scheduler or on a local cluster ---------------------


@dataclass
class Session:
    client: Any
    cluster: Any = None  # the LocalCluster evsim started, if it did

    @property
    def dashboard(self) -> str | None:
        return self.client.dashboard_link

    @property
    def n_workers(self) -> int:
        return max(1, sum(self.client.nthreads().values()))


def _dask():
    try:
        import distributed
    except ImportError:
        raise EvsimError("--cluster and --workers need Dask: pip install 'evsim[cluster]'") from None
    return distributed


@contextmanager
def connect(address: str | None = None, workers: int | None = None, connect_timeout: float = 10.0,
            worker_timeout: float = 120.0) -> Iterator[Session]:  # fmt: skip
    """A session on the scheduler at `address`, or on a local cluster of `workers` processes."""
    if (address is None) == (workers is None):
        raise EvsimError("give either --cluster ADDRESS or --workers N, not both")
    distributed = _dask()
    import dask

    cluster = None
    if workers is not None:
        if workers < 1:
            raise EvsimError(f"--workers must be at least 1, got {workers}")
        # One task thread per process; Numba's threads share out the cores among the processes.
        threads = max(1, (os.cpu_count() or 1) // workers)
        # Dask's statistical profiler samples the task thread every 10 ms; on the SHD sweep of
        # bench/cluster.py with one worker it made the chunks ~30% slower, so evsim's workers skip it.
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                silence_logs=logging.ERROR, env={"NUMBA_NUM_THREADS": str(threads)},
            )  # fmt: skip
        address = cluster.scheduler_address
    try:
        try:
            client = distributed.Client(address, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise EvsimError(f"cannot reach the Dask scheduler at {address}: {first}") from None
        try:
            try:
                client.wait_for_workers(1, timeout=worker_timeout)
            except TimeoutError:
                raise EvsimError(f"the Dask scheduler at {address} has no workers (waited {worker_timeout:g} s)") from None
            yield Session(client, cluster)
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


# ---- jobs: what a chunk computes, described by paths and options ----------------------------------


@dataclass(frozen=True)
class Job:
    source: Source
    batch_size: int | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex, init=False)

    def setup(self, network, dataset) -> Any:
        """What a worker prepares once per job (engines, hardware models)."""
        raise NotImplementedError

    def chunk(self, state: Any, setting: int, offset: int, limit: int) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class RunJob(Job):
    engine: str = "event"
    init: str = "zeros"
    seed: int = 0
    profile: Profile | None = None  # None: `api.run`; else `audit.run_profile`

    def setup(self, network, dataset):
        if self.profile is None:
            return event.prepare(network) if self.engine == "event" else None
        return hwapi.profile_runner(network, self.profile, self.engine, self.init)

    def chunk(self, state, setting, offset, limit):
        network, dataset, prepared = state
        if self.profile is None:
            return api.run_samples(network, dataset, self.engine, self.init, self.seed, offset, limit, self.batch_size, prepared)
        return hwapi.profile_samples(prepared, dataset, self.init, self.seed, offset, limit, self.batch_size)


@dataclass(frozen=True)
class AuditJob(Job):
    profile: Profile | None = None
    engine: str = "event"
    prune: tuple[str | None, str | None] = (None, None)
    ignore_violations: bool = False

    def setup(self, network, dataset):
        return hwapi.AuditSetup(network, self.profile, self.engine, *self.prune, self.ignore_violations)

    def chunk(self, state, setting, offset, limit):
        network, dataset, setup = state
        return hwapi.audit_samples(setup, dataset, offset, limit, self.batch_size)


@dataclass(frozen=True)
class SweepJob(Job):
    """Setting -1 is the float64 side; 0.. index `settings`."""

    profile: Profile | None = None
    settings: tuple[tuple[int | None, int | None], ...] = ()
    prune: tuple[str | None, str | None] = (None, None)

    def setup(self, network, dataset):
        return {}  # runners per setting, made when a chunk of that setting first arrives

    def chunk(self, state, setting, offset, limit):
        network, dataset, runners = state
        timed = hwapi.chip_timing(network, self.profile)  # the float side with the chip's delivery delays
        if setting not in runners:
            runners[setting] = (
                event.prepare(timed) if setting < 0 else hwapi.setting_runner(network, self.profile, self.settings[setting], *self.prune)
            )
        if setting < 0:
            return hwapi.float_samples(timed, runners[setting], dataset, offset, limit, self.batch_size)
        return hwapi.setting_samples(runners[setting], dataset, offset, limit, self.batch_size)


# ---- on a worker ---------------------------------------------------------------------------------

_JOBS_KEPT = 4
_worker_jobs: OrderedDict[str, tuple] = OrderedDict()  # job id -> (network, dataset, setup), per process


def _worker_state(job: Job) -> tuple:
    """The job's model, data and prepared engines, made once per worker process and job.

    Keyed by job, not by path: a model file rewritten between two runs is read afresh."""
    state = _worker_jobs.get(job.id)
    if state is None:
        network, dataset = job.source.open()
        state = (network, dataset, job.setup(network, dataset))
        _worker_jobs[job.id] = state
        while len(_worker_jobs) > _JOBS_KEPT:
            _, (_, old, _) = _worker_jobs.popitem(last=False)
            getattr(old, "close", lambda: None)()
    _worker_jobs.move_to_end(job.id)
    return state


def _run_chunk(job: Job, setting: int, offset: int, limit: int) -> Any:
    _numba_threads()
    return job.chunk(_worker_state(job), setting, offset, limit)


def _numba_threads() -> None:
    """Honour NUMBA_NUM_THREADS even when it was set after Numba was imported (a local cluster's
    workers get it from their nanny once running).  Numba's setting is per calling thread."""
    import numba

    wanted = os.environ.get("NUMBA_NUM_THREADS")
    if wanted and wanted.isdigit() and numba.get_num_threads() != int(wanted):
        numba.set_num_threads(max(1, min(int(wanted), numba.config.NUMBA_NUM_THREADS)))


# ---- on the client -------------------------------------------------------------------------------


def chunk_ranges(offset: int, n: int, batch_size: int, n_settings: int, n_workers: int, chunk_samples: int | None = None) -> list[tuple[int, int]]:
    """(offset, limit) of each sample chunk: whole batches, about CHUNKS_PER_WORKER chunks per
    worker over all settings (`chunk_samples` rounds up to whole batches when given)."""
    if chunk_samples is None:
        pieces = max(1, -(-CHUNKS_PER_WORKER * n_workers // n_settings))
        chunk_samples = -(-n // pieces)
    per = max(1, -(-chunk_samples // batch_size)) * batch_size
    return [(start, min(per, offset + n - start)) for start in range(offset, offset + n, per)]


def _execute(session: Session, job: Job, chunks: list[tuple[int, int, int]], progress: ChunkProgress | None) -> list[Any]:
    """Every chunk (setting, offset, limit) on the cluster; results in chunk order."""
    from distributed import as_completed

    if progress:
        progress(0, len(chunks))
    futures = [
        session.client.submit(_run_chunk, job, s, o, n, key=f"evsim-{type(job).__name__.lower()}-{job.id}-{i}", pure=False)
        for i, (s, o, n) in enumerate(chunks)
    ]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(chunks)
    done: set[int] = set()
    try:
        for fut in as_completed(futures):
            i = index[fut.key]
            if fut.status == "error":
                exc = fut.exception()
                if type(exc).__name__ == "KilledWorker":  # Dask gave up after its allowed retries
                    _, o, n = chunks[i]
                    raise EvsimError(f"chunk {i} (samples {o}..{o + n - 1}) killed every worker that ran it: out of memory? try a smaller --batch-size") from None
                raise exc
            if i in done:  # as_completed yields each future once; a second result would be a bug
                raise RuntimeError(f"chunk {i} finished twice")
            results[i] = fut.result()
            done.add(i)
            if progress:
                progress(len(done), len(chunks))
    finally:
        session.client.cancel(futures)
    if len(done) != len(chunks):
        raise RuntimeError(f"{len(chunks) - len(done)} chunks never finished")
    return results


def _samples(dataset, offset: int, limit: int | None) -> int:
    from evsim.tasks.base import slice_range

    n = len(slice_range(dataset.n_samples, offset, limit))
    if n == 0:
        raise EvsimError("no samples to run (check --offset and --limit)")
    return n


def _merge(parts: list):
    total = parts[0]
    for p in parts[1:]:
        total.merge(p)
    return total


def run(session: Session, source: Source, engine: str = "event", init: str = "zeros", seed: int = 0, offset: int = 0,
        limit: int | None = None, batch_size: int | None = None, profile: Profile | str | None = None,
        progress: ChunkProgress | None = None, chunk_samples: int | None = None):  # fmt: skip
    """`api.run` (no profile) or `audit.run_profile` on the cluster: the same report."""
    network, dataset = source.open()
    api.check_fit(network, dataset)
    api.check_engine(engine)
    profile = None if profile is None else hwapi.as_profile(profile)
    runner = hwapi.profile_runner(network, profile, engine, init) if profile is not None else None  # design rules, --init
    bs = batch_size or api.default_batch_size(network, engine)
    job = RunJob(source, bs, engine, init, seed, profile)
    chunks = [(0, o, n) for o, n in chunk_ranges(offset, _samples(dataset, offset, limit), bs, 1, session.n_workers, chunk_samples)]
    start = time.perf_counter()
    tally = _merge(_execute(session, job, chunks, progress))
    seconds = time.perf_counter() - start
    if runner is None:
        return api.run_report(network, dataset, engine, init, seed, tally, seconds)
    return hwapi.profile_report(runner, dataset, init, seed, tally, seconds)


def audit(session: Session, source: Source, profile: Profile | str, engine: str = "event", offset: int = 0,
          limit: int | None = None, batch_size: int | None = None, progress: ChunkProgress | None = None,
          fanin_prune: str | None = None, fanout_prune: str | None = None, ignore_violations: bool = False,
          chunk_samples: int | None = None) -> hwapi.AuditReport:  # fmt: skip
    """`audit.audit` on the cluster: the same report."""
    network, dataset = source.open()
    api.check_fit(network, dataset)
    profile = hwapi.as_profile(profile)
    setup = hwapi.AuditSetup(network, profile, engine, fanin_prune, fanout_prune, ignore_violations)
    bs = batch_size or api.default_batch_size(network, "event")
    job = AuditJob(source, bs, profile, engine, (fanin_prune, fanout_prune), ignore_violations)
    chunks = [(0, o, n) for o, n in chunk_ranges(offset, _samples(dataset, offset, limit), bs, 1, session.n_workers, chunk_samples)]
    start = time.perf_counter()
    tally = _merge(_execute(session, job, chunks, progress))
    return hwapi.audit_report(setup, dataset, tally, time.perf_counter() - start)


def sweep(session: Session, source: Source, profile: Profile | str, weight_bits: list[int] | None,
          state_bits: list[int] | None = None, offset: int = 0, limit: int | None = None,
          batch_size: int | None = None, progress: ChunkProgress | None = None, fanin_prune: str | None = None,
          fanout_prune: str | None = None, tolerance: float = 0.01, chunk_samples: int | None = None) -> hwapi.SweepReport:  # fmt: skip
    """`audit.sweep` on the cluster: the same report, the same CSV."""
    network, dataset = source.open()
    profile = hwapi.as_profile(profile)
    settings = hwapi.sweep_settings(profile, weight_bits, state_bits)
    api.check_fit(network, dataset)
    bs = batch_size or api.default_batch_size(network, "event")
    job = SweepJob(source, bs, profile, tuple(settings), (fanin_prune, fanout_prune))
    ranges = chunk_ranges(offset, _samples(dataset, offset, limit), bs, len(settings) + 1, session.n_workers, chunk_samples)
    chunks = [(s, o, n) for s in range(-1, len(settings)) for o, n in ranges]
    start = time.perf_counter()
    results = _execute(session, job, chunks, progress)
    per_setting = [hwapi.Scored.merged(results[k * len(ranges) : (k + 1) * len(ranges)]) for k in range(len(settings) + 1)]
    runners = [hwapi.setting_runner(network, profile, s, fanin_prune, fanout_prune) for s in settings]
    return hwapi.sweep_report(
        network, dataset, profile, weight_bits, state_bits, per_setting[0], list(zip(runners, per_setting[1:])), tolerance,
        time.perf_counter() - start,
    )  # fmt: skip


__all__ = ["Source", "Session", "connect", "run", "audit", "sweep", "chunk_ranges"]
