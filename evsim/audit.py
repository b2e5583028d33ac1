"""Hardware-faithful runs at the API level: run with a profile, audit, sweep.

    run_profile  a task through a profile: float profiles run the float64 engines (`ideal` is
                 exactly `api.run`), fixed-point profiles the integer engines; plus energy,
                 cores, violations and overflows.
    audit        float and hardware side by side on the same samples: both accuracies,
                 prediction and spike-train agreement, counts, energy per inference (by layer,
                 kind and step), cores, violations, overflows, dense RNN/LSTM/GRU baselines.
    sweep        accuracy against energy over weight (and state) widths.
    export_netx  a network in a Loihi profile's integers, written as a lava-dl netx file.

Hardware runs start from the all-zero state (a fractional initial spike has no integer
meaning); the float side of an audit does too, so that the two differ by arithmetic only.
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import api, neurobench, traces
from .engines import event, fixed
from .errors import EvsimError
from .formats.netx import write_netx
from .hardware.energy import baseline_report, energy_report
from .hardware.lava_rules import decay_groups, native_variant, shared_decay_variant
from .hardware.mapping import DesignRuleError, Mapping, Violation, map_network, prune_fan_in, prune_fan_out
from .hardware.netx_export import netx_records
from .hardware.profile import Profile, load_profile, shipped_profiles
from .hardware.quantize import Quantized, quantize, with_min_delay
from .hardware import xylo as xylo_hw
from .model import Network, decide

Progress = Callable[[int], None]


# ---- preparing a network for a chip ------------------------------------------------------------


@dataclass
class HardwareModel:
    profile: Profile
    original: Network
    network: Network  # after remedies
    quantized: Quantized | None  # None for float profiles
    mapping: Mapping
    remedies: dict[str, Any] = field(default_factory=dict)
    ignored_violations: bool = False

    @property
    def pruned(self) -> bool:
        return self.network is not self.original


def storage(hw: HardwareModel) -> neurobench.Storage:
    """How the chip holds the parameters: stored integer weights and one summed bias per neuron
    (the current's width) under a fixed profile, floats of the profile's width otherwise."""
    if hw.quantized is None:
        return neurobench.float_storage(hw.network, hw.profile.float_bits)
    return neurobench.fixed_storage(
        hw.quantized.mantissas, hw.quantized.record.bias.size, hw.profile.weights.bits, hw.profile.state.current_bits
    )


def list_profiles() -> list[dict[str, Any]]:
    """Every shipped profile, as `Profile.to_dict()` (what `evsim profiles` prints)."""
    return [load_profile(name).to_dict() for name in shipped_profiles()]


def as_profile(profile: Profile | str | Path) -> Profile:
    return profile if isinstance(profile, Profile) else load_profile(profile)


def prepare_hardware(
    network: Network,
    profile: Profile | str,
    fanin_prune: str | None = None,
    fanout_prune: str | None = None,
    ignore_violations: bool = False,
) -> HardwareModel:
    """Remedies (if asked), quantization (fixed profiles), placement and design-rule check.

    Raises DesignRuleError listing every violation unless `ignore_violations`.
    """
    profile = as_profile(profile)
    net = network
    remedies: dict[str, Any] = {}
    if fanin_prune:
        limit = profile.limits.fan_in_per_neuron
        if limit is None:
            raise EvsimError(f"--fanin-prune: profile '{profile.name}' has no fan-in limit to prune to")
        net, remedies["fanin_prune"] = prune_fan_in(net, limit, fanin_prune)
    if fanout_prune:
        lim = profile.limits
        hidden_only = lim.fan_out_per_neuron is None and lim.recurrent_fan_out_per_neuron is not None
        limit = lim.recurrent_fan_out_per_neuron if hidden_only else lim.fan_out_per_neuron
        if limit is None:
            raise EvsimError(f"--fanout-prune: profile '{profile.name}' has no fan-out limit to prune to")
        net, remedies["fanout_prune"] = prune_fan_out(net, limit, fanout_prune, hidden_only)
    if profile.dynamics.integer_step == "xylo":  # what Xylo's neuron cannot hold cannot be quantized for it
        from .hardware.xylo import UNMAPPABLE

        found = map_network(net, profile).violations
        blocking = [v for v in found if v.limit in UNMAPPABLE]
        if blocking:
            if not ignore_violations:
                raise DesignRuleError(profile.name, found)
            raise EvsimError(f"profile '{profile.name}': --ignore-violations cannot run this model on the chip's neuron: {blocking[0].message()}")
    q = quantize(net, profile) if profile.fixed else None
    mapping = map_network(net, profile, q.mantissas if q else None)
    if mapping.violations and not ignore_violations:
        raise DesignRuleError(profile.name, mapping.violations)
    return HardwareModel(profile, network, net, q, mapping, remedies, bool(mapping.violations) and ignore_violations)


def export_xylo_config(hw: HardwareModel, path: str | Path, seconds: float | None) -> Path:
    """Write the Xylo configuration a Xylo profile quantized the model into (`--export-config`)."""
    from dataclasses import replace

    from .formats.xylo_config import save_xylo_config

    if hw.quantized is None or hw.quantized.xylo is None:
        raise EvsimError(f"--export-config: profile '{hw.profile.name}' is not a Xylo profile (it has no chip configuration to write)")
    config = hw.quantized.xylo if seconds is None else replace(hw.quantized.xylo, dt=seconds)
    save_xylo_config(config, path)
    return Path(path)


def step_seconds(dataset) -> float | None:
    """The duration of one step, for tasks that say (their info's step_seconds)."""
    value = getattr(dataset, "info", {}).get("step_seconds")
    return float(value) if value else None


def _check_init(profile: Profile, init: str) -> None:
    if profile.fixed and init != "zeros":
        raise EvsimError(
            f"profile '{profile.name}' runs in integers from the all-zero state: --init {init} has no "
            "integer meaning (its first spike is fractional); use --init zeros"
        )


class Runner:
    """One batch through the hardware model's engine.

    On a chip that takes event counts per input channel (Xylo) the input is first made what the
    chip receives (counts clipped, negative values dropped), and the result carries, in `chip`,
    those counts and the active (channel, step) bins the chip's clock-cycle model reads (integer
    sums: a Tally merges them over batches and chunks)."""

    def __init__(self, hw: HardwareModel, engine: str):
        if engine not in api.ENGINES:
            raise EvsimError(f"unknown engine '{engine}' (choose from {', '.join(api.ENGINES)})")
        self.hw, self.engine = hw, engine
        if hw.quantized is not None:
            self.prepared = hw.quantized.record
        else:
            self.prepared = event.prepare(hw.network) if engine == "event" else None
        self.xylo = hw.quantized is not None and hw.quantized.xylo is not None

    def __call__(self, batch, record: bool = False, init: str = "zeros", seed: int = 0):
        if self.hw.quantized is None:
            return api.simulate(self.hw.network, batch.inputs, batch.sample_ids, self.engine, init, seed, record=record, prepared=self.prepared)
        events, chip = batch.inputs, None
        if self.xylo:
            events, chip = xylo_hw.chip_events(batch.inputs, self.hw.profile.limits.input_events_per_step)
        if self.engine == "event":
            result = fixed.simulate(self.prepared, events, record_spikes=record or self.xylo, record_mem=record)
        else:
            result = fixed.simulate_reference(self.hw.quantized.record, events.to_dense(), record_spikes=True, record_mem=record)
        if chip is not None:
            result.chip = {**chip, **xylo_hw.active_bins(self.hw.network, events, result.spikes)}
        if record:  # the integer input raster, for the traces (evsim.traces: input.spikes)
            result.inputs = events.to_dense().astype(np.int64)
        return result


def _violations(hw: HardwareModel) -> list[dict[str, Any]]:
    return [dict(asdict(v), message=v.message(), ignored=hw.ignored_violations) for v in hw.mapping.violations]


def _hardware_section(hw: HardwareModel, per_sample: dict[str, np.ndarray], steps: int, overflow: dict | None,
                      chip: dict[str, int] | None = None, seconds_per_step: float | None = None) -> dict[str, Any]:
    """chip: a Tally's chip counts (Xylo: inputs clipped or dropped, active bins)."""
    xylo = hw.quantized is not None and hw.quantized.xylo is not None
    if xylo:
        energy = xylo_hw.energy_report(hw.profile, hw.quantized.xylo, chip or {}, steps, seconds_per_step)
    else:
        energy = energy_report(hw.network, hw.profile, hw.mapping, per_sample, steps)
    return {
        "profile": hw.profile.name,
        "profile_source": hw.profile.path,
        "arithmetic": hw.profile.arithmetic,
        "energy_per_inference_j": energy,
        "cores": hw.mapping.to_dict(),
        "violations": _violations(hw),
        "overflows": overflow,
        "quantization": hw.quantized.report if hw.quantized is not None else None,
        "remedies": hw.remedies,
        # a chip priced by measured power over time (Xylo) has no operation-level energy to set
        # beside the baselines' MACs: no ratio
        "baselines": baseline_report(hw.network, hw.profile, steps, energy["total"] if energy and not xylo else None),
        "chip_inputs": {k: (chip or {}).get(k, 0) for k in ("clipped", "dropped_negative")} if xylo else None,
    }


# ---- run with a profile ---------------------------------------------------------------------------


def run_profile(
    network: Network,
    dataset,
    profile: Profile | str,
    engine: str = "event",
    init: str = "zeros",
    seed: int = 0,
    offset: int = 0,
    limit: int | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    fanin_prune: str | None = None,
    fanout_prune: str | None = None,
    ignore_violations: bool = False,
    record: str | Path | None = None,
) -> tuple[api.RunReport, dict[str, Any]]:
    """`evsim run --profile`: the run report plus a hardware section (energy, cores, ...).

    A float profile without remedies (`ideal`) runs exactly what `api.run` runs.
    `record`: a directory for each sample's traces (integers under a fixed-point profile)."""
    api.check_fit(network, dataset)
    run = profile_runner(network, profile, engine, init, fanin_prune, fanout_prune, ignore_violations)
    record_dir = traces.prepare_directory(record) if record is not None else None
    start = time.perf_counter()
    tally = profile_samples(run, dataset, init, seed, offset, limit, batch_size, progress, record_dir)
    report, hw = profile_report(run, dataset, init, seed, tally, time.perf_counter() - start)
    report.ended_early = api.ended_early(dataset, offset, limit)
    return report, hw


def profile_runner(
    network: Network,
    profile: Profile | str,
    engine: str,
    init: str,
    fanin_prune: str | None = None,
    fanout_prune: str | None = None,
    ignore_violations: bool = False,
) -> Runner:
    profile = as_profile(profile)
    _check_init(profile, init)
    return Runner(prepare_hardware(network, profile, fanin_prune, fanout_prune, ignore_violations), engine)


def profile_samples(run: Runner, dataset, init: str, seed: int, offset: int, limit: int | None,
                    batch_size: int | None, progress: Progress | None = None, record: Path | None = None) -> api.Tally:  # fmt: skip
    """The tally of `run_profile` over `limit` samples from `offset`: the whole run or one chunk.

    `record`: an existing directory that receives each sample's traces (evsim.traces)."""
    tally = api.Tally(run.hw.network, init, seed, storage(run.hw))
    score = dataset.n_classes is not None
    for batch in dataset.batches(api.fit_batch_size(run.hw.original, dataset, run.engine, batch_size), offset, limit):
        result = run(batch, record=record is not None, init=init, seed=seed)
        if record is not None:
            traces.write_batch(record, run.hw.network, result, batch.sample_ids)
        tally.add(result, batch, score)
        if progress:
            progress(len(batch.sample_ids))
    return tally


def profile_report(run: Runner, dataset, init: str, seed: int, tally: api.Tally, seconds: float) -> tuple[api.RunReport, dict[str, Any]]:
    hw = run.hw
    report = api.run_report(hw.network, dataset, run.engine, init, seed, tally, seconds)
    overflow = tally.overflow_report() if hw.quantized is not None else None
    return report, _hardware_section(hw, tally.per_sample(), dataset.n_steps, overflow, tally.chip, step_seconds(dataset))


# ---- audit ----------------------------------------------------------------------------------------


@dataclass
class AuditReport:
    model: str
    task: str
    source: str
    profile: str
    arithmetic: str
    engine: str
    samples: int
    steps: int
    seconds: float
    accuracy_float: float | None
    accuracy_hw: float | None
    accuracy_labelled_float: float | None
    accuracy_labelled_hw: float | None
    agreement: dict[str, Any]
    sops_per_sample: dict[str, Any]  # the hardware run's
    sops_per_sample_float: dict[str, Any]
    neurobench: dict[str, Any]  # NeuroBench's metrics of the hardware run (evsim/neurobench.py)
    neurobench_float: dict[str, Any]
    spikes_per_sample: dict[str, dict[str, float]]  # float / hw, per layer
    energy_per_inference_j: dict[str, Any] | None
    cores: dict[str, Any]
    violations: list[dict[str, Any]]
    overflows: dict[str, Any] | None
    baselines: dict[str, Any]
    quantization: dict[str, Any] | None
    remedies: dict[str, Any]
    findings: list[dict[str, Any]] = field(default_factory=list)  # a Lava profile's: delivery delay, emulations, per-neuron decays
    notes: list[str] = field(default_factory=list)
    chip_inputs: dict[str, int] | None = None  # Xylo: input events clipped to 15 or dropped (negative)
    ended_early: str | None = None  # --limit asked for more samples than the data hold
    # sample_ids, labels and the float and hardware predictions: `--predictions`, not JSON.
    predictions: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("predictions")
        return d


def _side_by_side(pf: dict[str, np.ndarray] | None, ph: dict[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
    if pf is None or ph is None:
        return None
    return {"sample_ids": pf["sample_ids"], "labels": pf["labels"], "float": pf["predictions"], "hardware": ph["predictions"]}


def _flat(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not isinstance(v, dict) or k in ("by_projection", "neuron_updates_by_layer")}


def audit(
    network: Network,
    dataset,
    profile: Profile | str,
    engine: str = "event",
    offset: int = 0,
    limit: int | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    fanin_prune: str | None = None,
    fanout_prune: str | None = None,
    ignore_violations: bool = False,
    record: str | Path | None = None,
) -> AuditReport:
    """Float (float64 event engine) and hardware side by side on the same samples, from zeros,
    and with the chip's delivery delays; on a profile with Lava's integer step also `findings`
    (delivery delay, emulations, per-neuron decays), each remedy with its result on the chip.

    `record`: a directory for each sample's traces of the hardware side."""
    api.check_fit(network, dataset)
    setup = AuditSetup(network, profile, engine, fanin_prune, fanout_prune, ignore_violations)
    record_dir = traces.prepare_directory(record) if record is not None else None
    start = time.perf_counter()
    tally = audit_samples(setup, dataset, offset, limit, batch_size, progress, record_dir)
    report = audit_report(setup, dataset, tally, time.perf_counter() - start)
    report.ended_early = api.ended_early(dataset, offset, limit)
    return report


class AuditSetup:
    """What an audit prepares once: the hardware model and both sides' engines.

    The float side runs with the chip's delivery delays (`network`; the model as trained is
    `trained`, run too when they differ); on a Lava profile `variants` holds the chip runs of
    the findings' remedies (hardware/lava_rules.py) and `groups` the per-neuron-decay layers.
    """

    def __init__(self, network: Network, profile: Profile | str, engine: str = "event", fanin_prune: str | None = None,
                 fanout_prune: str | None = None, ignore_violations: bool = False):  # fmt: skip
        self.trained, self.profile = network, as_profile(profile)
        self.run = Runner(prepare_hardware(network, self.profile, fanin_prune, fanout_prune, ignore_violations), engine)
        self.hw = self.run.hw
        self.network = chip_timing(network, self.profile)
        self.float_prep = event.prepare(self.network)
        self.trained_prep = event.prepare(network) if self.network is not network else None
        self.pruned_net = chip_timing(self.hw.network, self.profile) if self.hw.pruned else None
        self.pruned_prep = event.prepare(self.pruned_net) if self.hw.pruned else None
        self.variants: dict[str, Runner] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        q = self.hw.quantized
        if q is None or self.profile.dynamics.integer_step != "lava":
            return
        chip = lambda net: Runner(prepare_hardware(net, self.profile, ignore_violations=True), engine)  # noqa: E731
        emulated = q.report.get("emulated", {})
        self.groups["as run"] = decay_groups(q)
        if self.groups["as run"]:
            self.variants["shared decays"] = chip(shared_decay_variant(self.hw.network, self.profile, list(self.groups["as run"])))
        if emulated:
            native = native_variant(self.hw.network, emulated)
            self.variants["nearest Lava LIF"] = chip(native)
            self.groups["with the nearest Lava LIF"] = decay_groups(self.variants["nearest Lava LIF"].hw.quantized)
            if self.groups["with the nearest Lava LIF"]:
                shared = shared_decay_variant(native, self.profile, list(self.groups["with the nearest Lava LIF"]))
                self.variants["nearest Lava LIF, shared decays"] = chip(shared)


def chip_timing(network: Network, profile: Profile) -> Network:
    """The network with the chip's delivery delays (a fixed profile's `min_delay`; Xylo's:
    hidden spikes one step later)."""
    return _timing(network, profile)[0]


def _timing(network: Network, profile: Profile) -> tuple[Network, list[str], str]:
    """(the network with the chip's delivery delays, the projections they raised, why)."""
    if not profile.fixed:
        return network, [], ""
    if profile.dynamics.integer_step == "xylo":
        net, raised = xylo_hw.chip_delays(network)
        return net, raised, f"profile '{profile.name}' delivers a hidden neuron's spikes one step after they are fired (Xylo)"
    net, raised = with_min_delay(network, profile.dynamics.min_delay)
    return net, raised, (f"profile '{profile.name}' delivers a spike {profile.dynamics.min_delay} step(s) after it is fired at the earliest "
                         "(Lava's Dense: the next step)")


@dataclass
class AuditTally:
    """An audit's running sums: both sides' tallies, the remedied float network's, agreement."""

    float: api.Tally
    hw: api.Tally
    pruned: api.Tally
    agree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("pred", "pred_total", "spike", "spike_total", "samples_identical"), 0))
    trained: api.Tally | None = None  # the float model as trained, when the chip's timing differs
    variants: dict[str, api.Tally] = field(default_factory=dict)  # the findings' remedies on the chip
    variant_agree: dict[str, list[int]] = field(default_factory=dict)  # [predictions equal to float, predictions]

    def merge(self, other: "AuditTally") -> "AuditTally":
        self.float.merge(other.float)
        self.hw.merge(other.hw)
        self.pruned.merge(other.pruned)
        for key in self.agree:
            self.agree[key] += other.agree[key]
        if self.trained is not None:
            self.trained.merge(other.trained)
        for name, tally in self.variants.items():
            tally.merge(other.variants[name])
            self.variant_agree[name] = [a + b for a, b in zip(self.variant_agree[name], other.variant_agree[name])]
        return self


def audit_samples(setup: AuditSetup, dataset, offset: int, limit: int | None, batch_size: int | None,
                  progress: Progress | None = None, record: Path | None = None) -> AuditTally:  # fmt: skip
    """The sums of `audit` over `limit` samples from `offset`: the whole audit or one chunk.

    `record`: an existing directory that receives each sample's hardware traces (evsim.traces)."""
    network, hw, run = setup.network, setup.hw, setup.run
    t = AuditTally(api.Tally(network), api.Tally(hw.network, storage=storage(hw)), api.Tally(hw.network))
    if setup.trained_prep is not None:
        t.trained = api.Tally(setup.trained)
    for name, runner in setup.variants.items():
        t.variants[name], t.variant_agree[name] = api.Tally(runner.hw.network), [0, 0]
    agree = t.agree
    score = dataset.n_classes is not None
    for batch in dataset.batches(api.fit_batch_size(network, dataset, "event", batch_size), offset, limit):
        f = api.simulate(network, batch.inputs, batch.sample_ids, "event", "zeros", record=True, prepared=setup.float_prep)
        h = run(batch, record=True)
        if record is not None:
            traces.write_batch(record, hw.network, h, batch.sample_ids)
        t.float.add(f, batch, score)
        t.hw.add(h, batch, score)
        if setup.pruned_prep is not None:
            fp = api.simulate(setup.pruned_net, batch.inputs, batch.sample_ids, "event", "zeros", prepared=setup.pruned_prep)
            t.pruned.add(fp, batch, score)
        if setup.trained_prep is not None:
            ft = api.simulate(setup.trained, batch.inputs, batch.sample_ids, "event", "zeros", prepared=setup.trained_prep)
            t.trained.add(ft, batch, score)
        pf, ph = decide(network.readout, f.trace), decide(network.readout, h.trace)
        if pf.ndim == 2:
            pf, ph = pf[:, network.readout.from_step :], ph[:, network.readout.from_step :]
        for name, runner in setup.variants.items():
            hv = runner(batch)
            t.variants[name].add(hv, batch, score)
            pv = decide(network.readout, hv.trace)
            pv = pv[:, network.readout.from_step :] if pv.ndim == 2 else pv
            t.variant_agree[name][0] += int((pv == pf).sum())
            t.variant_agree[name][1] += pv.size
        agree["pred"] += int((pf == ph).sum())
        agree["pred_total"] += pf.size
        equal, compared, identical = api.spike_agreement(f, h)
        agree["spike"] += equal
        agree["spike_total"] += compared
        agree["samples_identical"] += identical
        if progress:
            progress(len(batch.sample_ids))
    return t


def audit_report(setup: AuditSetup, dataset, tally: AuditTally, seconds: float) -> AuditReport:
    network, hw, profile, engine = setup.network, setup.hw, setup.profile, setup.run.engine
    t_float, t_hw, t_pruned, agree = tally.float, tally.hw, tally.pruned, tally.agree
    n, steps = t_hw.samples, dataset.n_steps
    if n == 0:
        raise EvsimError("no samples to run (check --offset and --limit)")
    section = _hardware_section(hw, t_hw.per_sample(), steps, t_hw.overflow_report() if hw.quantized is not None else None,
                                t_hw.chip, step_seconds(dataset))
    remedies = dict(hw.remedies)
    if hw.pruned:
        remedies["accuracy_float_after_remedy"] = t_pruned.accuracy
        remedies["accuracy_float_before_remedy"] = t_float.accuracy
    notes = ["both sides run from the all-zero initial state (hardware has no fractional first spike)"]
    if tally.trained is not None:
        notes.append("both sides run with the chip's delivery delays (no same-step connection): the float accuracy of the model as "
                     "trained is in findings (delivery_delay)")
    if not profile.fixed:
        notes.append(f"profile '{profile.name}' runs evsim's float64 engines: hardware and float differ only by remedies")
    if hw.ignored_violations:
        notes.append("design-rule violations were ignored on request (--ignore-violations): this network does not fit the chip as is")
    spikes = {
        layer.name: {"float": float(t_float.totals["spikes"][i] / n), "hw": float(t_hw.totals["spikes"][i] / n)}
        for i, layer in enumerate(network.layers)
        if layer.spiking
    }
    return AuditReport(
        model=network.name,
        task=dataset.name,
        source=dataset.source,
        profile=profile.name,
        arithmetic=profile.arithmetic,
        engine=engine,
        samples=n,
        steps=steps,
        seconds=seconds,
        accuracy_float=t_float.accuracy,
        accuracy_hw=t_hw.accuracy,
        accuracy_labelled_float=t_float.accuracy_labelled,
        accuracy_labelled_hw=t_hw.accuracy_labelled,
        agreement={
            "predictions": agree["pred"] / agree["pred_total"] if agree["pred_total"] else None,
            "spikes": agree["spike"] / agree["spike_total"] if agree["spike_total"] else None,
            "samples_identical": agree["samples_identical"],
        },
        sops_per_sample=_flat(api.sops_summary(hw.network, t_hw.totals, n, steps)),
        sops_per_sample_float=_flat(api.sops_summary(network, t_float.totals, n, steps)),
        neurobench=t_hw.neurobench(steps),
        neurobench_float=t_float.neurobench(steps),
        spikes_per_sample=spikes,
        energy_per_inference_j=section["energy_per_inference_j"],
        cores=section["cores"],
        violations=section["violations"],
        overflows=section["overflows"],
        baselines=section["baselines"],
        quantization=section["quantization"],
        remedies=remedies,
        findings=_findings(setup, tally),
        notes=notes,
        chip_inputs=section["chip_inputs"],
        predictions=_side_by_side(t_float.predictions(), t_hw.predictions()),
    )


def _findings(setup: AuditSetup, tally: AuditTally) -> list[dict[str, Any]]:
    """The delivery delay and, on a Lava profile, emulations and per-neuron decays, each remedy
    with its accuracy on the chip and its prediction agreement with the float side
    (hardware/lava_rules.py): microcode (the emulated run as is) or the nearest Lava LIF; one
    Lava process per distinct decay (exact) or one shared decay per layer."""
    findings: list[dict[str, Any]] = []
    profile, q = setup.profile, setup.hw.quantized
    if tally.trained is not None:
        _, raised, why = _timing(setup.trained, profile)
        findings.append({
            "finding": "delivery_delay", "delay": 1 if profile.dynamics.integer_step == "xylo" else profile.dynamics.min_delay,
            "projections": raised, "why": why,
            "accuracy_float_as_trained": tally.trained.accuracy, "accuracy_float_with_chip_delays": tally.float.accuracy,
        })  # fmt: skip
    if q is None or profile.dynamics.integer_step != "lava":
        return findings
    a = tally.agree
    result = {"as run": {"accuracy_hw": tally.hw.accuracy, "agreement_with_float": a["pred"] / a["pred_total"] if a["pred_total"] else None}}
    for name, t in tally.variants.items():
        hit, total = tally.variant_agree[name]
        result[name] = {"accuracy_hw": t.accuracy, "agreement_with_float": hit / total if total else None}
    for name, e in q.report.get("emulated", {}).items():
        findings.append({
            "finding": "emulation", "layer": name, "type": e["type"], "why": e["why"],
            "remedies": [
                {"remedy": "Loihi 2 microcode computing the layer as evsim emulates it", **result["as run"]},
                {"remedy": "the nearest Lava LIF (zero reset at the spike, no adaptation; every emulated layer at once)",
                 **result["nearest Lava LIF"]},
            ],
        })  # fmt: skip
    for label, as_is, shared in (("as run", "as run", "shared decays"), ("with the nearest Lava LIF", "nearest Lava LIF", "nearest Lava LIF, shared decays")):
        for name, g in setup.groups.get(label, {}).items():
            findings.append({
                "finding": "decays_per_layer", "layer": name, "network": label, "distinct_decays": g["distinct_decays"],
                "why": "a Lava LIF process holds one du and one dv",
                "remedies": [
                    {"remedy": f"one Lava process per distinct decay ({g['distinct_decays']} processes)", **result[as_is]},
                    {"remedy": "one decay per layer (each layer's median code; every such layer at once)", **result[shared]},
                ],
            })  # fmt: skip
    return findings


# ---- sweep ----------------------------------------------------------------------------------------


def parse_bits(text: str | None, what: str) -> list[int] | None:
    """'2..16', '4,8,16', '8' or a mix ('2..6,8,12') -> sorted distinct integers."""
    if text is None or text == "":
        return None
    out: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        try:
            if ".." in part:
                lo, hi = (int(x) for x in part.split(".."))
                if lo > hi:
                    raise ValueError
                if hi - lo > 64:  # no chip has more widths than that; checked before the set is built
                    raise EvsimError(f"{what}: '{part}' spans {hi - lo + 1} widths (at most 65)")
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise EvsimError(f"{what}: '{text}' is not a list of widths like 2..16 or 4,8,16") from None
    return sorted(out)


@dataclass
class SweepReport:
    model: str
    task: str
    profile: str
    samples: int
    steps: int
    accuracy_float: float | None
    rows: list[dict[str, Any]]
    breakdown: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    CSV_COLUMNS = (
        "weight_bits", "state_bits", "accuracy", "accuracy_labelled", "prediction_agreement",
        "energy_j", "ac_per_sample", "spikes_per_sample", "overflows", "weights_zeroed", "violations",
    )  # fmt: skip

    def write_csv(self, path: Path) -> None:
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(self.CSV_COLUMNS)
            for r in self.rows:
                w.writerow(["" if r[c] is None else r[c] for c in self.CSV_COLUMNS])

    def plot(self, path: Path) -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise EvsimError("--plot needs matplotlib: pip install 'evsim[plot]'") from None
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        rows = [r for r in self.rows if r["accuracy"] is not None and r["energy_j"] is not None]
        by_state: dict[Any, list] = {}
        for r in rows:
            by_state.setdefault(r["state_bits"], []).append(r)
        for sb, rs in by_state.items():
            xs = [r["energy_j"] * 1e6 for r in rs]
            ys = [100 * r["accuracy"] for r in rs]
            ax.plot(xs, ys, "o-", label=f"state bits {sb}" if sb is not None else self.profile)
            for r, x, y in zip(rs, xs, ys):
                ax.annotate(str(r["weight_bits"]), (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
        if self.accuracy_float is not None:
            ax.axhline(100 * self.accuracy_float, color="grey", ls="--", label="float64")
        ax.set_xlabel("energy per inference (µJ)")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"{self.model} on {self.task}: {self.profile}, labels = weight bits")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


def tolerance_breakdown(
    rows: list[dict[str, Any]], accuracy_float: float | None, tolerance: float, weight_bits, state_bits
) -> dict[str, Any]:
    """From which width on every wider one stays within `tolerance` of float, per swept axis.

    In a 2-D sweep each axis is judged with the other held at its widest swept value (a narrow
    state must not hide that 8-bit weights suffice with 20-bit state); `within` lists every
    (weight bits, state bits) setting that stays within tolerance.
    """
    out: dict[str, Any] = {"tolerance": tolerance, "weight_bits_from": None, "state_bits_from": None, "within": []}
    if accuracy_float is None:
        out["note"] = ""
        return out
    ok = lambda r: r["accuracy"] is not None and r["accuracy"] >= accuracy_float - tolerance  # noqa: E731
    out["within"] = [[r["weight_bits"], r["state_bits"]] for r in rows if ok(r)]
    notes = []
    axes = (("weight_bits", weight_bits, "state_bits", state_bits), ("state_bits", state_bits, "weight_bits", weight_bits))
    for key, swept, other_key, other in axes:
        if not swept:
            continue
        held = max(other) if other else None
        ok_from = None
        for bits in sorted(swept, reverse=True):
            row = [r for r in rows if r[key] == bits and (held is None or r[other_key] == held)]
            if row and all(ok(r) for r in row):
                ok_from = bits
            else:
                break
        out[f"{key}_from"] = ok_from
        what, with_ = key.replace("_bits", ""), f" (with {held}-bit {other_key.replace('_bits', '')})" if held is not None else ""
        notes.append(
            f"every {what} width >= {ok_from}{with_} stays within {100 * tolerance:g} points of float"
            if ok_from is not None
            else f"no swept {what} width{with_} stays within {100 * tolerance:g} points of float"
        )
    out["note"] = "; ".join(notes)
    return out


def sweep(
    network: Network,
    dataset,
    profile: Profile | str,
    weight_bits: list[int] | None,
    state_bits: list[int] | None = None,
    offset: int = 0,
    limit: int | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    fanin_prune: str | None = None,
    fanout_prune: str | None = None,
    tolerance: float = 0.01,
) -> SweepReport:
    """Accuracy and energy per (weight bits, state bits) setting of a fixed-point profile.

    Every setting is simulated in full; a setting that breaks the chip's limits (for example
    16-bit weights overflowing a core's synapse memory) still runs, with its violations listed
    in its row: a sweep explores beyond the chip.  `breakdown` names the smallest weight width
    from which on every wider one stays within `tolerance` of the float accuracy.
    """
    profile = as_profile(profile)
    settings = sweep_settings(profile, weight_bits, state_bits)
    api.check_fit(network, dataset)
    start = time.perf_counter()
    timed = chip_timing(network, profile)  # float with the chip's delivery delays: widths are what a sweep varies
    float_part = float_samples(timed, event.prepare(timed), dataset, offset, limit, batch_size)
    parts = []
    for setting in settings:
        run = setting_runner(network, profile, setting, fanin_prune, fanout_prune)
        parts.append((run, setting_samples(run, dataset, offset, limit, batch_size)))
        if progress:
            progress(1)
    return sweep_report(network, dataset, profile, weight_bits, state_bits, float_part, parts, tolerance, time.perf_counter() - start)


def sweep_settings(profile: Profile, weight_bits: list[int] | None, state_bits: list[int] | None) -> list[tuple[int | None, int | None]]:
    """The (weight bits, state bits) settings a sweep runs, in row order."""
    if not profile.fixed:
        raise EvsimError(f"profile '{profile.name}' runs in float64: sweep needs a fixed-point profile")
    if not weight_bits and not state_bits:
        raise EvsimError("sweep: give --weight-bits and/or --state-bits")
    return [(w, s) for w in (weight_bits or [None]) for s in (state_bits or [None])]


def setting_runner(network: Network, profile: Profile, setting: tuple[int | None, int | None],
                   fanin_prune: str | None = None, fanout_prune: str | None = None) -> Runner:  # fmt: skip
    """The hardware model of one sweep setting (violations listed, not raised) and its engine."""
    return Runner(prepare_hardware(network, profile.with_bits(*setting), fanin_prune, fanout_prune, ignore_violations=True), "event")


@dataclass
class Scored:
    """A tally and the predictions (from the readout's first scored step) of some samples."""

    tally: api.Tally
    predictions: np.ndarray

    @classmethod
    def merged(cls, parts: list["Scored"]) -> "Scored":
        """Chunks in sample order into one."""
        tally = api.Tally(parts[0].tally.network)
        for p in parts:
            tally.merge(p.tally)
        return cls(tally, np.concatenate([p.predictions for p in parts]))


def _scored_samples(network: Network, simulate: Callable, dataset, offset: int, limit: int | None, batch_size: int | None) -> Scored:
    tally = api.Tally(network)
    score = dataset.n_classes is not None
    preds = []
    for batch in dataset.batches(api.fit_batch_size(network, dataset, "event", batch_size), offset, limit):
        result = simulate(batch)
        tally.add(result, batch, score)
        pred = decide(network.readout, result.trace)
        preds.append(pred[:, network.readout.from_step :] if pred.ndim == 2 else pred)
    return Scored(tally, np.concatenate(preds))


def float_samples(network: Network, prepared: event.Prepared, dataset, offset: int, limit: int | None, batch_size: int | None) -> Scored:
    """A sweep's float64 side over `limit` samples from `offset`."""
    run = lambda b: api.simulate(network, b.inputs, b.sample_ids, "event", "zeros", prepared=prepared)  # noqa: E731
    return _scored_samples(network, run, dataset, offset, limit, batch_size)


def setting_samples(run: Runner, dataset, offset: int, limit: int | None, batch_size: int | None) -> Scored:
    """One sweep setting over `limit` samples from `offset`."""
    return _scored_samples(run.hw.network, run, dataset, offset, limit, batch_size)


def sweep_report(
    network: Network,
    dataset,
    profile: Profile,
    weight_bits: list[int] | None,
    state_bits: list[int] | None,
    float_part: Scored,
    parts: list[tuple[Runner, Scored]],
    tolerance: float,
    seconds: float,
) -> SweepReport:
    """The sweep's table from the float side and each setting's (runner, scored samples)."""
    t_float = float_part.tally
    rows = []
    for run, part in parts:
        hw, tally = run.hw, part.tally
        p = hw.profile
        agree, total = int((part.predictions == float_part.predictions).sum()), part.predictions.size
        per_sample = tally.per_sample()
        energy = energy_report(hw.network, p, hw.mapping, per_sample, dataset.n_steps)
        qrep = hw.quantized.report["layers"]
        rows.append(
            {
                "weight_bits": p.weights.bits,
                "state_bits": p.state.membrane_bits,
                "weight_shift": p.weights.shift,
                "accuracy": tally.accuracy,
                "accuracy_labelled": tally.accuracy_labelled,
                "prediction_agreement": agree / total if total else None,
                "energy_j": energy["total"] if energy else None,
                "ac_per_sample": float(per_sample["ac"].sum()),
                "spikes_per_sample": float(per_sample["spikes"].sum()),
                "overflows": tally.overflow_report()["total"],
                "weights_zeroed": sum(r["weights"]["zeroed_by_rounding"] for r in qrep.values()),
                "violations": len(hw.mapping.violations),
                "violation_messages": [v.message() for v in hw.mapping.violations],
            }
        )
    breakdown = tolerance_breakdown(rows, t_float.accuracy, tolerance, weight_bits, state_bits)
    return SweepReport(
        model=network.name,
        task=dataset.name,
        profile=profile.name,
        samples=t_float.samples,
        steps=dataset.n_steps,
        accuracy_float=t_float.accuracy,
        rows=rows,
        breakdown=breakdown,
        seconds=seconds,
    )


# ---- netx export ------------------------------------------------------------------------------


def export_netx(network: Network, profile: Profile | str, path: str | Path) -> dict[str, Any]:
    """Quantize `network` on a Loihi profile and write what lava-dl's netx reads, or raise the
    design-rule report (hardware/netx_export.py).  Returns a summary of what was written."""
    profile = as_profile(profile)
    if not profile.fixed:
        raise EvsimError(f"profile '{profile.name}' runs in float64: netx files hold a Loihi profile's integers (use --profile loihi2)")
    q = quantize(network, profile)
    records = netx_records(q)
    write_netx(records, path)
    return {
        "file": str(path),
        "profile": profile.name,
        "layers": [{"index": layer.index, "type": layer.type, "neurons": layer.size} for layer in records.layers],
        "convention": q.report.get("convention"),
        "delays_raised": q.report.get("delays_raised", []),
    }


__all__ = ["audit", "sweep", "run_profile", "prepare_hardware", "parse_bits", "AuditReport", "SweepReport", "DesignRuleError", "Violation", "export_netx"]
