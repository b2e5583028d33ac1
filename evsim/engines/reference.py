"""The reference engine: NumPy, float64, time-stepped, batched over samples.

It evaluates the equations of evsim.model literally, every neuron every step, with the synaptic
current as a dense matrix product.  It is the yardstick the event-driven engine must match.
Its operation counts are derived afterwards from its own spike trains (`count_from_spikes`),
independently of the event engine, which counts as it works.
"""

from __future__ import annotations

import numpy as np

from ..errors import EvsimError
from ..model import INPUT, Network, State
from .record import prepare
from .result import OpCounts, SimResult


def simulate(
    network: Network,
    x: np.ndarray,
    state: list[State],
    record_spikes: bool = False,
    record_mem: bool = False,
    precision: str = "float64",
) -> SimResult:
    """Run a batch.  x: dense input (samples, steps, n_inputs); state: from model.initial_state.

    Each layer is updated by its type's step (evsim/neurons) on whole arrays, with the
    coefficients of the same compiled record the event engine runs.

    precision "float32": inputs, weights, biases, coefficients and state are float32, each
    neuron's input current is summed in float32 and each step computed in float64 from the
    float32 values and rounded once when stored (as the event kernel does).  A float32 sum
    depends on its order, so the current is summed in the event engine's order: bias, then
    projection by projection, source by source (a matrix product sums in an order of its own).
    """
    rec = prepare(network, precision)
    dtype = rec.w.dtype
    f64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 3 or x.shape[2] != network.n_inputs:
        raise EvsimError(f"input has shape {x.shape}, expected (samples, steps, {network.n_inputs})")
    n, steps, _ = x.shape
    layers = network.layers
    sl = [slice(int(lo), int(hi)) for lo, hi in zip(rec.layer_off[:-1], rec.layer_off[1:])]
    incoming = [network.incoming(layer.name) for layer in layers]
    index = {layer.name: i for i, layer in enumerate(layers)}
    v = [s.mem.astype(dtype) for s in state]
    syn = [s.syn.astype(dtype) for s in state]
    adp = [s.b.astype(dtype) for s in state]
    s_prev = [s.spike.astype(dtype) for s in state]  # spikes of the previous step (step -1: initial)
    # history[l][t] = spikes of layer l emitted at step t; the initial spike is step -1.
    history = [{-1: s.spike.astype(dtype)} for s in state]
    weights = [p.weight.astype(dtype) for p in network.projections]
    position = {id(p): k for k, p in enumerate(network.projections)}
    spikes_rec = [np.zeros((n, steps, layer.size), dtype=np.uint8) for layer in layers] if record_spikes else None
    mem_rec = [np.zeros((n, steps, layer.size)) for layer in layers] if record_mem else None
    syn_rec = [np.zeros((n, steps, layer.size)) if layer.has_current else None for layer in layers] if record_mem else None
    ro = index[network.readout.layer]
    trace = np.zeros((n, steps, layers[ro].size))
    max_delay = network.max_delay
    phases = network.reset_phases()

    for t in range(steps):
        for li, layer in enumerate(layers):
            current = np.broadcast_to(rec.bias[sl[li]], (n, layer.size)).copy()
            for p in incoming[li]:
                ts = t - p.delay
                if p.source == INPUT:
                    if ts < 0:
                        continue
                    src = x[:, ts, :]
                else:
                    src = history[index[p.source]].get(ts)
                    if src is None:
                        continue
                accumulate(current, src, weights[position[id(p)]])
            if network.reset_interval and (t + 1) % network.reset_interval == phases[li]:
                v[li], syn[li] = np.zeros_like(v[li]), np.zeros_like(syn[li])  # a periodic restart
            coef = tuple(f64(rec.coef[sl[li]].T))  # coef[k]: column k, one value per neuron
            new = layer.type.step(coef, rec.layer_opts[li], f64(v[li]), f64(syn[li]), f64(adp[li]), f64(s_prev[li]), f64(current))
            v[li], syn[li], adp[li], s_prev[li] = (np.asarray(a, dtype=dtype) for a in new)
            if layer.spiking:
                history[li][t] = s_prev[li]
                history[li].pop(t - max_delay - 1, None)
                if spikes_rec is not None:
                    spikes_rec[li][:, t] = s_prev[li]
            if mem_rec is not None:
                mem_rec[li][:, t] = v[li]
                if syn_rec[li] is not None:
                    syn_rec[li][:, t] = syn[li]
            if li == ro:
                trace[:, t] = s_prev[li] if network.readout.variable == "spike" else v[li]

    counts = None
    if spikes_rec is not None:
        counts = count_from_spikes(network, x, spikes_rec, [s.spike for s in state])
    return SimResult(trace=trace, counts=counts, spikes=spikes_rec, mem=mem_rec, syn=syn_rec)


def accumulate(current: np.ndarray, src: np.ndarray, weight: np.ndarray) -> None:
    """current += src @ weight.T: a matrix product in float64; in float32, source by source in
    index order (sources silent in every sample add nothing and are skipped), the order the
    event engine adds rows in."""
    if current.dtype == np.float64:
        current += src @ weight.T
        return
    rows = weight.T
    for j in np.flatnonzero(np.any(src != 0, axis=0)):
        current += src[:, j, None] * rows[j]


def count_from_spikes(
    network: Network, x: np.ndarray, spikes: list[np.ndarray], initial_spike: list[np.ndarray]
) -> OpCounts:
    """Operation counts derived from spike trains and weight matrices (see docs/counting.md).

    A source value v at step ts reaches projection p at step ts + delay; it is delivered, and
    counted, only when that step lies inside the window.  v = +1 or -1 is an accumulate per
    non-zero weight in its column; any other non-zero v a multiply-accumulate, except that a
    layer's count of k spikes in one step (types that fire several) is k events of +1.
    """
    n, steps, _ = x.shape
    index = {layer.name: i for i, layer in enumerate(network.layers)}
    counts = OpCounts.zeros(n, len(network.projections), len(network.layers))
    for pi, p in enumerate(network.projections):
        nnz_col = np.count_nonzero(p.weight, axis=0).astype(np.int64)  # per source neuron
        fan_out = p.weight.shape[0]
        if p.source == INPUT:
            values = x[:, : max(steps - p.delay, 0), :]
            multi = 0.0
        else:
            li = index[p.source]
            trains = spikes[li][:, : max(steps - p.delay, 0), :].astype(np.float64)
            multi = np.where(trains > 1, trains - 1, 0.0)  # a count k: k - 1 more events of +1
            if p.delay >= 1:  # the initial (step -1) spike arrives at step delay - 1 < steps
                trains = np.concatenate([initial_spike[li][:, None, :], trains], axis=1)[:, :steps - p.delay + 1]
                multi = np.concatenate([np.zeros_like(initial_spike[li][:, None, :]), multi], axis=1)[:, :steps - p.delay + 1]
            values = np.where(multi > 0, 1.0, trains)
        binary = ((values == 1) | (values == -1)) + multi
        analog = (values != 0) & ~((values == 1) | (values == -1))
        counts.events[:, pi] = (binary + analog).sum(axis=(1, 2))
        counts.ac[:, pi] = (binary.sum(axis=1) * nnz_col).sum(axis=1)
        counts.ac_structural[:, pi] = binary.sum(axis=(1, 2)) * fan_out
        counts.mac[:, pi] = (analog.sum(axis=1) * nnz_col).sum(axis=1)
    for li, layer in enumerate(network.layers):
        counts.neuron_updates[:, li] = steps * layer.size
        counts.spikes[:, li] = spikes[li].sum(axis=(1, 2), dtype=np.int64) if layer.spiking else 0
    return counts
