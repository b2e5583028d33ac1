"""Xylo (the `xylo-*` profiles, `[dynamics] integer_step = "xylo"`; docs/hardware.md, "Xylo"):

    quantize_network       a float model (lif / cuba-lif hidden layers, li / cuba-li / lif readout)
                           as a XyloConfig and evsim's integer record of it, with the chip's delivery
    architecture_violations  what Xylo's neuron and delivery cannot hold (the mapper lists them)
    record_from_config     the integer record of any configuration (to run one evsim did not make)
    chip_events            the input as the chip receives it
    cycles_per_step, energy_report   Rockpool's clock-cycle model; measured power over time

Quantization follows Rockpool 3.1's `rockpool.transform.quantize_methods` on a float
specification (the layout of `XyloConfig`, float values, weights in the membrane's unit so that
the threshold is comparable to them):

    global   one scale for the input and recurrent weights, hidden biases and thresholds (the
             largest |weight| or |bias| becomes 127), one for the readout weights, biases and
             thresholds;
    channel  one scale per hidden neuron (its input and recurrent weights: the largest becomes
             127) and one per readout neuron.

A scale that would put a threshold beyond int16 is reduced so that the largest threshold is
32767.  Dashes are rounded.  Where Rockpool 3.1 differs, evsim keeps the float model's meaning:
readout biases take the readout scale (Rockpool's global_quantize scales them by the hidden
one), a threshold limit rescales biases with the weights, every scale is applied once to the
float values (Rockpool rounds twice when it limits a threshold), and per-channel scaling scales
the biases whether the neurons use one or two synaptic states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engines.record import FixedRecord, fixed_record
from ..errors import EvsimError
from ..events import EventBatch
from ..formats.xylo_config import INT16, XyloConfig
from ..model import INPUT, Layer, Network, Projection, Readout
from ..neurons import N_COEF, N_OPT, STEP_CODES
from ..neurons import xylo as xn
from ..neurons.base import N_ARITH
from .mapping import Violation, map_network

WEIGHT_MAX = 127
THRESHOLD_MAX = INT16[1]


def _round(x) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64)).astype(np.int64)  # NumPy's half-to-even, as Rockpool


def _as3(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    return w[:, :, None] if w.ndim == 2 else w


def _limited(scale: float, thresholds: np.ndarray) -> float:
    """The scale, reduced where it would carry the largest threshold beyond int16."""
    top = float(np.max(thresholds, initial=0.0)) * scale
    return scale * THRESHOLD_MAX / top if top > THRESHOLD_MAX else scale


def _fitting_shift(shift: int, scale: np.ndarray, *values: np.ndarray) -> int:
    """The largest left shift <= `shift` that keeps every value x scale << shift within int16."""
    top = max((float(np.max(np.abs(v) * scale, initial=0.0)) for v in values), default=0.0)
    while shift > 0 and top * 2**shift > THRESHOLD_MAX:
        shift -= 1
    return shift


def quantize_global(spec: dict, dt: float = 1e-3, with_scales: bool = False, shift: int = 0):
    """Rockpool's global_quantize (see the module docstring for the differences kept).

    shift: the weight shift of every matrix (Rockpool leaves it 0).  The weights keep their 8-bit
    values and thresholds and biases are scaled by 2^shift more: the same network in finer state
    units.  A shift that would carry a threshold or bias beyond int16 is lowered."""
    w_in, w_rec, w_out = _as3(spec["weights_in"]), _as3(spec["weights_rec"]), np.asarray(spec["weights_out"], np.float64)
    bias, bias_out = np.asarray(spec["bias"], np.float64), np.asarray(spec["bias_out"], np.float64)
    th, th_out = np.asarray(spec["threshold"], np.float64), np.asarray(spec["threshold_out"], np.float64)
    top = max(np.abs(w_in).max(initial=0.0), np.abs(w_rec).max(initial=0.0), np.abs(bias).max(initial=0.0))
    top_out = max(np.abs(w_out).max(initial=0.0), np.abs(bias_out).max(initial=0.0))
    scale = np.full(len(th), _limited(WEIGHT_MAX / top if top else 1.0, th))
    scale_out = np.full(len(th_out), _limited(WEIGHT_MAX / top_out if top_out else 1.0, th_out))
    return _shifted(spec, dt, shift, scale, scale_out, w_in, w_rec, w_out, th, th_out, bias, bias_out, with_scales)


def quantize_channel(spec: dict, dt: float = 1e-3, with_scales: bool = False, shift: int = 0):
    """Rockpool's channel_quantize: a scale per hidden neuron and per readout neuron (shift: as
    in quantize_global, one for all neurons of a matrix)."""
    w_in, w_rec, w_out = _as3(spec["weights_in"]), _as3(spec["weights_rec"]), np.asarray(spec["weights_out"], np.float64)
    bias, bias_out = np.asarray(spec["bias"], np.float64), np.asarray(spec["bias_out"], np.float64)
    th, th_out = np.asarray(spec["threshold"], np.float64), np.asarray(spec["threshold_out"], np.float64)
    n_ien = w_in.shape[1]
    top = np.abs(w_rec).max(axis=(0, 2))
    top[:n_ien] = np.maximum(top[:n_ien], np.abs(w_in).max(axis=(0, 2)))
    top_out = np.abs(w_out).max(axis=0)
    scale = np.array([_limited(WEIGHT_MAX / m if m else 1.0, th[i : i + 1]) for i, m in enumerate(top)])
    scale_out = np.array([_limited(WEIGHT_MAX / m if m else 1.0, th_out[j : j + 1]) for j, m in enumerate(top_out)])
    return _shifted(spec, dt, shift, scale, scale_out, w_in, w_rec, w_out, th, th_out, bias, bias_out, with_scales)


def _shifted(spec, dt, shift, scale, scale_out, w_in, w_rec, w_out, th, th_out, bias, bias_out, with_scales):
    """The configuration: weights x their scale, thresholds and biases x scale << shift (one shift
    for the input and recurrent matrices, which feed the same neurons, one for the readout)."""
    s_hid = _fitting_shift(shift, scale, th, bias)
    s_out = _fitting_shift(shift, scale_out, th_out, bias_out)
    n_ien = w_in.shape[1]
    state, state_out = scale * 2.0**s_hid, scale_out * 2.0**s_out
    config = _config(spec, dt, w_in * scale[None, :n_ien, None], w_rec * scale[None, :, None], w_out * scale_out[None, :],
                     th * state, th_out * state_out, bias * state, bias_out * state_out, (s_hid, s_hid, s_out))
    return (config, state, state_out) if with_scales else config


def _config(spec, dt, w_in, w_rec, w_out, th, th_out, bias, bias_out, shifts=(0, 0, 0)) -> XyloConfig:
    two = w_in.shape[2] == 2 or w_rec.shape[2] == 2  # else the config keeps Rockpool's 2-D matrices
    squeeze = (lambda w: w) if two else (lambda w: w[:, :, 0])
    return XyloConfig(
        weights_in=squeeze(_round(w_in)),
        weights_rec=squeeze(_round(w_rec)),
        weights_out=_round(w_out),
        dash_mem=_round(spec["dash_mem"]),
        dash_mem_out=_round(spec["dash_mem_out"]),
        dash_syn=_round(spec["dash_syn"]),
        dash_syn_2=_round(spec.get("dash_syn_2", np.zeros(len(th)))),
        dash_syn_out=_round(spec["dash_syn_out"]),
        threshold=_round(th),
        threshold_out=_round(th_out),
        bias=_round(bias),
        bias_out=_round(bias_out),
        weight_shift_in=shifts[0],
        weight_shift_rec=shifts[1],
        weight_shift_out=shifts[2],
        dt=dt,
    )


# ---- Rockpool's clock-cycle model of the SNN core ----------------------------------------------

# Rockpool 3.1 rockpool/devices/xylo/syns61201/power_cycles_model.py (Xylo Audio 2) and
# syns63300/power_cycles_model.py (Xylo IMU and Audio 3): master clock cycles the core needs per
# time step, from the configuration and the fraction of (channel, step) bins with activity (a bin
# with several events costs what one costs).  The "magic numbers" are Rockpool's.
CYCLE_MODELS = ("xylo-audio2", "xylo-audio3-imu")
INPUT_LOOP_CYCLES = 3.5
HIDDEN_UPDATE_CYCLES = 7
OUTPUT_ISYN_UPDATE_CYCLES = 8
FIXED_HIDDEN_NEURON_CYCLES = 19
FIXED_OUTPUT_NEURON_SPK_CYCLES = 12


def cycles_per_step(config: XyloConfig, model: str, p_in: float, p_hid: float, p_out: float) -> float:
    """Rockpool's cycles_model for `config` (no aliases: evsim writes none), given the fractions of
    active input, hidden and readout bins.

    model: 'xylo-audio2' (every hidden neuron counts as reached by the input and readout
    matrices) or 'xylo-audio3-imu' (only the hidden neurons with a non-zero input or readout
    weight count).  Recurrent fan-out is that of synapse 1, as Rockpool reads it.
    """
    if model not in CYCLE_MODELS:
        raise ValueError(f"unknown cycle model {model!r}")
    n_in, n_hid, n_out = config.n_inputs, config.n_hidden, config.n_outputs
    if model == "xylo-audio2":
        n_ien = n_oen = n_hid
    else:
        n_ien = int(np.count_nonzero(np.abs(config.weights3("weights_in")).sum(axis=(0, 2))))
        n_oen = int(np.count_nonzero(np.abs(config.weights_out).sum(axis=1)))
    fanout = float(np.mean(np.count_nonzero(config.weights3("weights_rec")[:, :, 0], axis=1))) if n_hid else 0.0
    inputs = n_in * (p_in * n_ien * INPUT_LOOP_CYCLES + 1)
    hidden_isyn = (fanout * HIDDEN_UPDATE_CYCLES * p_hid + 3) * n_hid
    output_isyn = p_hid * (1 + n_out * OUTPUT_ISYN_UPDATE_CYCLES) * n_oen
    # Rockpool's spiking term with no alias sources or targets: max(p, 0)*2 + 0*3 + p*1 + 0
    hidden_spk = (FIXED_HIDDEN_NEURON_CYCLES + 3 * p_hid) * n_hid
    output_spk = FIXED_OUTPUT_NEURON_SPK_CYCLES * n_out
    return inputs + hidden_isyn + output_isyn + hidden_spk + output_spk


def active_bins(network, events, spikes: list[np.ndarray]) -> dict[str, int]:
    """Active (sample, step, channel or neuron) bins of a batch, and how many there are: input
    events (one per bin), hidden spikes (every layer but the readout), readout spikes."""
    counts = {"bins_input": events.n_events, "bins_input_total": events.n_samples * events.n_steps * network.n_inputs}
    for part in ("hidden", "readout"):
        counts[f"bins_{part}"] = counts[f"bins_{part}_total"] = 0
    for li, layer in enumerate(network.layers):
        part = "readout" if layer.name == network.readout.layer else "hidden"
        counts[f"bins_{part}"] += int(np.count_nonzero(spikes[li])) if layer.spiking else 0
        counts[f"bins_{part}_total"] += int(spikes[li].size)
    return counts


def energy_report(profile, config: XyloConfig, chip: dict[str, int], steps: int, step_seconds: float | None) -> dict:
    """Xylo's energy per inference: the chip runs in real time, so its dynamic energy is its
    measured dynamic inference power times the inference's duration (steps x step_seconds);
    Rockpool's cycle model says how many clock cycles this network needs per step on this
    activity (chip: a Tally's active_bins sums), hence the slowest clock that keeps up."""
    e = profile.energy
    bins = {part: chip.get(f"bins_{part}", 0) / chip[f"bins_{part}_total"] if chip.get(f"bins_{part}_total") else 0.0
            for part in ("input", "hidden", "readout")}
    cycles = cycles_per_step(config, e.cycle_model, bins["input"], bins["hidden"], bins["readout"]) if e.cycle_model else None
    duration = steps * step_seconds if step_seconds else None
    total = e.dynamic_power_uw * 1e-6 * duration if (e.dynamic_power_uw is not None and duration) else None
    unpriced = []
    if total is None:
        unpriced.append("no published dynamic power for this chip" if e.dynamic_power_uw is None else "no step duration (the task gives none)")
    return {
        "profile": profile.name,
        "source": e.source,
        "total": total,
        "per_step": total / steps if total is not None else None,
        "method": "measured dynamic inference power x inference duration" if total is not None else None,
        "measured": {"dynamic_power_w": e.dynamic_power_uw * 1e-6 if e.dynamic_power_uw is not None else None},
        "modelled": {
            "cycle_model": e.cycle_model,
            "active_bins": bins,
            "cycles_per_step": cycles,
            "cycles_per_inference": cycles * steps if cycles is not None else None,
            "min_clock_hz": cycles / step_seconds if (cycles is not None and step_seconds) else None,
        },
        "step_seconds": step_seconds,
        "duration_s": duration,
        "unpriced": unpriced,
    }


def chip_events(events, limit: int | None):
    """The input as the chip receives it: event counts clipped to [0, limit] (XyloLayer clips at
    15; a chip input channel carries counts, so negative values cannot be sent and are dropped).
    Returns (EventBatch, {"clipped": events above the limit, "dropped_negative": ...})."""
    v = events.value
    limit = 15 if limit is None else limit  # XyloLayer's MAX_NUM_INP_SPIKES
    clipped = np.clip(v, 0, limit)
    keep = clipped != 0
    counts = {"clipped": int(np.count_nonzero(v > limit)), "dropped_negative": int(np.count_nonzero(v < 0))}
    if keep.all() and not counts["clipped"]:
        return events, counts
    per_step = np.diff(events.step_ptr, axis=1).ravel()
    owner = np.repeat(np.arange(per_step.size), per_step)
    new_counts = np.bincount(owner[keep], minlength=per_step.size)
    flat = np.zeros(per_step.size + 1, dtype=np.int64)
    np.cumsum(new_counts, out=flat[1:])
    n, t = events.step_ptr.shape[0], events.n_steps
    ptr = np.empty((n, t + 1), dtype=np.int64)
    ptr[:, :t] = flat[:-1].reshape(n, t)
    ptr[:, t] = flat[t::t] if n else 0
    return EventBatch(t, events.n_channels, ptr, events.channel[keep], clipped[keep]), counts


# ---- a configuration as evsim's integer record -------------------------------------------------


def record_from_config(config: XyloConfig, readout_spike: bool = False):
    """evsim's integer record of a Xylo configuration: layer `hidden` (all hidden neurons) and
    layer `readout`, both on the chip's integer step, with the chip's delivery: input events in
    the same step, hidden spikes one step later (to hidden and readout neurons alike), each
    weight added as int16(w << shift of its matrix).  Returns (record, network): the network
    holds the structure only (its float parameters are placeholders no engine reads)."""
    n_in, n_hid, n_out = config.n_inputs, config.n_hidden, config.n_outputs
    w_in, w_rec = config.weights3("weights_in"), config.weights3("weights_rec")
    full_in = np.zeros((n_in, n_hid, 2), dtype=np.int64)
    full_in[:, : w_in.shape[1]] = w_in
    full_out = np.zeros((n_hid, n_out), dtype=np.int64)
    full_out[n_hid - config.weights_out.shape[0] :] = config.weights_out
    lo, hi = INT16

    def addend(w: np.ndarray, shift: int) -> np.ndarray:  # XyloLayer: int16(int8 weight << shift)
        return ((w << shift) - lo) % (hi - lo + 1) + lo

    blocks = [("input", "hidden", 0, 0, addend(full_in[:, :, 0], config.weight_shift_in))]
    if config.synapses == 2:
        blocks.append(("input", "hidden", 0, 1, addend(full_in[:, :, 1], config.weight_shift_in)))
    blocks.append(("hidden", "hidden", 1, 0, addend(w_rec[:, :, 0], config.weight_shift_rec)))
    if config.synapses == 2:
        blocks.append(("hidden", "hidden", 1, 1, addend(w_rec[:, :, 1], config.weight_shift_rec)))
    blocks.append(("hidden", "readout", 1, 0, addend(full_out, config.weight_shift_out)))
    placeholder = dict(tau_syn=2.0, tau_mem=2.0, v_threshold=1.0, update="sequential")
    network = Network(
        name="xylo-config",
        n_inputs=n_in,
        layers=[Layer("hidden", n_hid, "cuba-lif", max_spikes=xn.HIDDEN_MAX_SPIKES, **placeholder),
                Layer("readout", n_out, "cuba-lif", max_spikes=xn.READOUT_MAX_SPIKES, **placeholder)],
        projections=[Projection(src, tgt, w.T.astype(np.float64), np.zeros(w.shape[1]), delay) for src, tgt, delay, _, w in blocks],
        readout=Readout("readout", "spike" if readout_spike else "mem", "per_step"),
    )
    coef = np.zeros((n_hid + n_out, N_COEF), dtype=np.int64)
    coef[:, xn.DASH_MEM] = np.concatenate([config.dash_mem, config.dash_mem_out])
    coef[:, xn.DASH_SYN] = np.concatenate([config.dash_syn, config.dash_syn_out])
    coef[:n_hid, xn.DASH_SYN2] = config.dash_syn_2
    coef[:, xn.THRESHOLD] = np.concatenate([config.threshold, config.threshold_out])
    opts = np.zeros((2, N_OPT), dtype=np.int64)
    opts[:, xn.O_MAX_SPIKES] = xn.HIDDEN_MAX_SPIKES, xn.READOUT_MAX_SPIKES
    arith = np.zeros(N_ARITH, dtype=np.int64)
    arith[4:10] = lo, hi, lo, hi, lo, hi
    record = fixed_record(
        network,
        coef=coef,
        bias=np.concatenate([config.bias, config.bias_out]),
        a0=np.zeros(n_hid + n_out, dtype=np.int64),
        unit=np.ones(n_hid + n_out),
        arith=arith,
        weights=[w.T for *_, w in blocks],
        layer_code=np.full(2, STEP_CODES["xylo"]),
        layer_opts=opts,
        p_syn=np.array([syn for _, _, _, syn, _ in blocks]),
    )
    return record, network


# ---- a float model on Xylo ---------------------------------------------------------------------

XYLO_TYPES = ("lif", "cuba-lif", "li", "cuba-li")
# violations that leave no Xylo form to simulate (the others, sizes and fan-outs, can be ignored)
UNMAPPABLE = {"neuron_types", "reset", "update", "delay", "projections", "hidden_layers", "time_constants"}
LIF_SYNAPSE_DASH = 1  # lif and li have no synaptic current; Xylo's shortest non-zero one stands in


def chip_delays(network):
    """The network as Xylo delivers it: a hidden neuron's spikes reach hidden and readout neurons
    one step after they are fired (input events the same step); and the projections raised."""
    raised = [p.label for p in network.projections if p.source != INPUT and p.delay == 0]
    if not raised:
        return network, []
    projections = [Projection(p.source, p.target, p.weight, p.bias, 1) if p.source != INPUT and p.delay == 0 else p for p in network.projections]
    return network.replace(projections=projections), raised


def dash_of(tau: np.ndarray, dt: float) -> np.ndarray:
    """Rockpool's time constant -> bit-shift decay: dash = round(log2(tau / dt)) (NumPy's rounding)."""
    return np.round(np.log2(np.asarray(tau, dtype=np.float64) / dt)).astype(np.int64)


def architecture_violations(network, profile) -> list:
    """What Xylo's architecture cannot hold (Rockpool's mapper refuses the same, or the chip's
    neuron and delivery leave no room for it); the limits table is evsim.hardware.mapping's."""
    out: list[Violation] = []
    readout = network.readout.layer
    lim = profile.limits
    hidden = [layer for layer in network.layers if layer.name != readout]
    if not hidden:
        out.append(Violation(readout, "hidden_layers", 0, ">= 1", "Xylo's readout neurons take input from hidden neurons only"))
    seen: set = set()
    for p in network.projections:
        if p.source == INPUT and p.target == readout:
            out.append(Violation(readout, "projections", "input->readout", "input->hidden", "Xylo's input weights reach hidden neurons only"))
        if p.source == readout:
            out.append(Violation(readout, "projections", f"{readout}->{p.target}", "none from the readout", "output neurons cannot be recurrent (Rockpool)"))
        if p.source == INPUT and p.delay != 0:
            out.append(Violation(p.target, "delay", p.delay, 0, f"{p.label}: Xylo delivers input events in the step they arrive"))
        if p.source != INPUT and p.delay > 1:
            out.append(Violation(p.target, "delay", p.delay, "0 or 1", f"{p.label}: Xylo delivers hidden spikes one step later and has no longer delays"))
        if (p.source, p.target) in seen:
            out.append(Violation(p.target, "projections", f"{p.source}->{p.target} twice", "one", "Xylo has one weight per pair of neurons and synaptic state"))
        seen.add((p.source, p.target))
    for layer in network.layers:
        if layer.neuron not in XYLO_TYPES:
            continue  # mapping's neuron_types rule names it
        where = layer.name
        if layer.spiking:
            o = layer.options
            if o["reset"] != "subtract" or o["reset_at"] != "same-step":
                out.append(Violation(where, "reset", f"{o['reset']} at {o['reset_at']}", "subtract at same-step", "Xylo subtracts the threshold at the spike"))
            limit = lim.readout_spikes_per_step if where == readout else lim.spikes_per_step
            if limit is not None and o["max_spikes"] > limit:
                out.append(Violation(where, "spikes_per_step" if where != readout else "readout_spikes_per_step", o["max_spikes"], limit))
        if layer.neuron.startswith("cuba") and layer.options["update"] != "sequential":
            out.append(Violation(where, "update", layer.options["update"], "sequential", "Xylo's membrane reads the current of the same step"))
        for tau_name in ("tau_mem", "tau_syn"):
            if tau_name not in layer.params:
                continue
            tau = layer.params[tau_name]
            if np.any(tau <= network.dt):
                out.append(Violation(where, "time_constants", f"{tau_name} {tau.min():g}", f"> dt ({network.dt:g})",
                                     "a bit-shift decay needs tau > dt (Rockpool refuses the rest)"))
            elif np.any(dash_of(tau, network.dt) > (1 << profile.decay.bits) - 1):
                out.append(Violation(where, "time_constants", f"{tau_name} {tau.max():g}", f"dash <= {(1 << profile.decay.bits) - 1}",
                                     f"round(log2(tau/dt)) beyond the {profile.decay.bits}-bit dash field"))
    return out


@dataclass
class XyloMapped:
    """A float model on Xylo: the configuration, evsim's integer record of it (the model's layers,
    the chip's delivery), the stored weights per model projection, and what mapping did."""

    config: XyloConfig
    record: FixedRecord
    mantissas: list[np.ndarray]
    shifts: list[np.ndarray]
    population: dict[str, slice]  # hidden layer -> its neurons in the hidden population
    report: dict


def quantize_network(network, profile, dt_seconds: float = 1e-3) -> XyloMapped:
    """The network's float parameters as Xylo's float specification (weights in each target's
    membrane unit), quantized with Rockpool's global scheme (profile granularity 'layer' or
    'projection') or per-channel scheme ('neuron').  A model Xylo's neuron cannot hold is an error.

    Per hidden neuron, with the hardware's decays alpha = 1 - 2^-dash (dash = round(log2(tau/dt))):
    a weight W onto it becomes (1 - alpha_mem) * r * w_in * (1 - alpha_syn) / alpha_syn * W, the
    bias b and leak v_leak become one membrane bias (1 - alpha_mem) * (r * w_in * b + v_leak), the
    threshold stays v_threshold.  (Xylo adds an event before the current decays: alpha_syn *
    (i + x) equals the float alpha_syn * i + (1 - alpha_syn) * w_in * I for that x.)  lif and li
    layers, which have no synaptic current, get Xylo's shortest one (dash 1, alpha 1/2: an event
    reaches the membrane over a few steps, its total charge unchanged).
    """
    blocking = [v for v in map_network(network, profile).violations if v.limit in UNMAPPABLE]
    if blocking:
        raise EvsimError(f"profile '{profile.name}': the model has no form on Xylo's neuron: {blocking[0].message()}")
    st = profile.state
    if profile.weights.bits != 8 or {st.membrane_bits, st.current_bits} != {16}:
        raise EvsimError(f"profile '{profile.name}' runs Xylo's own neuron, whose widths are the chip's (8-bit weights, 16-bit states): "
                         "to vary widths, use a profile without [dynamics] integer_step")
    readout = network.layer(network.readout.layer)
    hidden = [layer for layer in network.layers if layer.name != readout.name]
    reaches_input = {p.target for p in network.projections if p.source == INPUT}
    feeds_readout = {p.source for p in network.projections if p.target == readout.name}
    # Rockpool's order on Audio 3 / IMU: neurons with input weights first, readout sources last
    hidden.sort(key=lambda layer: (layer.name not in reaches_input, layer.name in feeds_readout))
    population, off = {}, 0
    for layer in hidden:
        population[layer.name] = slice(off, off + layer.size)
        off += layer.size
    n_hid, n_in, n_out = off, network.n_inputs, readout.size

    def neuron_constants(layer):
        p = layer.params
        dash_mem = dash_of(p["tau_mem"], network.dt)
        dash_syn = dash_of(p["tau_syn"], network.dt) if "tau_syn" in p else np.full(layer.size, LIF_SYNAPSE_DASH)
        a_mem, a_syn = 1.0 - np.ldexp(1.0, -dash_mem), 1.0 - np.ldexp(1.0, -dash_syn)
        w_in = p.get("w_in", np.ones(layer.size))
        gain = (1.0 - a_mem) * p["r"] * w_in * (1.0 - a_syn) / a_syn
        bias = (1.0 - a_mem) * (p["r"] * w_in * sum(q.bias for q in network.incoming(layer.name)) + p["v_leak"])
        threshold = p["v_threshold"] if layer.spiking else np.zeros(layer.size)
        return dash_mem, dash_syn, gain, bias, threshold, a_mem

    w_in = np.zeros((n_in, n_hid))
    w_rec = np.zeros((n_hid, n_hid))
    w_out = np.zeros((n_hid, n_out))
    spec = {k: np.zeros(n_hid) for k in ("dash_mem", "dash_syn", "threshold", "bias")}
    consts = {layer.name: neuron_constants(layer) for layer in network.layers}
    for layer in hidden:
        sl = population[layer.name]
        spec["dash_mem"][sl], spec["dash_syn"][sl], _, spec["bias"][sl], spec["threshold"][sl], _ = consts[layer.name]
    dash_mem_out, dash_syn_out, _, bias_out, threshold_out, _ = consts[readout.name]
    for p in network.projections:
        gain = consts[p.target][2]
        block = (gain[:, None] * p.weight).T  # (sources, targets)
        if p.source == INPUT:
            w_in[:, population[p.target]] = block
        elif p.target == readout.name:
            w_out[population[p.source], :] = block
        else:
            w_rec[population[p.source], population[p.target]] = block
    spec.update(weights_in=w_in, weights_rec=w_rec, weights_out=w_out, dash_mem_out=dash_mem_out, dash_syn_out=dash_syn_out,
                bias_out=bias_out, threshold_out=threshold_out, dash_syn_2=np.zeros(n_hid))
    scheme = "channel" if profile.weights.granularity == "neuron" else "global"
    quantizer = quantize_channel if scheme == "channel" else quantize_global
    config, scale, scale_out = quantizer(spec, dt_seconds, with_scales=True, shift=profile.weights.shift)
    if not readout.spiking:  # a readout that never spikes in the model: the largest threshold there is
        config.threshold_out[:] = THRESHOLD_MAX

    # evsim's integer record: the model's layers in model order, the chip's delivery (input in
    # the same step, everything else one step later), the configuration's integers
    lo, hi = INT16
    order = {layer.name: (population[layer.name] if layer.name in population else None) for layer in network.layers}
    rows, units = [], []
    coef = np.zeros((network.n_neurons, N_COEF), dtype=np.int64)
    bias = np.zeros(network.n_neurons, dtype=np.int64)
    opts = np.zeros((len(network.layers), N_OPT), dtype=np.int64)
    k = 0
    for li, layer in enumerate(network.layers):
        sl, n = order[layer.name], layer.size
        if sl is None:  # the readout
            coef[k : k + n, xn.DASH_MEM], coef[k : k + n, xn.DASH_SYN] = config.dash_mem_out, config.dash_syn_out
            coef[k : k + n, xn.THRESHOLD], bias[k : k + n] = config.threshold_out, config.bias_out
            units.append(1.0 / scale_out)
            opts[li, xn.O_MAX_SPIKES] = xn.READOUT_MAX_SPIKES
        else:
            coef[k : k + n, xn.DASH_MEM], coef[k : k + n, xn.DASH_SYN] = config.dash_mem[sl], config.dash_syn[sl]
            coef[k : k + n, xn.THRESHOLD], bias[k : k + n] = config.threshold[sl], config.bias[sl]
            units.append(1.0 / scale[sl])
            opts[li, xn.O_MAX_SPIKES] = xn.HIDDEN_MAX_SPIKES
        k += n
    w_in_i, w_rec_i, w_out_i = config.weights3("weights_in")[:, :, 0], config.weights3("weights_rec")[:, :, 0], config.weights_out
    mantissas, shifts, addends = [], [], []
    for p in network.projections:
        if p.source == INPUT:
            m, sh = w_in_i[:, population[p.target]].T, config.weight_shift_in
        elif p.target == readout.name:
            m, sh = w_out_i[population[p.source], :].T, config.weight_shift_out
        else:
            m, sh = w_rec_i[population[p.source], population[p.target]].T, config.weight_shift_rec
        mantissas.append(np.ascontiguousarray(m))
        shifts.append(np.full(m.shape[0], sh, dtype=np.int64))
        addends.append(((m << sh) - lo) % (hi - lo + 1) + lo)
    arith = np.zeros(N_ARITH, dtype=np.int64)
    arith[4:10] = lo, hi, lo, hi, lo, hi
    chip_network, timing = chip_delays(network)
    record = fixed_record(
        chip_network.replace(golden=[]),
        coef=coef, bias=bias, a0=np.zeros(network.n_neurons, dtype=np.int64), unit=np.concatenate(units), arith=arith,
        weights=addends, layer_code=np.full(len(network.layers), STEP_CODES["xylo"]), layer_opts=opts,
    )
    report = {
        "scheme": scheme,
        "hidden_population": {name: [sl.start, sl.stop] for name, sl in population.items()},
        "dash": {layer.name: {"mem": sorted(set(consts[layer.name][0].tolist())), "syn": sorted(set(consts[layer.name][1].tolist()))}
                 for layer in network.layers},
        "timing": [f"{label}: delivered one step later on Xylo" for label in timing],
        "approximations": [f"layer '{layer.name}': {layer.neuron} has no synaptic current; Xylo's shortest (dash {LIF_SYNAPSE_DASH}) carries its input"
                           for layer in network.layers if "tau_syn" not in layer.params],
        "weights": {"clipped": 0, "zeroed_by_rounding": int(sum(int(np.count_nonzero((m == 0) & (p.weight != 0))) for m, p in zip(mantissas, network.projections)))},
    }
    return XyloMapped(config, record, mantissas, shifts, population, report)
