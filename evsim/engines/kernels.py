"""Numba kernels of the event-driven engine: pure functions over plain arrays and counters.

The network arrives flattened (see evsim.engines.event.prepare): all neurons share one index
space, layer l owning [layer_off[l], layer_off[l + 1]); projection p's weights are stored
transposed, one contiguous row of `n_tgt` target weights per source neuron, so delivering an
event is adding one contiguous row into the target currents (vectorized, and each target's
sum keeps the order in which events arrive).

The event queue is a ring buffer of R = max_delay + 1 slots keyed by emission step: slot
t % R holds the indices of the neurons that spiked at step t, per layer.  A projection with
delay d delivers, at step t, the events of slot (t - d) % R: those arriving now.  Spikes of
step -1 are the initial state's (possibly fractional) spike values.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _deliver_value(current, lo, w, row_off, n_tgt, v, nnz_j, p, ev, ac, ac_s, mac):
    """Deliver one event of value v (input or initial state) and count it: +-1 is an
    accumulate per non-zero weight, any other value a multiply-accumulate."""
    ev[p] += 1
    if v == 1.0 or v == -1.0:
        if v == 1.0:
            for i in range(n_tgt):
                current[lo + i] += w[row_off + i]
        else:
            for i in range(n_tgt):
                current[lo + i] -= w[row_off + i]
        ac[p] += nnz_j
        ac_s[p] += n_tgt
    else:
        for i in range(n_tgt):
            current[lo + i] += v * w[row_off + i]
        mac[p] += nnz_j


@njit(cache=True)
def run_sample(
    # input events of this sample: step_ptr (steps + 1,), channel, value
    step_ptr, in_channel, in_value,
    # layers
    layer_off, layer_spiking, readout_layer, readout_spike,
    # neurons (global index): coefficients and initial state
    alpha, gain, rho, one_minus_rho, beta, b_j0, bias, dt,
    mem0, spike0, b0,
    # projections
    p_src, p_delay, p_w_off, p_nnz_off, p_n_tgt, w, nnz,
    in_ptr, in_proj,
    ring_size,
    # outputs of this sample
    trace, ev, ac, ac_s, mac, spikes, updates,
    record, spike_rec, mem_rec,
):
    n_steps = step_ptr.shape[0] - 1
    n_layers = layer_off.shape[0] - 1
    n_neurons = alpha.shape[0]
    mem = mem0.copy()
    b = b0.copy()
    s_prev = spike0.copy()
    current = np.empty(n_neurons)
    queue = np.empty((ring_size, n_neurons), dtype=np.int32)  # neuron ids, per layer region
    queue_len = np.zeros((ring_size, n_layers), dtype=np.int64)

    for t in range(n_steps):
        slot = t % ring_size
        for li in range(n_layers):
            lo = layer_off[li]
            hi = layer_off[li + 1]
            for i in range(lo, hi):
                current[i] = bias[i]
            # -- deliver the events arriving now, projection by projection, in order
            for k in range(in_ptr[li], in_ptr[li + 1]):
                p = in_proj[k]
                ts = t - p_delay[p]
                if ts < -1:
                    continue
                src = p_src[p]
                n_tgt = p_n_tgt[p]
                if src < 0:  # the network's input
                    if ts < 0:
                        continue
                    for e in range(step_ptr[ts], step_ptr[ts + 1]):
                        ch = in_channel[e]
                        _deliver_value(current, lo, w, p_w_off[p] + ch * n_tgt, n_tgt, in_value[e],
                                       nnz[p_nnz_off[p] + ch], p, ev, ac, ac_s, mac)
                elif ts == -1:  # the initial state's spike values (fractional when random)
                    s_lo = layer_off[src]
                    for j in range(s_lo, layer_off[src + 1]):
                        v = spike0[j]
                        if v == 0.0:
                            continue
                        _deliver_value(current, lo, w, p_w_off[p] + (j - s_lo) * n_tgt, n_tgt, v,
                                       nnz[p_nnz_off[p] + j - s_lo], p, ev, ac, ac_s, mac)
                else:  # spikes a layer emitted at step ts
                    s_lo = layer_off[src]
                    q = ts % ring_size
                    count = queue_len[q, src]
                    for e in range(count):
                        j = queue[q, s_lo + e] - s_lo
                        row = p_w_off[p] + j * n_tgt
                        for i in range(n_tgt):
                            current[lo + i] += w[row + i]
                        ac[p] += nnz[p_nnz_off[p] + j]
                    ev[p] += count
                    ac_s[p] += count * n_tgt
            # -- update every neuron of the layer (the bias reaches each one every step)
            updates[li] += hi - lo
            if layer_spiking[li]:
                queue_len[slot, li] = 0
                n_spk = 0
                for i in range(lo, hi):
                    sp = s_prev[i]
                    b[i] = rho[i] * b[i] + one_minus_rho[i] * sp
                    threshold = b_j0[i] + beta[i] * b[i]
                    mem[i] = alpha[i] * mem[i] + gain[i] * current[i] - threshold * sp * dt
                    if mem[i] - threshold > 0:
                        queue[slot, lo + n_spk] = i
                        n_spk += 1
                        s_prev[i] = 1.0
                    else:
                        s_prev[i] = 0.0
                queue_len[slot, li] = n_spk
                spikes[li] += n_spk
                if record:
                    for e in range(n_spk):
                        spike_rec[t, queue[slot, lo + e]] = 1
            else:
                for i in range(lo, hi):
                    mem[i] = alpha[i] * mem[i] + gain[i] * current[i]
            if record:
                for i in range(lo, hi):
                    mem_rec[t, i] = mem[i]
            if li == readout_layer:
                for i in range(lo, hi):
                    trace[t, i - lo] = s_prev[i] if readout_spike else mem[i]


@njit(cache=True, parallel=True)
def run_batch(
    step_ptr, in_channel, in_value,
    layer_off, layer_spiking, readout_layer, readout_spike,
    alpha, gain, rho, one_minus_rho, beta, b_j0, bias, dt,
    mem0, spike0, b0,
    p_src, p_delay, p_w_off, p_nnz_off, p_n_tgt, w, nnz,
    in_ptr, in_proj,
    ring_size,
    trace, ev, ac, ac_s, mac, spikes, updates,
    record, spike_rec, mem_rec,
):
    """All samples of a batch, in parallel; each sample is independent, so results do not
    depend on the number of threads."""
    for s in prange(step_ptr.shape[0]):
        run_sample(
            step_ptr[s], in_channel, in_value,
            layer_off, layer_spiking, readout_layer, readout_spike,
            alpha, gain, rho, one_minus_rho, beta, b_j0, bias, dt,
            mem0[s], spike0[s], b0[s],
            p_src, p_delay, p_w_off, p_nnz_off, p_n_tgt, w, nnz,
            in_ptr, in_proj,
            ring_size,
            trace[s], ev[s], ac[s], ac_s[s], mac[s], spikes[s], updates[s],
            record, spike_rec[s], mem_rec[s],
        )
