"""The fixed-point engines: integer event-driven (Numba, `fixed_kernels.py`) and integer dense
time-stepped reference (NumPy), over plain arrays.

They take a `FixedArrays`: the network already turned into integers (by evsim.hardware.quantize,
which knows the profile; nothing here does).  Both run from the all-zero state (membranes 0, no
spike at step -1, adaptation at its integer start value): a fractional initial spike has no
integer meaning.  They must agree bit for bit: spike trains, integer membranes, operation
counts and overflow counts.  The integer update equations are in docs/hardware.md; in short,
per neuron and step, with bound() saturating or wrapping to the state width:

    I = bias;  for each arriving event (projection order, source index order): I = bound(I + v*W)
    a = bound(decay(a, rho) + inc * s_prev)                    (spiking layers)
    B = bound(theta + a)
    m = bound(decay(m, alpha) + I);  m = bound(m - B * s_prev);  s = m > B
    m = bound(decay(m, alpha) + I)                              (leaky integrators)

Operation counts follow the float engines' rules (docs/counting.md) on the integer weights:
a weight that quantized to zero is no `ac`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EvsimError
from ..events import EventBatch
from . import fixed_kernels
from .layout import synapse_rows
from .result import OpCounts, SimResult

DECAY_KIND = {"multiplier": 0, "shift": 1}
DECAY_ROUND = {"floor": 0, "nearest": 1, "truncate": 2}
OVERFLOW_KINDS = ("current", "membrane", "adaptation", "threshold")


@dataclass
class FixedArrays:
    """A network in integers.  Per-neuron arrays are int64 over all layers' neurons in order."""

    n_inputs: int
    layer_names: list[str]
    layer_off: np.ndarray  # (layers + 1,) int64
    layer_spiking: np.ndarray  # (layers,) bool
    readout_layer: int
    readout_spike: bool
    alpha: np.ndarray  # membrane decay: multiplier c (x*c/2^bits) or shift dash (x - (x >> dash))
    rho: np.ndarray  # adaptation decay, same representation
    theta: np.ndarray  # base threshold
    bias: np.ndarray  # summed bias of the incoming projections, in the current's unit
    inc: np.ndarray  # adaptation step per spike (beta * (1 - rho) in state units)
    a0: np.ndarray  # initial adaptation state (beta * b_j0 in state units)
    unit: np.ndarray  # (neurons,) float64: the real value of one state LSB
    decay_kind: int
    decay_bits: int
    decay_round: int
    min_step: bool
    p_src: np.ndarray  # (projections,) int64: source layer index, -1 for the input
    p_tgt: np.ndarray
    p_delay: np.ndarray
    weights: list[np.ndarray]  # per projection (n_tgt, n_src) int64: the value added per event
    bounds: np.ndarray  # int64 [cur_lo, cur_hi, mem_lo, mem_hi, adp_lo, adp_hi]
    wraps: np.ndarray  # bool [current, membrane, adaptation]: wrap (True) or saturate

    def __post_init__(self) -> None:
        as64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
        for key in ("layer_off", "alpha", "rho", "theta", "bias", "inc", "a0", "p_src", "p_tgt", "p_delay", "bounds"):
            setattr(self, key, as64(getattr(self, key)))
        self.layer_spiking = np.ascontiguousarray(self.layer_spiking, dtype=np.bool_)
        self.wraps = np.ascontiguousarray(self.wraps, dtype=np.bool_)
        self.unit = np.ascontiguousarray(self.unit, dtype=np.float64)
        self.weights = [as64(wt) for wt in self.weights]
        n = int(self.layer_off[-1])
        for key in ("alpha", "rho", "theta", "bias", "inc", "a0", "unit"):
            if getattr(self, key).shape != (n,):
                raise EvsimError(f"fixed arrays: {key} has shape {getattr(self, key).shape}, expected ({n},)")
        if self.decay_kind == 0 and not 1 <= self.decay_bits <= 15:
            raise EvsimError("fixed arrays: decay bits must lie in 1..15")

    @property
    def n_neurons(self) -> int:
        return int(self.layer_off[-1])

    @property
    def n_layers(self) -> int:
        return len(self.layer_names)

    def layer_slice(self, li: int) -> slice:
        return slice(int(self.layer_off[li]), int(self.layer_off[li + 1]))

    @property
    def max_delay(self) -> int:
        return int(self.p_delay.max())

    def incoming(self, li: int) -> list[int]:
        return [p for p in range(len(self.weights)) if self.p_tgt[p] == li]


@dataclass
class FixedResult(SimResult):
    """SimResult whose `mem` (when recorded) holds int64 membranes, plus overflow counts.

    `trace` is the readout variable in real units (integer membrane x unit), so that the
    readout rule (model.decide) reads it exactly as it reads the float engines'.
    """

    overflow: np.ndarray | None = None  # (samples, layers, 4) int64: current, membrane, adaptation, threshold
    trace_int: np.ndarray | None = None  # (samples, steps, readout size) int64


@dataclass
class FixedPrepared:
    arrays: FixedArrays
    p_w_off: np.ndarray
    p_nnz_off: np.ndarray
    p_n_tgt: np.ndarray
    w: np.ndarray
    nnz: np.ndarray
    in_ptr: np.ndarray
    in_proj: np.ndarray
    ring_size: int


def prepare(arrays: FixedArrays) -> FixedPrepared:
    rows = synapse_rows(list(arrays.weights), [int(t) for t in arrays.p_tgt], arrays.n_layers)
    return FixedPrepared(
        arrays=arrays,
        p_w_off=rows.p_w_off,
        p_nnz_off=rows.p_nnz_off,
        p_n_tgt=rows.p_n_tgt,
        w=rows.w,
        nnz=rows.nnz,
        in_ptr=rows.in_ptr,
        in_proj=rows.in_proj,
        ring_size=arrays.max_delay + 1,
    )


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


def _real_trace(arrays: FixedArrays, trace_int: np.ndarray) -> np.ndarray:
    if arrays.readout_spike:
        return trace_int.astype(np.float64)
    return trace_int * arrays.unit[arrays.layer_slice(arrays.readout_layer)]


def simulate(
    arrays: FixedArrays | FixedPrepared,
    events: EventBatch,
    record_spikes: bool = False,
    record_mem: bool = False,
) -> FixedResult:
    """The integer event-driven engine on a batch of samples (zero initial state)."""
    prep = arrays if isinstance(arrays, FixedPrepared) else prepare(arrays)
    fa = prep.arrays
    if events.n_channels != fa.n_inputs:
        raise EvsimError(f"input has {events.n_channels} channels, the network expects {fa.n_inputs}")
    n, steps = events.n_samples, events.n_steps
    n_neurons, n_layers, n_proj = fa.n_neurons, fa.n_layers, len(fa.weights)
    ro = fa.layer_slice(fa.readout_layer)
    trace = np.zeros((n, steps, ro.stop - ro.start), dtype=np.int64)
    counts = OpCounts.zeros(n, n_proj, n_layers)
    ovf = np.zeros((n, n_layers, fixed_kernels.N_OVF), dtype=np.int64)
    record = record_spikes or record_mem
    rec_shape = (n, steps, n_neurons) if record else (n, 1, 1)
    spike_rec = np.zeros(rec_shape, dtype=np.uint8)
    mem_rec = np.zeros(rec_shape, dtype=np.int64)
    fixed_kernels.run_batch(
        events.step_ptr, events.channel, integer_inputs(events.value),
        fa.layer_off, fa.layer_spiking, fa.readout_layer, fa.readout_spike,
        fa.alpha, fa.rho, fa.theta, fa.bias, fa.inc, fa.a0,
        fa.decay_kind, fa.decay_bits, fa.decay_round, fa.min_step,
        fa.p_src, fa.p_delay, prep.p_w_off, prep.p_nnz_off, prep.p_n_tgt, prep.w, prep.nnz,
        prep.in_ptr, prep.in_proj, prep.ring_size,
        fa.bounds, fa.wraps,
        trace, counts.events, counts.ac, counts.ac_structural, counts.mac, counts.spikes, counts.neuron_updates, ovf,
        record, spike_rec, mem_rec,
    )  # fmt: skip
    return FixedResult(
        trace=_real_trace(fa, trace),
        counts=counts,
        spikes=_split(spike_rec, fa.layer_off) if record_spikes else None,
        mem=_split(mem_rec, fa.layer_off) if record_mem else None,
        overflow=ovf,
        trace_int=trace,
    )


# ---- the dense integer reference ---------------------------------------------------------------


def _bound(x: np.ndarray, lo: int, hi: int, wrap: bool) -> tuple[np.ndarray, np.ndarray]:
    out = (x < lo) | (x > hi)
    if wrap:
        return (x - lo) % (hi - lo + 1) + lo, out
    return np.clip(x, lo, hi), out


def _decay(x: np.ndarray, c: np.ndarray, fa: FixedArrays) -> np.ndarray:
    if fa.decay_kind == 0:
        p = x * c
        k = fa.decay_bits
        if fa.decay_round == 0:
            return np.right_shift(p, k)
        if fa.decay_round == 1:
            return np.right_shift(p + (1 << (k - 1)), k)
        return np.sign(p) * np.right_shift(np.abs(p), k)
    dv = np.right_shift(x, c)
    if fa.min_step:
        dv = np.where((dv == 0) & (x > 0), 1, dv)
    return x - dv


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


def simulate_reference(
    arrays: FixedArrays, x: np.ndarray, record_spikes: bool = True, record_mem: bool = False
) -> FixedResult:
    """The dense integer time-stepped reference: every neuron, every synapse, every step.

    x: dense input (samples, steps, n_inputs) of integer values.  Counts are derived afterwards
    from the spike trains and the integer weights (count_from_spikes).
    """
    fa = arrays
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != fa.n_inputs:
        raise EvsimError(f"input has shape {x.shape}, expected (samples, steps, {fa.n_inputs})")
    xi = integer_inputs(x.reshape(-1)).reshape(x.shape)
    n, steps, _ = x.shape
    cur_lo, cur_hi, mem_lo, mem_hi, adp_lo, adp_hi = (int(b) for b in fa.bounds)
    cur_wrap, mem_wrap, adp_wrap = (bool(w) for w in fa.wraps)
    L = fa.n_layers
    sl = [fa.layer_slice(li) for li in range(L)]
    mem = [np.zeros((n, s.stop - s.start), dtype=np.int64) for s in sl]
    a = [np.broadcast_to(fa.a0[s], (n, s.stop - s.start)).copy() for s in sl]
    s_prev = [np.zeros((n, s.stop - s.start), dtype=np.int64) for s in sl]
    spikes = [np.zeros((n, steps, s.stop - s.start), dtype=np.uint8) for s in sl]
    mem_rec = [np.zeros((n, steps, s.stop - s.start), dtype=np.int64) for s in sl] if record_mem else None
    ovf = np.zeros((n, L, fixed_kernels.N_OVF), dtype=np.int64)
    ro = fa.readout_layer
    trace = np.zeros((n, steps, sl[ro].stop - sl[ro].start), dtype=np.int64)
    incoming = [fa.incoming(li) for li in range(L)]

    for t in range(steps):
        for li in range(L):
            s = sl[li]
            contribs = []
            for p in incoming[li]:
                ts = t - int(fa.p_delay[p])
                if ts < 0:
                    continue
                src = int(fa.p_src[p])
                v = xi[:, ts, :] if src < 0 else spikes[src][:, ts, :].astype(np.int64)
                # one block per source neuron, in source-index order: v_j * W[:, j]
                contribs.append(v[:, :, None] * fa.weights[p].T[None, :, :])
            bias = np.broadcast_to(fa.bias[s], (n, s.stop - s.start))
            current, n_cur = _accumulate(bias, contribs, cur_lo, cur_hi, cur_wrap)
            ovf[:, li, 0] += n_cur
            if fa.layer_spiking[li]:
                sp = s_prev[li]
                a[li], o = _bound(_decay(a[li], fa.rho[s], fa) + fa.inc[s] * sp, adp_lo, adp_hi, adp_wrap)
                ovf[:, li, 2] += o.sum(axis=1)
                th, o = _bound(fa.theta[s] + a[li], mem_lo, mem_hi, mem_wrap)
                ovf[:, li, 3] += o.sum(axis=1)
                m, o1 = _bound(_decay(mem[li], fa.alpha[s], fa) + current, mem_lo, mem_hi, mem_wrap)
                m, o2 = _bound(m - th * sp, mem_lo, mem_hi, mem_wrap)
                ovf[:, li, 1] += o1.sum(axis=1) + o2.sum(axis=1)
                mem[li] = m
                s_prev[li] = (m > th).astype(np.int64)
                spikes[li][:, t] = s_prev[li]
            else:
                mem[li], o = _bound(_decay(mem[li], fa.alpha[s], fa) + current, mem_lo, mem_hi, mem_wrap)
                ovf[:, li, 1] += o.sum(axis=1)
            if mem_rec is not None:
                mem_rec[li][:, t] = mem[li]
            if li == ro:
                trace[:, t] = s_prev[li] if fa.readout_spike else mem[li]
    return FixedResult(
        trace=_real_trace(fa, trace),
        counts=count_from_spikes(fa, xi, spikes),
        spikes=spikes if record_spikes else None,
        mem=mem_rec,
        overflow=ovf,
        trace_int=trace,
    )


def count_from_spikes(arrays: FixedArrays, x: np.ndarray, spikes: list[np.ndarray]) -> OpCounts:
    """Operation counts from spike trains and integer weights (docs/counting.md's rules)."""
    n, steps, _ = x.shape
    fa = arrays
    counts = OpCounts.zeros(n, len(fa.weights), fa.n_layers)
    for p, wt in enumerate(fa.weights):
        d = int(fa.p_delay[p])
        src = int(fa.p_src[p])
        window = max(steps - d, 0)
        values = x[:, :window, :] if src < 0 else spikes[src][:, :window, :].astype(np.int64)
        nnz_col = np.count_nonzero(wt, axis=0).astype(np.int64)
        binary = (values == 1) | (values == -1)
        graded = (values != 0) & ~binary
        counts.events[:, p] = (values != 0).sum(axis=(1, 2))
        counts.ac[:, p] = (binary.sum(axis=1) * nnz_col).sum(axis=1)
        counts.ac_structural[:, p] = binary.sum(axis=(1, 2)) * wt.shape[0]
        counts.mac[:, p] = (graded.sum(axis=1) * nnz_col).sum(axis=1)
    for li in range(fa.n_layers):
        s = fa.layer_slice(li)
        counts.neuron_updates[:, li] = steps * (s.stop - s.start)
        counts.spikes[:, li] = spikes[li].sum(axis=(1, 2)) if fa.layer_spiking[li] else 0
    return counts
