"""The library API the CLI is a shell over: run, crosscheck, describe.

Each function takes a Network (the one model description) and a Dataset (from evsim.tasks)
and returns a plain report object with a `to_dict()` for JSON.
"""

from __future__ import annotations

import time
from pathlib import Path
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import neurobench, traces
from .engines import event, reference
from .engines.record import float_dtype
from .engines.fixed import OVERFLOW_KINDS
from .engines.result import SimResult
from .errors import EvsimError
from .events import EventBatch
from .model import INPUT, Network, Readout, decide, initial_state

ENGINES = ("event", "reference")
Progress = Callable[[int], None]  # called with the number of samples just finished


def default_batch_size(network: Network, engine: str) -> int:
    # The event engine runs a batch's samples in parallel, one per thread: a few per core is
    # enough.  The reference engine's cost is per step, so wider batches amortize it.
    return 32 if engine == "event" else 64


# --readout: how to read a prediction from the readout layer, whatever the model file stores.
READOUTS = {
    "spike-count": ("spike", "sum"),  # the most spikes
    "last": ("mem", "last"),  # the largest membrane at the last step
    "max": ("mem", "max"),  # the largest membrane at any step
    "per-step": ("mem", "per_step"),  # a prediction at every step
}


def with_readout(network: Network, kind: str | None = None, from_step: int | None = None) -> Network:
    """The network read out another way (`--readout`, `--readout-from`); unchanged when both are None."""
    if kind is None and from_step is None:
        return network
    ro = network.readout
    variable, aggregate = ro.variable, ro.aggregate
    if kind is not None:
        if kind not in READOUTS:
            raise EvsimError(f"unknown readout '{kind}' (choose from {', '.join(READOUTS)})")
        variable, aggregate = READOUTS[kind]
    readout = Readout(ro.layer, variable, aggregate, ro.from_step if from_step is None else from_step)
    return network.replace(readout=readout, golden=[] if kind is not None else network.golden)


def check_fit(network: Network, dataset) -> None:
    """A one-line error when the task's data cannot feed the model or score its readout."""
    if dataset.n_channels != network.n_inputs:
        raise EvsimError(
            f"task '{dataset.name}' gives {dataset.n_channels} input channels, "
            f"model '{network.name}' expects {network.n_inputs}"
        )
    per_step = network.readout.aggregate == "per_step"
    if dataset.n_classes is not None:
        if per_step != dataset.per_step_labels:
            kind = "one label per step" if dataset.per_step_labels else "one label per sample"
            raise EvsimError(
                f"task '{dataset.name}' has {kind}, but model '{network.name}' reads out "
                f"'{network.readout.aggregate}'"
            )
        if network.readout_size != dataset.n_classes:
            raise EvsimError(
                f"task '{dataset.name}' has {dataset.n_classes} classes, model '{network.name}' "
                f"reads out {network.readout_size} neurons"
            )
    if dataset.n_steps <= network.readout.from_step:
        raise EvsimError(
            f"task '{dataset.name}' has {dataset.n_steps} steps, but the readout starts at step {network.readout.from_step}"
        )


def simulate(
    network: Network,
    inputs: EventBatch,
    sample_ids: np.ndarray,
    engine: str = "event",
    init: str = "zeros",
    seed: int = 0,
    record: bool = False,
    prepared: event.Prepared | None = None,
    precision: str = "float64",
) -> SimResult:
    """One batch through one engine.  With `record`, full spike and membrane trains are kept.
    `precision`: float64, or float32 (weights and state; `prepared`, if given, must match)."""
    state = initial_state(network, sample_ids, init, seed)
    if engine == "event":
        net = prepared if prepared is not None else event.prepare(network, precision)
        if net.w.dtype != float_dtype(precision):
            raise EvsimError(f"the prepared network is {net.w.dtype}, the run asks for {precision}")
        return event.simulate(net, inputs, state, record_spikes=record, record_mem=record)
    if engine == "reference":
        # The reference derives its operation counts from its spike trains, so it always keeps them.
        return reference.simulate(network, inputs.to_dense(), state, record_spikes=True, record_mem=record, precision=precision)
    raise EvsimError(f"unknown engine '{engine}' (choose from {', '.join(ENGINES)})")


def projection_names(network: Network) -> list[str]:
    names, seen = [], {}
    for p in network.projections:
        name = f"{p.source}->{p.target}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return names


def dense_equivalent_per_step(network: Network) -> int:
    """MACs a dense time-stepped implementation performs per step: every synapse, every step."""
    return int(sum(p.weight.size for p in network.projections))


def sops_summary(network: Network, totals: dict[str, np.ndarray], samples: int, steps: int) -> dict[str, Any]:
    """Per-sample operation counts: totals over projections, plus the breakdown."""
    names = projection_names(network)
    per = lambda key: totals[key] / samples  # noqa: E731
    by_projection = {
        name: {
            "events": float(per("events")[i]),
            "ac": float(per("ac")[i]),
            "ac_structural": float(per("ac_structural")[i]),
            "mac": float(per("mac")[i]),
            "dense_equivalent": float(steps * network.projections[i].weight.size),
        }
        for i, name in enumerate(names)
    }
    return {
        "ac": float(per("ac").sum()),
        "ac_structural": float(per("ac_structural").sum()),
        "mac": float(per("mac").sum()),
        "events": float(per("events").sum()),
        "neuron_updates": float(per("neuron_updates").sum()),
        "dense_equivalent": float(steps * dense_equivalent_per_step(network)),
        "by_projection": by_projection,
        "neuron_updates_by_layer": {
            layer.name: float(per("neuron_updates")[i]) for i, layer in enumerate(network.layers)
        },
        "neuron_update_ops": {layer.name: layer.op_mix for layer in network.layers},
    }


@dataclass
class RunReport:
    model: str
    task: str
    source: str
    engine: str
    init: str
    seed: int
    samples: int
    steps: int
    seconds: float
    accuracy: float | None
    accuracy_labelled: float | None
    scored: int  # scored predictions (steps for per-step tasks, samples otherwise)
    spikes_per_sample: dict[str, float]
    firing_rate: dict[str, float]  # spikes per neuron per step
    sops_per_sample: dict[str, Any]
    neurobench: dict[str, Any] = field(default_factory=dict)  # NeuroBench's metrics (evsim/neurobench.py)
    precision: str = "float64"  # of the float engines' weights and state
    task_info: dict[str, Any] = field(default_factory=dict)
    counts_total: dict[str, list[int]] = field(default_factory=dict)
    ended_early: str | None = None  # set when --limit asked for more samples than the data hold
    # Per-sample predictions (sample_ids, labels, predictions arrays): `--predictions`, not JSON.
    predictions: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("predictions")
        return d


COUNT_KEYS = ("events", "ac", "ac_structural", "mac", "spikes", "neuron_updates")


class Tally:
    """Running sums over batches: correct predictions, operation counts, overflows, and the
    operations NeuroBench counts as MACs (which depend on the inputs and the initial state)."""

    def __init__(self, network: Network, init: str = "zeros", seed: int = 0, storage: neurobench.Storage | None = None):
        self.network = network
        self.init, self.seed = init, seed
        self.storage = storage or neurobench.float_storage(network)
        self.mac_calls = np.zeros(len(network.projections), dtype=np.int64)
        self.correct = self.scored = self.correct_lab = self.scored_lab = 0
        self.samples = 0
        self.totals: dict[str, Any] = {k: 0 for k in COUNT_KEYS}
        self.overflow_kinds = OVERFLOW_KINDS
        self.overflow = np.zeros((len(network.layers), len(OVERFLOW_KINDS)), dtype=np.int64)
        self.chip: dict[str, int] = {}  # a chip's own counts (Xylo: inputs clipped, active bins)
        self.records: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (sample ids, labels, predictions)

    def add(self, result: SimResult, batch, score: bool) -> np.ndarray | None:
        """Add a batch's counts (and overflows, from a fixed-point run); returns its predictions."""
        for key in COUNT_KEYS:
            self.totals[key] = self.totals[key] + getattr(result.counts, key).sum(axis=0)
        if getattr(result, "overflow", None) is not None:
            self.overflow += result.overflow.sum(axis=0)
        self._add_chip(getattr(result, "chip", None))
        state = initial_state(self.network, batch.sample_ids, self.init, self.seed) if self.init != "zeros" else None
        self.mac_calls += neurobench.mac_call_ops(self.network, self.storage, batch.inputs, state)
        self.samples += len(batch.sample_ids)
        if not score:
            return None
        pred = decide(self.network.readout, result.trace)
        self.records.append((np.asarray(batch.sample_ids), np.asarray(batch.labels), pred))
        if pred.ndim == 2:  # per step, scored from from_step
            start = self.network.readout.from_step
            hit = pred[:, start:] == batch.labels[:, start:]
            self.correct += int(hit.sum())
            self.scored += hit.size
            if batch.label_mask is not None:
                mask = batch.label_mask[:, start:]
                self.correct_lab += int(hit[mask].sum())
                self.scored_lab += int(mask.sum())
        else:
            self.correct += int((pred == batch.labels).sum())
            self.scored += len(pred)
        return pred

    def merge(self, other: "Tally") -> "Tally":
        """Add another tally over other samples (a chunk of a distributed run): sums of integers,
        so any order of chunks gives the serial run's numbers exactly."""
        for key in ("correct", "scored", "correct_lab", "scored_lab", "samples"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        for key in COUNT_KEYS:
            self.totals[key] = self.totals[key] + other.totals[key]
        self.overflow += other.overflow
        self.mac_calls += other.mac_calls
        self._add_chip(other.chip)
        self.records.extend(other.records)
        return self

    def _add_chip(self, counts: dict[str, int] | None) -> None:
        for key, value in (counts or {}).items():
            self.chip[key] = self.chip.get(key, 0) + int(value)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None

    @property
    def accuracy_labelled(self) -> float | None:
        return self.correct_lab / self.scored_lab if self.scored_lab else None

    def predictions(self) -> dict[str, np.ndarray] | None:
        """Every scored sample's id, label(s) and prediction(s), by sample id (chunks of a
        distributed run may arrive in any order)."""
        if not self.records:
            return None
        ids, labels, preds = zip(*sorted(self.records, key=lambda r: int(r[0][0]) if len(r[0]) else -1))
        return {"sample_ids": np.concatenate(ids), "labels": np.concatenate(labels), "predictions": np.concatenate(preds)}

    def per_sample(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, dtype=np.float64) / self.samples for k, v in self.totals.items()}

    def neurobench(self, steps: int) -> dict[str, Any]:
        return neurobench.block(self.network, self.storage, self.totals, self.mac_calls, self.samples, steps)

    def overflow_report(self) -> dict[str, Any]:
        by_layer = {
            layer.name: {kind: int(self.overflow[li, ki]) for ki, kind in enumerate(self.overflow_kinds)}
            for li, layer in enumerate(self.network.layers)
        }
        total = int(self.overflow.sum())
        return {"total": total, "per_sample": total / self.samples if self.samples else 0.0, "by_layer": by_layer}


def run_report(network: Network, dataset, engine: str, init: str, seed: int, tally: Tally, seconds: float) -> RunReport:
    """The report of a finished run from its tally."""
    n, steps = tally.samples, dataset.n_steps
    if n == 0:
        raise EvsimError("no samples to run (check --offset and --limit)")
    spikes = {layer.name: float(tally.totals["spikes"][i] / n) for i, layer in enumerate(network.layers) if layer.spiking}
    return RunReport(
        model=network.name,
        task=dataset.name,
        source=dataset.source,
        engine=engine,
        init=init,
        seed=seed,
        samples=n,
        steps=steps,
        seconds=seconds,
        accuracy=tally.accuracy,
        accuracy_labelled=tally.accuracy_labelled,
        scored=tally.scored,
        spikes_per_sample=spikes,
        firing_rate={name: s / (network.layer(name).size * steps) for name, s in spikes.items()},
        sops_per_sample=sops_summary(network, tally.totals, n, steps),
        neurobench=tally.neurobench(steps),
        task_info=dict(dataset.info),
        counts_total={k: [int(v) for v in np.atleast_1d(t)] for k, t in tally.totals.items()},
        predictions=tally.predictions(),
    )


def ended_early(dataset, offset: int, limit: int | None) -> str | None:
    """A note when --limit asks for more samples than the data hold after --offset."""
    if limit is not None and offset + limit > dataset.n_samples:
        return (
            f"the data ended: --offset {offset} --limit {limit} asked for samples {offset}..{offset + limit - 1}, "
            f"but {dataset.source} holds {dataset.n_samples} (ran {max(dataset.n_samples - offset, 0)})"
        )
    return None


# Dense arrays a batch needs grow with batch x steps x width; above this the batch is narrowed so
# that a long input (SHD at --steps 100000) runs in bounded memory instead of failing to allocate.
BATCH_BYTES = 1 << 29


def fit_batch_size(network: Network, dataset, engine: str, batch_size: int | None) -> int:
    """The batch size to use: the given one (which must be positive) or the default, narrowed
    so that one batch's dense traces stay within BATCH_BYTES; refused when one sample alone does not fit."""
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise EvsimError(f"--batch-size must be a positive integer, got {batch_size!r}")
    else:
        batch_size = default_batch_size(network, engine)
    # the readout trace, the dense input some tasks build, and the reference's per-step state
    width = network.readout_size + network.n_inputs + (2 * network.n_neurons if engine == "reference" else 0)
    per_sample = 8 * dataset.n_steps * width
    if per_sample > BATCH_BYTES:
        raise EvsimError(
            f"one sample of {dataset.n_steps} steps needs {per_sample / 2**30:.1f} GiB of traces "
            f"(at most {BATCH_BYTES / 2**30:.1f} GiB): use fewer steps"
        )
    return int(min(batch_size, max(1, BATCH_BYTES // per_sample)))


def run(
    network: Network,
    dataset,
    engine: str = "event",
    init: str = "zeros",
    seed: int = 0,
    offset: int = 0,
    limit: int | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    storage: neurobench.Storage | None = None,
    record: str | Path | None = None,
    precision: str = "float64",
) -> RunReport:
    """Simulate a data set (or a slice) and score it by the model's readout rule.

    `storage` is how the run holds its parameters, for NeuroBench's footprint (default: floats
    of the run's precision); `record`: a directory that receives each sample's spikes and
    states (evsim.traces); `precision`: float64 or float32 (weights and state of the float engines).
    """
    check_fit(network, dataset)
    check_engine(engine)
    float_dtype(precision)
    record_dir = traces.prepare_directory(record) if record is not None else None
    prepared = event.prepare(network, precision) if engine == "event" else None
    storage = storage or neurobench.float_storage(network, 32 if precision == "float32" else 64)
    start = time.perf_counter()
    tally = run_samples(network, dataset, engine, init, seed, offset, limit, batch_size, prepared, progress, storage,
                        record_dir, precision)
    report = run_report(network, dataset, engine, init, seed, tally, time.perf_counter() - start)
    report.ended_early = ended_early(dataset, offset, limit)
    report.precision = precision
    return report


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise EvsimError(f"unknown engine '{engine}' (choose from {', '.join(ENGINES)})")


def run_samples(
    network: Network,
    dataset,
    engine: str,
    init: str,
    seed: int,
    offset: int,
    limit: int | None,
    batch_size: int | None,
    prepared: event.Prepared | None = None,
    progress: Progress | None = None,
    storage: neurobench.Storage | None = None,
    record: Path | None = None,
    precision: str = "float64",
) -> Tally:
    """The tally of `run` over `limit` samples from `offset`: the whole run, or one chunk of it.

    `record`: an existing directory that receives each sample's traces (evsim.traces)."""
    tally = Tally(network, init, seed, storage)
    score = dataset.n_classes is not None
    for batch in dataset.batches(fit_batch_size(network, dataset, engine, batch_size), offset, limit):
        result = simulate(network, batch.inputs, batch.sample_ids, engine, init, seed, record=record is not None, prepared=prepared,
                          precision=precision)
        if record is not None:
            traces.write_batch(record, network, result, batch.sample_ids)
        tally.add(result, batch, score)
        if progress:
            progress(len(batch.sample_ids))
    return tally


# ---- crosscheck ------------------------------------------------------------------------


@dataclass
class GoldenCheck:
    index: int
    max_abs_diff: float
    tolerance: float
    predictions_agree: bool
    passed: bool


@dataclass
class CrosscheckReport:
    model: str
    precision: str
    task: str | None
    init: str
    seed: int
    samples: int
    spike_agreement: float  # fraction of (sample, step, neuron) spike values identical
    samples_identical: int  # samples whose every spike train is identical
    prediction_agreement: float
    max_abs_mem_diff: float
    max_abs_readout_diff: float
    sops_agree: bool  # event engine's counts == counts derived from the reference's spike trains
    sops_event: dict[str, float]
    sops_reference: dict[str, float]
    golden: list[GoldenCheck]
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spike_agreement(a: SimResult, b: SimResult) -> tuple[int, int, int]:
    """(equal spike values, compared spike values, samples whose every train is identical)."""
    n = a.trace.shape[0]
    same = np.ones(n, dtype=bool)
    agree = total = 0
    for sa, sb in zip(a.spikes, b.spikes):
        eq = sa == sb
        agree += int(eq.sum())
        total += eq.size
        same &= eq.reshape(n, -1).all(axis=1)
    return agree, total, int(same.sum())


def _compare(network: Network, a: SimResult, b: SimResult) -> dict[str, Any]:
    agree, total, identical = spike_agreement(a, b)
    pa, pb = decide(network.readout, a.trace), decide(network.readout, b.trace)
    mem_diff = max(float(np.abs(ma - mb).max(initial=0.0)) for ma, mb in zip(a.mem, b.mem))
    return {
        "agree": agree,
        "total": total,
        "identical": identical,
        "pred_agree": int((pa == pb).all(axis=tuple(range(1, pa.ndim))).sum()) if pa.ndim > 1 else int((pa == pb).sum()),
        "mem_diff": mem_diff,
        "trace_diff": float(np.abs(a.trace - b.trace).max(initial=0.0)),
    }


def check_golden(network: Network) -> list[GoldenCheck]:
    """Run each golden record through the event engine from zeros; compare the readout trace."""
    checks = []
    prepared = event.prepare(network) if network.golden else None
    for i, rec in enumerate(network.golden):
        batch = EventBatch.from_dense(rec.input[None])
        result = simulate(network, batch, np.array([0]), "event", "zeros", prepared=prepared)
        diff = float(np.abs(result.trace[0] - rec.output).max(initial=0.0))
        agree = bool(np.array_equal(decide(network.readout, result.trace), decide(network.readout, rec.output[None])))
        checks.append(GoldenCheck(i, diff, rec.tolerance, agree, diff <= rec.tolerance and agree))
    return checks


def crosscheck(
    network: Network,
    dataset=None,
    init: str = "zeros",
    seed: int = 0,
    offset: int = 0,
    limit: int | None = None,
    batch_size: int = 16,
    progress: Progress | None = None,
    precision: str = "float64",
) -> CrosscheckReport:
    """Both engines on the same inputs and initial state, plus the file's golden records.

    Passes when every spike train and every prediction agree, the operation counts agree, and
    every golden record is reproduced within its tolerance.  Both engines run in `precision`;
    the golden records are checked in float64.
    """
    golden = check_golden(network)
    if dataset is None and not golden:
        raise EvsimError(f"model '{network.name}' has no golden records: give a task to cross-check the engines on")
    totals = {"agree": 0, "total": 0, "identical": 0, "pred_agree": 0, "mem_diff": 0.0, "trace_diff": 0.0}
    tally_e, tally_r = Tally(network), Tally(network)
    n = 0
    if dataset is not None:
        check_fit(network, dataset)
        prepared = event.prepare(network, precision)
        for batch in dataset.batches(batch_size, offset, limit):
            ev = simulate(network, batch.inputs, batch.sample_ids, "event", init, seed, record=True, prepared=prepared, precision=precision)
            ref = simulate(network, batch.inputs, batch.sample_ids, "reference", init, seed, record=True, precision=precision)
            cmp = _compare(network, ev, ref)
            for key in ("agree", "total", "identical", "pred_agree"):
                totals[key] += cmp[key]
            for key in ("mem_diff", "trace_diff"):
                totals[key] = max(totals[key], cmp[key])
            tally_e.add(ev, batch, score=False)
            tally_r.add(ref, batch, score=False)
            n += len(batch.sample_ids)
            if progress:
                progress(len(batch.sample_ids))
    sops_e = sops_r = {}
    if n:
        sops_e = sops_summary(network, tally_e.totals, n, dataset.n_steps)
        sops_r = sops_summary(network, tally_r.totals, n, dataset.n_steps)
    sops_agree = all(np.array_equal(tally_e.totals[k], tally_r.totals[k]) for k in tally_e.totals)
    passed = (
        totals["agree"] == totals["total"]
        and totals["pred_agree"] == n
        and sops_agree
        and all(g.passed for g in golden)
    )
    flat = lambda s: {k: v for k, v in s.items() if not isinstance(v, dict)}  # noqa: E731
    return CrosscheckReport(
        model=network.name,
        precision=precision,
        task=dataset.name if dataset is not None else None,
        init=init,
        seed=seed,
        samples=n,
        spike_agreement=totals["agree"] / totals["total"] if totals["total"] else 1.0,
        samples_identical=totals["identical"],
        prediction_agreement=totals["pred_agree"] / n if n else 1.0,
        max_abs_mem_diff=totals["mem_diff"],
        max_abs_readout_diff=totals["trace_diff"],
        sops_agree=sops_agree,
        sops_event=flat(sops_e),
        sops_reference=flat(sops_r),
        golden=golden,
        passed=passed,
    )


# ---- models: files and the built-in ones ----------------------------------------------------

DEFAULT_MODEL = "ecg"  # evsim's own QTDB model, weights/ecg.h5


# Where the built-in models ship: evsim's own (weights/, installed as evsim.weights) first, then
# the papers' authors' checkpoints converted by evsim's importer (evsim/paper_models, kept apart
# because weights/ holds only what evsim itself trained).
BUILTIN_MODEL_PACKAGES = ("evsim.weights", "evsim.paper_models")


def builtin_models() -> dict[str, Path]:
    """Name -> file of every built-in model: evsim-trained (weights/) and the authors' (paper_models/)."""
    from importlib import resources

    models: dict[str, Path] = {}
    for package in BUILTIN_MODEL_PACKAGES:
        files = sorted(resources.files(package).iterdir(), key=lambda p: p.name)
        models.update({p.name[:-3]: Path(str(p)) for p in files if p.name.endswith(".h5")})
    return models


def resolve_model(spec: str | Path | None) -> Path:
    """A model file from `--weights`: an existing path, else a built-in name (default: 'ecg')."""
    builtin = builtin_models()
    if spec is None:
        spec = DEFAULT_MODEL
    path = Path(spec)
    if path.exists() or str(spec) not in builtin:
        if not path.exists() and "/" not in str(spec) and not str(spec).endswith(".h5"):
            raise EvsimError(f"--weights {spec}: neither a model file nor a built-in model (built-in: {', '.join(builtin)}; see `evsim models`)")
        return path
    return builtin[str(spec)]


def load_model(spec: str | Path | None = None) -> tuple[Network, str]:
    """(Network, integrity) from a path or a built-in name; integrity is 'verified' when the
    file's content checksum matched, 'absent' for a file written without one."""
    from .formats.h5 import read_network

    return read_network(resolve_model(spec))


def list_models() -> list[dict[str, Any]]:
    """What `evsim models` prints: each built-in model's name, task, size and origin."""
    rows = []
    for name, path in builtin_models().items():
        network, integrity = load_model(path)
        meta = network.metadata
        source = meta.get("source")
        if isinstance(source, dict):
            source = source.get("repository", "")
        rows.append(
            {
                "name": name,
                "task": meta.get("task") or (meta["recipe"].get("task") if isinstance(meta.get("recipe"), dict) else None),
                "layers": " -> ".join([str(network.n_inputs)] + [f"{l.size} {l.neuron}" for l in network.layers]),
                "neurons": network.n_neurons,
                "synapses": int(sum(p.weight.size for p in network.projections)),
                "origin": f"authors' checkpoint ({source})" if meta.get("importer") else "trained by evsim",
                "claimed_accuracy": meta.get("claimed_accuracy"),
                "integrity": integrity,
                "path": str(path),
            }
        )
    return rows


def check_output_path(path: str | Path | None, option: str) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise EvsimError(f"{option} {path}: is a directory, expected a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise EvsimError(f"{option} {path}: directory {parent} does not exist")


def write_rows_csv(rows: list[tuple[str, Any]], path: str | Path) -> None:
    """(item, value) rows, e.g. a flattened report, as a two-column CSV."""
    import csv

    check_output_path(path, "--csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item", "value"])
        w.writerows(rows)


def write_predictions_csv(path: str | Path, predictions: dict[str, np.ndarray] | None, from_step: int = 0) -> None:
    """One row per scored prediction: sample, step (per-step tasks), label and each side's prediction.

    `predictions` holds `sample_ids`, `labels` and one or more prediction arrays (`predictions`,
    or `float` and `hardware` for an audit), as the tallies collect them."""
    import csv

    check_output_path(path, "--predictions")
    if predictions is None:
        raise EvsimError("--predictions: the task has no labels, so there is nothing to score")
    sides = [k for k in predictions if k not in ("sample_ids", "labels")]
    ids, labels = predictions["sample_ids"], predictions["labels"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        per_step = labels.ndim == 2
        w.writerow(["sample", *(["step"] if per_step else []), "label", *[f"prediction_{k}" if k != "predictions" else "prediction" for k in sides]])
        for i, sid in enumerate(ids):
            if per_step:
                for t in range(from_step, labels.shape[1]):
                    w.writerow([int(sid), t, int(labels[i, t]), *(int(predictions[k][i, t]) for k in sides)])
            else:
                w.writerow([int(sid), int(labels[i]), *(int(predictions[k][i]) for k in sides)])


# ---- importing and writing models (formats/ at the edge; the CLI goes through these) ---------


def import_nir(path, *, dt: float | None = None, conventions: str = "nir", discretization: str | None = None,
               reset: str | None = None, reset_at: str | None = None, cuba_update: str | None = None) -> tuple[Network, list[str]]:
    """A NIR graph as an evsim network, and the importer's notes (formats/nir.py, docs/nir.md)."""
    from .formats.nir import ImportOptions, import_nir as read

    return read(Path(path), ImportOptions(dt, conventions, discretization, reset, reset_at, cuba_update))


def import_manifest(path, tensors=None) -> Network:
    """A checkpoint described by a manifest (.json) with its arrays (.npz) or a PyTorch state_dict (.pth)."""
    from .formats.manifest import import_manifest as read

    return read(Path(path), None if tensors is None else Path(tensors))


def save_model(network: Network, path) -> None:
    """Write evsim's model file (docs/format.md), with its content checksum."""
    from .formats.h5 import save_network

    save_network(network, Path(path))


def export_nir(network: Network, path) -> list[str]:
    """Write a NIR graph; returns warnings of what other NIR readers lose (docs/nir.md)."""
    from .formats.nir import export_nir as write

    return write(network, Path(path))


# ---- describe ----------------------------------------------------------------------------


def import_netx(path, layers: str | None = None, reset_interval: int = 0, reset_offset: int = 0) -> Network:
    """A lava-dl netx file (or its dense sub-stack 'A:B') as an evsim network (formats/netx.py)."""
    from .formats.netx import import_netx as read

    return read(path, layers, reset_interval, reset_offset)


def describe(network: Network, integrity: str | None = None) -> dict[str, Any]:
    """What `evsim info` prints: layers, parameter ranges, projections, sizes, metadata, and
    (for a file) whether its content checksum was verified."""

    def rng(a):
        return None if a is None else {"min": float(np.min(a)), "max": float(np.max(a)), "mean": float(np.mean(a))}

    layers = [
        {
            "name": layer.name,
            "neuron": layer.neuron,
            "size": layer.size,
            "params": {key: rng(value) for key, value in layer.params.items()},
            "options": dict(layer.options),
        }
        for layer in network.layers
    ]
    projections = [
        {
            "name": name,
            "shape": list(p.weight.shape),
            "delay": p.delay,
            "synapses": int(p.weight.size),
            "nonzero": int(np.count_nonzero(p.weight)),
            "weight": rng(p.weight),
            "bias": rng(p.bias),
        }
        for name, p in zip(projection_names(network), network.projections)
    ]
    return {
        "name": network.name,
        "n_inputs": network.n_inputs,
        "neurons": network.n_neurons,
        "synapses": int(sum(p.weight.size for p in network.projections)),
        "dt": network.dt,
        "discretization": network.discretization,
        "reset_interval": network.reset_interval,
        "reset_offsets": dict(network.reset_offsets),
        "layers": layers,
        "projections": projections,
        "readout": asdict(network.readout),
        "initial_state": {
            "default": asdict(network.initial_state.default),
            "layers": {k: asdict(v) for k, v in network.initial_state.layers.items()},
        },
        "golden_records": len(network.golden),
        "metadata": network.metadata,
        "content_checksum": integrity,
    }


__all__ = ["ENGINES", "INPUT", "RunReport", "CrosscheckReport", "run", "crosscheck", "describe", "check_fit", "simulate"]
