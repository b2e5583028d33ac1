"""The fixed-point engines: integer event-driven (Numba, `fixed_kernels.py`) and integer dense
time-stepped reference (NumPy), over the integer record (record.FixedRecord).

The record is the network already turned into integers (evsim.hardware.quantize builds it with
record.fixed_record; nothing here knows a profile).  Both engines run from the all-zero state
(membranes and currents 0, no spike at step -1, adaptation at its integer start value `a0`): a
fractional initial spike has no integer meaning.  They must agree bit for bit: spike trains,
integer membranes and currents, operation counts and overflow counts.  Per layer and step:

    I = bias;  for each arriving event (projection order, source index order): I = bound(I + c*W)
    then every neuron runs its type's integer step (evsim/neurons/<type>.py, `step_fixed`)

where c is the event's value (an input value, or a layer's spike count).  Operation counts
follow the float engines' rules (docs/counting.md) on the integer weights: a weight that
quantized to zero is no `ac`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import neurons
from ..errors import EvsimError
from ..events import EventBatch
from . import fixed_kernels
from .kernels import Events
from .record import FixedRecord, weight_matrix
from .result import OpCounts, SimResult

DECAY_KIND = {"multiplier": 0, "shift": 1}
DECAY_ROUND = {"floor": 0, "nearest": 1, "truncate": 2}
OVERFLOW_KINDS = ("current", "membrane", "adaptation", "threshold")


@dataclass
class FixedResult(SimResult):
    """SimResult whose `mem` and `syn` (when recorded) hold int64 states, plus overflow counts.

    `trace` is the readout variable in real units (integer membrane x unit), so that the
    readout rule (model.decide) reads it exactly as it reads the float engines'.
    """

    overflow: np.ndarray | None = None  # (samples, layers, 4) int64: current, membrane, adaptation, threshold
    trace_int: np.ndarray | None = None  # (samples, steps, readout size) int64
    syn2: list[np.ndarray | None] | None = None  # per layer, with mem: Xylo's second synaptic state (None elsewhere)
    chip: dict[str, int] | None = None  # counts the caller adds about the chip's view of the run (audit.Runner)
    inputs: np.ndarray | None = None  # (samples, steps, channels) int64: the input the engine received, when recorded


def layer_slice(rec: FixedRecord, li: int) -> slice:
    return slice(int(rec.layer_off[li]), int(rec.layer_off[li + 1]))


def _xylo_layers(rec: FixedRecord) -> np.ndarray:
    return rec.layer_code == fixed_kernels.XYLO


def _states(rec: FixedRecord, i_rec: np.ndarray, a_rec: np.ndarray) -> tuple[list, list]:
    """Per layer, the recorded synaptic current (None for types without) and Xylo's synapse 2."""
    xylo = _xylo_layers(rec)
    i_split, a_split = _split(i_rec, rec.layer_off), _split(a_rec, rec.layer_off)
    syn = [r if (has or x) else None for r, has, x in zip(i_split, rec.layer_current, xylo)]
    return syn, [r if x else None for r, x in zip(a_split, xylo)]


def integer_inputs(values: np.ndarray) -> np.ndarray:
    """Input event values as int64; an integer engine takes spikes (and integer counts) only."""
    if values.size and not np.all(values == np.round(values)):
        raise EvsimError(
            "the fixed-point engines take integer-valued input events (spikes); this input has "
            "fractional values: quantize analog inputs before running on a hardware profile"
        )
    return np.ascontiguousarray(values, dtype=np.int64)


def _split(rec: np.ndarray, layer_off: np.ndarray) -> list[np.ndarray]:
    return [rec[:, :, lo:hi] for lo, hi in zip(layer_off[:-1], layer_off[1:])]


def _real_trace(rec: FixedRecord, trace_int: np.ndarray) -> np.ndarray:
    if rec.readout_spike:
        return trace_int.astype(np.float64)
    return trace_int * rec.unit[layer_slice(rec, rec.readout_layer)]


def simulate(rec: FixedRecord, events: EventBatch, record_spikes: bool = False, record_mem: bool = False) -> FixedResult:
    """The integer event-driven engine on a batch of samples (zero initial state)."""
    if events.n_channels != rec.n_inputs:
        raise EvsimError(f"input has {events.n_channels} channels, the network expects {rec.n_inputs}")
    n, steps = events.n_samples, events.n_steps
    n_neurons, n_layers, n_proj = int(rec.layer_off[-1]), len(rec.layer_code), len(rec.p_src)
    ro = layer_slice(rec, rec.readout_layer)
    counts = OpCounts.zeros(n, n_proj, n_layers)
    record = record_spikes or record_mem
    rec_shape = (n, steps, n_neurons) if record else (n, 1, 1)
    out = fixed_kernels.FixedOutputs(
        np.zeros((n, steps, ro.stop - ro.start), dtype=np.int64),
        counts.events, counts.ac, counts.ac_structural, counts.mac, counts.spikes, counts.neuron_updates,
        np.zeros((n, n_layers, fixed_kernels.N_OVF), dtype=np.int64),
        np.zeros(rec_shape, dtype=np.uint8), np.zeros(rec_shape, dtype=np.int64), np.zeros(rec_shape, dtype=np.int64),
        np.zeros(rec_shape, dtype=np.int64),
    )  # fmt: skip
    fixed_kernels.run_batch(rec, Events(events.step_ptr, events.channel, integer_inputs(events.value)), out, record)
    syn = syn2 = None
    if record_mem:
        syn, syn2 = _states(rec, out.i_rec, out.a_rec)
    return FixedResult(
        trace=_real_trace(rec, out.trace),
        counts=counts,
        spikes=_split(out.spike_rec, rec.layer_off) if record_spikes else None,
        mem=_split(out.v_rec, rec.layer_off) if record_mem else None,
        syn=syn,
        overflow=out.overflow,
        trace_int=out.trace,
        syn2=syn2,
    )


# ---- the dense integer reference ---------------------------------------------------------------


def _accumulate(bias: np.ndarray, contribs: list[np.ndarray], lo: int, hi: int, wrap: bool):
    """Sequential bounded accumulation, vectorized: I = bound(...bound(bias + c_1) + ...).

    contribs: (samples, k, n_tgt) blocks in delivery order.  Returns (I, overflow count per
    sample).  Wrapping commutes with addition, so the result is the wrapped total and the count
    is the number of times the running total crosses a wrap boundary.  Saturation does not
    commute: where any prefix sum leaves the range, those (sample, neuron) pairs are replayed
    one addition at a time.
    """
    n, n_tgt = bias.shape
    if not contribs:
        return bias.copy(), np.zeros(n, dtype=np.int64)
    c = np.concatenate([bias[:, None, :]] + contribs, axis=1)
    prefix = np.cumsum(c, axis=1)
    if wrap:
        bucket = np.floor_divide(prefix - lo, hi - lo + 1)
        crossings = (np.diff(bucket, axis=1) != 0).sum(axis=(1, 2))
        return (prefix[:, -1] - lo) % (hi - lo + 1) + lo, crossings.astype(np.int64)
    outside = ((prefix < lo) | (prefix > hi)).any(axis=1)  # (samples, n_tgt)
    total = prefix[:, -1].copy()
    count = np.zeros(n, dtype=np.int64)
    for s, i in zip(*np.nonzero(outside)):
        acc = int(c[s, 0, i])
        for term in c[s, 1:, i]:
            acc += int(term)
            if acc < lo:
                acc, count[s] = lo, count[s] + 1
            elif acc > hi:
                acc, count[s] = hi, count[s] + 1
        total[s, i] = acc
    return total, count


def simulate_reference(rec: FixedRecord, x: np.ndarray, record_spikes: bool = True, record_mem: bool = False) -> FixedResult:
    """The dense integer time-stepped reference: every neuron, every synapse, every step.

    x: dense input (samples, steps, n_inputs) of integer values.  Counts are derived afterwards
    from the spike trains and the integer weights (count_from_spikes).
    """
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != rec.n_inputs:
        raise EvsimError(f"input has shape {x.shape}, expected (samples, steps, {rec.n_inputs})")
    xi = integer_inputs(x.reshape(-1)).reshape(x.shape)
    n, steps, _ = x.shape
    d = rec.arith
    cur_lo, cur_hi, cur_wrap = int(d[4]), int(d[5]), bool(d[10])
    L = len(rec.layer_code)
    sl = [layer_slice(rec, li) for li in range(L)]
    sizes = [s.stop - s.start for s in sl]
    weights = [weight_matrix(rec, p) for p in range(len(rec.p_src))]
    v = [np.zeros((n, k), dtype=np.int64) for k in sizes]
    syn = [np.zeros((n, k), dtype=np.int64) for k in sizes]
    a = [np.broadcast_to(rec.a0[s], (n, k)).copy() for s, k in zip(sl, sizes)]
    s_prev = [np.zeros((n, k), dtype=np.int64) for k in sizes]
    spikes = [np.zeros((n, steps, k), dtype=np.uint8) for k in sizes]
    xylo = _xylo_layers(rec)
    v_rec = [np.zeros((n, steps, k), dtype=np.int64) for k in sizes] if record_mem else None
    i_rec = [np.zeros((n, steps, k), dtype=np.int64) if rec.layer_current[li] or xylo[li] else None for li, k in enumerate(sizes)] if record_mem else None
    a_rec = [np.zeros((n, steps, k), dtype=np.int64) if xylo[li] else None for li, k in enumerate(sizes)] if record_mem else None
    ovf = np.zeros((n, L, fixed_kernels.N_OVF), dtype=np.int64)
    ro = rec.readout_layer
    trace = np.zeros((n, steps, sizes[ro]), dtype=np.int64)
    incoming = [[p for p in range(len(rec.p_src)) if rec.p_tgt[p] == li] for li in range(L)]

    for t in range(steps):
        for li in range(L):
            s = sl[li]
            contribs: dict[int, list] = {0: [], 1: []}
            for p in incoming[li]:
                ts = t - int(rec.p_delay[p])
                if ts < 0:
                    continue
                src = int(rec.p_src[p])
                val = xi[:, ts, :] if src < 0 else spikes[src][:, ts, :].astype(np.int64)
                # one block per source neuron, in source-index order: v_j * W[:, j]
                contribs[int(rec.p_syn[p])].append(val[:, :, None] * weights[p].T[None, :, :])
            bias = np.broadcast_to(rec.bias[s], (n, sizes[li]))
            if xylo[li]:  # events add into the synaptic states themselves; the step adds the bias
                syn[li], n_cur = _accumulate(syn[li], contribs[0], cur_lo, cur_hi, cur_wrap)
                a[li], n_cur2 = _accumulate(a[li], contribs[1], cur_lo, cur_hi, cur_wrap)
                current, n_cur = bias, n_cur + n_cur2
            else:
                current, n_cur = _accumulate(bias, contribs[0] + contribs[1], cur_lo, cur_hi, cur_wrap)
            ovf[:, li, 0] += n_cur
            if rec.reset_interval and (t + 1) % rec.reset_interval == rec.layer_reset[li]:
                v[li], syn[li] = np.zeros_like(v[li]), np.zeros_like(syn[li])  # a periodic restart
            step_fixed = neurons.STEPS[int(rec.layer_code[li])][1]
            v[li], syn[li], a[li], s_prev[li], o_mem, o_adp, o_thr, o_cur = step_fixed(
                tuple(rec.coef[s].T), rec.layer_opts[li], d, v[li], syn[li], a[li], s_prev[li], current
            )
            for kind, flags in ((1, o_mem), (2, o_adp), (3, o_thr), (0, o_cur)):
                ovf[:, li, kind] += np.broadcast_to(flags, (n, sizes[li])).sum(axis=1)
            if rec.layer_spiking[li]:
                spikes[li][:, t] = s_prev[li]
            if v_rec is not None:
                v_rec[li][:, t] = v[li]
                if i_rec[li] is not None:
                    i_rec[li][:, t] = syn[li]
                if a_rec[li] is not None:
                    a_rec[li][:, t] = a[li]
            if li == ro:
                trace[:, t] = s_prev[li] if rec.readout_spike else v[li]
    return FixedResult(
        trace=_real_trace(rec, trace),
        counts=count_from_spikes(rec, xi, spikes),
        spikes=spikes if record_spikes else None,
        mem=v_rec,
        syn=i_rec,
        overflow=ovf,
        trace_int=trace,
        syn2=a_rec,
    )


def count_from_spikes(rec: FixedRecord, x: np.ndarray, spikes: list[np.ndarray]) -> OpCounts:
    """Operation counts from spike trains and integer weights (docs/counting.md's rules; a
    layer's count of k spikes in one step is k events of +1)."""
    n, steps, _ = x.shape
    L = len(rec.layer_code)
    counts = OpCounts.zeros(n, len(rec.p_src), L)
    for p in range(len(rec.p_src)):
        wt = weight_matrix(rec, p)
        d = int(rec.p_delay[p])
        src = int(rec.p_src[p])
        window = max(steps - d, 0)
        nnz_col = np.count_nonzero(wt, axis=0).astype(np.int64)
        if src < 0:
            values = x[:, :window, :]
            binary = ((values == 1) | (values == -1)).astype(np.int64)
            graded = (values != 0) & (binary == 0)
        else:
            binary = spikes[src][:, :window, :].astype(np.int64)
            graded = np.zeros_like(binary, dtype=bool)
        counts.events[:, p] = binary.sum(axis=(1, 2)) + graded.sum(axis=(1, 2))
        counts.ac[:, p] = (binary.sum(axis=1) * nnz_col).sum(axis=1)
        counts.ac_structural[:, p] = binary.sum(axis=(1, 2)) * wt.shape[0]
        counts.mac[:, p] = (graded.sum(axis=1) * nnz_col).sum(axis=1)
    for li in range(L):
        s = layer_slice(rec, li)
        counts.neuron_updates[:, li] = steps * (s.stop - s.start)
        counts.spikes[:, li] = spikes[li].sum(axis=(1, 2), dtype=np.int64) if rec.layer_spiking[li] else 0
    return counts
