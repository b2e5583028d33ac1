"""Streaming: samples fed to the event engine one step at a time, as a device receives them.

    stream(network, samples, profile)   -> StreamReport
    task_samples(dataset, offset, limit)    each sample of a task, step by step
    read_events(lines, n_inputs, steps)     samples from text lines "step channel [value]"

Each step is one call of engines.step.advance on the sample's state record (through a
step.Stepper: the compiled function without Numba's per-call type dispatch); the report gives
the latency of that call (median, p99, max: the time from a step's input to its output, Python
dispatch included) and the energy of each step, priced by a float hardware profile from the
step's own operation counts.  The spikes, readout and counts are exactly those of a batch run
of the same sample (tests/test_stream.py holds them to bit identity).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from . import api
from .audit import as_profile, prepare_hardware
from .engines import event, step
from .engines.result import OpCounts, SimResult
from .errors import EvsimError
from .events import EventBatch
from .hardware.energy import energy_report
from .model import Network, decide, initial_state

COUNTERS = ("events", "ac", "ac_structural", "mac", "spikes", "neuron_updates")
DEFAULT_PROFILE = "cmos45-fp32"


@dataclass
class StreamSample:
    sample_id: int
    steps: Iterable[tuple[np.ndarray, np.ndarray]]  # per step: (channels int32, values float64)
    label: Any = None  # a class id, or per-step class ids; None when unlabelled
    label_mask: np.ndarray | None = None


@dataclass
class StreamReport:
    model: str
    source: str
    profile: str
    init: str
    precision: str
    samples: int
    steps: int
    latency_us: dict[str, float]  # per step: median, p99, max, mean
    steps_per_s: float  # over the whole loop, bookkeeping included
    energy_per_step_j: dict[str, float] | None  # median, p99, max, mean over steps
    energy_per_sample_j: float | None
    accuracy: float | None
    predictions: list[Any] = field(default_factory=list)  # per sample (per-step lists for per-step readouts)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def energy_coefficients(network: Network, profile, mapping) -> np.ndarray | None:
    """Joules per unit of each counter entry (COUNTERS order, flattened), or None.

    The energy model is linear in the counts with nothing charged for no operations, so each
    coefficient is the energy of a run whose only operation is that one counter entry.
    """
    n_proj, n_layers = len(network.projections), len(network.layers)
    sizes = [n_proj, n_proj, n_proj, n_proj, n_layers, n_layers]
    if energy_report(network, profile, mapping, {k: np.zeros(s) for k, s in zip(COUNTERS, sizes)}, 1) is None:
        return None
    coef = []
    for key, size in zip(COUNTERS, sizes):
        for i in range(size):
            unit = {k: np.zeros(s) for k, s in zip(COUNTERS, sizes)}
            unit[key][i] = 1.0
            coef.append(energy_report(network, profile, mapping, unit, 1)["total"])
    return np.array(coef)


def _percentiles(x: np.ndarray) -> dict[str, float]:
    return {"median": float(np.median(x)), "p99": float(np.percentile(x, 99)), "max": float(x.max()), "mean": float(x.mean())}


def stream(
    network: Network,
    samples: Iterable[StreamSample],
    profile: str = DEFAULT_PROFILE,
    init: str = "zeros",
    seed: int = 0,
    source: str = "",
    score: bool = False,
    on_sample: Callable[[int], None] | None = None,
    precision: str = "float64",
) -> StreamReport:
    """Feed each sample step by step through the event engine (in `precision`); latency and
    energy per step."""
    prof = as_profile(profile)
    if prof.fixed:
        raise EvsimError(
            f"stream runs the float event engine: profile '{prof.name}' is fixed-point; use a float profile "
            f"(e.g. {DEFAULT_PROFILE}) or `evsim run --profile {prof.name}` for its integer engine"
        )
    hw = prepare_hardware(network, prof)
    coef = energy_coefficients(network, prof, hw.mapping)
    net = event.prepare(network, precision)
    advance = step.Stepper(net)
    warm = step.start(net, initial_state(network, np.array([0])))
    advance(warm, np.zeros(0, dtype=np.int32), np.zeros(0))  # compile (or load) before timing
    tally = api.Tally(network, init, seed)
    latencies: list[np.ndarray] = []
    energies: list[np.ndarray] = []
    predictions: list[Any] = []
    n_steps_total = 0
    loop_start = time.perf_counter()
    for sample in samples:
        state = initial_state(network, np.array([sample.sample_id]), init, seed)
        st = step.start(net, state)
        trace, lat, log, fed = [], [], [], []
        for channel, value in sample.steps:
            if len(channel) > network.n_inputs:  # the input ring holds one event per channel and step
                raise EvsimError(f"sample {sample.sample_id}: {len(channel)} events in one step, more than the {network.n_inputs} channels")
            t0 = time.perf_counter_ns()
            advance(st, channel, value)
            lat.append(time.perf_counter_ns() - t0)
            trace.append(st.readout[0].copy())
            fed.append((channel, value))
            log.append(np.concatenate([getattr(st.sample, k) for k in COUNTERS]))
        if not trace:
            raise EvsimError(f"sample {sample.sample_id}: no steps")
        n_steps_total += len(trace)
        latencies.append(np.array(lat) / 1e3)
        if coef is not None:
            cumulative = np.array(log, dtype=np.float64) @ coef
            energies.append(np.diff(cumulative, prepend=0.0))
        counts = OpCounts(*(getattr(st.sample, k)[None].copy() for k in COUNTERS))
        result = SimResult(trace=np.array(trace)[None], counts=counts)
        labels = np.array([sample.label if sample.label is not None else 0])
        batch = _OneSample(labels, None if sample.label_mask is None else sample.label_mask[None], np.array([sample.sample_id]),
                           _as_events(fed, network.n_inputs))
        pred = tally.add(result, batch, score)
        if pred is None:
            pred = decide(network.readout, result.trace)
        predictions.append(pred[0].tolist())
        if on_sample:
            on_sample(1)
    seconds = time.perf_counter() - loop_start
    if not latencies:
        raise EvsimError("no samples to stream")
    lat_all = np.concatenate(latencies)
    energy = None
    per_sample_j = None
    if energies:
        e_all = np.concatenate(energies)
        energy = _percentiles(e_all)
        per_sample_j = float(e_all.sum() / len(energies))
    notes = [f"latency: one call of the engine's step function per step (Python dispatch included), {prof.name} prices the counts"]
    if coef is None:
        notes.append(f"profile '{prof.name}' has no energy figures: no energy per step")
    return StreamReport(
        model=network.name,
        source=source,
        profile=prof.name,
        init=init,
        precision=precision,
        samples=len(latencies),
        steps=n_steps_total,
        latency_us=_percentiles(lat_all),
        steps_per_s=n_steps_total / seconds,
        energy_per_step_j=energy,
        energy_per_sample_j=per_sample_j,
        accuracy=tally.accuracy if score else None,
        predictions=predictions,
        notes=notes,
    )


@dataclass
class _OneSample:
    """The part of a task Batch that Tally.add reads."""

    labels: np.ndarray
    label_mask: np.ndarray | None
    sample_ids: np.ndarray
    inputs: EventBatch


def _as_events(steps: list[tuple[np.ndarray, np.ndarray]], n_inputs: int) -> EventBatch:
    """The steps a sample was fed, as a one-sample EventBatch."""
    ptr = np.zeros((1, len(steps) + 1), dtype=np.int64)
    ptr[0, 1:] = np.cumsum([len(ch) for ch, _ in steps])
    return EventBatch(len(steps), n_inputs, ptr, np.concatenate([ch for ch, _ in steps]), np.concatenate([v for _, v in steps]))


def steps_of(inputs: EventBatch, row: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One sample of an event batch, step by step."""
    ptr = inputs.step_ptr[row]
    for t in range(inputs.n_steps):
        yield inputs.channel[ptr[t] : ptr[t + 1]], inputs.value[ptr[t] : ptr[t + 1]]


def task_samples(dataset, offset: int = 0, limit: int | None = None) -> Iterator[StreamSample]:
    """The samples of a task, one at a time, each step by step."""
    for batch in dataset.batches(1, offset, limit):
        mask = None if batch.label_mask is None else batch.label_mask[0]
        yield StreamSample(int(batch.sample_ids[0]), steps_of(batch.inputs, 0), batch.labels[0], mask)


def read_events(lines: Iterable[str], n_inputs: int, n_steps: int | None = None, where: str = "stdin") -> Iterator[StreamSample]:
    """Samples from text: one event per line, `step channel [value]` (value 1 when left out).

    Steps count from 0 within a sample and never decrease; a step's events are delivered in
    channel order, at most one per channel (as a dense input holds them).  A line `---` (or the
    end of the input) ends a sample.  `#` starts a comment.  A sample runs to its last event's
    step, or to `n_steps` steps when given.  Steps are handed on as soon as a later step's
    line arrives, so the stream is consumed while it is read; asking for the next sample skips
    what is left of the current one.
    """
    lines = iter(lines)
    sample_id = 0
    state = {"more": True, "lineno": 0}

    def sample_steps() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        t = 0  # the next step to hand on
        pending: dict[int, float] = {}  # the events of step pending_step, channel -> value
        pending_step = 0
        seen = 0  # event lines of this sample
        for line in lines:
            state["lineno"] += 1
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            if text == "---":
                break
            s, ch, v = _parse(text, n_inputs, n_steps, pending_step, f"{where} line {state['lineno']}")
            seen += 1
            if s > pending_step:
                while t < s:  # every step before s is complete
                    yield _as_step(pending if t == pending_step else {})
                    t += 1
                pending, pending_step = {}, s
            if ch in pending:
                raise EvsimError(f"{where} line {state['lineno']}: a second event on channel {ch} at step {s}")
            if v != 0.0:
                pending[ch] = v
        else:
            state["more"] = False
            if not seen:
                return  # the end of the input, not a sample
        end = n_steps if n_steps is not None else (pending_step + 1 if seen else 0)
        while t < end:
            yield _as_step(pending if t == pending_step else {})
            t += 1

    while state["more"]:
        steps = sample_steps()
        first = next(steps, None)
        if first is None:
            continue  # nothing before a --- (and no --steps): no sample
        yield StreamSample(sample_id, _chain(first, steps))
        for _ in steps:  # whatever the consumer left of this sample, so the next starts at its own lines
            pass
        sample_id += 1


def _parse(text: str, n_inputs: int, n_steps: int | None, after: int, where: str) -> tuple[int, int, float]:
    parts = text.split()
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        s, ch = int(parts[0]), int(parts[1])
        v = float(parts[2]) if len(parts) == 3 else 1.0
    except ValueError:
        raise EvsimError(f"{where}: expected 'step channel [value]', got '{text}'") from None
    if s < after:
        raise EvsimError(f"{where}: step {s} comes after step {after} (steps must not decrease)")
    if not 0 <= ch < n_inputs:
        raise EvsimError(f"{where}: channel {ch} lies outside 0..{n_inputs - 1}")
    if not np.isfinite(v):
        raise EvsimError(f"{where}: value '{parts[2]}' is not finite")
    if n_steps is not None and s >= n_steps:
        raise EvsimError(f"{where}: step {s} lies beyond --steps {n_steps}")
    return s, ch, v


def _chain(first, rest):
    yield first
    yield from rest


def _as_step(events: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    channels = np.array(sorted(events), dtype=np.int32)
    return channels, np.array([events[c] for c in channels], dtype=np.float64)
