"""The reference engine: NumPy, float64, time-stepped, batched over samples.

It evaluates the equations of evsim.model literally, every neuron every step, with the synaptic
current as a dense matrix product.  It is the yardstick the event-driven engine must match.
Its operation counts are derived afterwards from its own spike trains (`count_from_spikes`),
independently of the event engine, which counts as it works.
"""

from __future__ import annotations

import numpy as np

from ..errors import EvsimError
from ..model import INPUT, Network, State, coefficients
from .result import OpCounts, SimResult


def simulate(
    network: Network,
    x: np.ndarray,
    state: list[State],
    record_spikes: bool = False,
    record_mem: bool = False,
) -> SimResult:
    """Run a batch.  x: dense input (samples, steps, n_inputs); state: from model.initial_state."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != network.n_inputs:
        raise EvsimError(f"input has shape {x.shape}, expected (samples, steps, {network.n_inputs})")
    n, steps, _ = x.shape
    layers = network.layers
    coef = [coefficients(network, layer) for layer in layers]
    incoming = [network.incoming(layer.name) for layer in layers]
    index = {layer.name: i for i, layer in enumerate(layers)}
    mem = [s.mem.copy() for s in state]
    b = [s.b.copy() for s in state]
    s_prev = [s.spike.copy() for s in state]  # spikes of the previous step (step -1: initial)
    # history[l][t] = spikes of layer l emitted at step t; the initial spike is step -1.
    history = [{-1: s.spike.copy()} for s in state]
    spikes_rec = [np.zeros((n, steps, layer.size), dtype=np.uint8) for layer in layers] if record_spikes else None
    mem_rec = [np.zeros((n, steps, layer.size)) for layer in layers] if record_mem else None
    ro = index[network.readout.layer]
    trace = np.zeros((n, steps, layers[ro].size))
    max_delay = network.max_delay
    dt = network.dt

    for t in range(steps):
        for li, layer in enumerate(layers):
            c = coef[li]
            current = np.broadcast_to(c.bias, (n, layer.size)).copy()
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
                current += src @ p.weight.T
            if layer.spiking:
                sp = s_prev[li]
                b[li] = c.rho * b[li] + c.one_minus_rho * sp
                threshold = c.b_j0 + c.beta * b[li]
                mem[li] = c.alpha * mem[li] + c.gain * current - threshold * sp * dt
                s = (mem[li] - threshold > 0).astype(np.float64)
                s_prev[li] = s
                history[li][t] = s
                history[li].pop(t - max_delay - 1, None)
                if spikes_rec is not None:
                    spikes_rec[li][:, t] = s
            else:
                mem[li] = c.alpha * mem[li] + c.gain * current
            if mem_rec is not None:
                mem_rec[li][:, t] = mem[li]
            if li == ro:
                trace[:, t] = s_prev[li] if network.readout.variable == "spike" else mem[li]

    counts = None
    if spikes_rec is not None:
        counts = count_from_spikes(network, x, spikes_rec, [s.spike for s in state])
    return SimResult(trace=trace, counts=counts, spikes=spikes_rec, mem=mem_rec)


def count_from_spikes(
    network: Network, x: np.ndarray, spikes: list[np.ndarray], initial_spike: list[np.ndarray]
) -> OpCounts:
    """Operation counts derived from spike trains and weight matrices (see docs/counting.md).

    A source value v at step ts reaches projection p at step ts + delay; it is delivered, and
    counted, only when that step lies inside the window.  v = +1 or -1 is an accumulate per
    non-zero weight in its column; any other non-zero v a multiply-accumulate.
    """
    n, steps, _ = x.shape
    index = {layer.name: i for i, layer in enumerate(network.layers)}
    counts = OpCounts.zeros(n, len(network.projections), len(network.layers))
    for pi, p in enumerate(network.projections):
        nnz_col = np.count_nonzero(p.weight, axis=0).astype(np.int64)  # per source neuron
        fan_out = p.weight.shape[0]
        if p.source == INPUT:
            values = x[:, : max(steps - p.delay, 0), :]
        else:
            li = index[p.source]
            trains = spikes[li][:, : max(steps - p.delay, 0), :].astype(np.float64)
            if p.delay >= 1:  # the initial (step -1) spike arrives at step delay - 1 < steps
                trains = np.concatenate([initial_spike[li][:, None, :], trains], axis=1)[:, :steps - p.delay + 1]
            values = trains
        binary = (values == 1) | (values == -1)
        analog = (values != 0) & ~binary
        events = binary | analog
        counts.events[:, pi] = events.sum(axis=(1, 2))
        counts.ac[:, pi] = (binary.sum(axis=1) * nnz_col).sum(axis=1)
        counts.ac_structural[:, pi] = binary.sum(axis=(1, 2)) * fan_out
        counts.mac[:, pi] = (analog.sum(axis=1) * nnz_col).sum(axis=1)
    for li, layer in enumerate(network.layers):
        counts.neuron_updates[:, li] = steps * layer.size
        counts.spikes[:, li] = spikes[li].sum(axis=(1, 2)) if layer.spiking else 0
    return counts
