"""Numba kernels of the fixed-point (integer) event-driven engine.

The same flat layout as `kernels.py` (one index space for all neurons, weights stored
transposed, one contiguous row per source neuron, a ring buffer of spikes keyed by emission
step), but every quantity is an int64 holding a value of the profile's width, and every
operation the hardware would bound is followed by `_bound`, which saturates or wraps it and
counts the event.  docs/hardware.md gives the equations; `fixed.simulate_reference` is the
independent dense NumPy transcription they must agree with bit for bit.

Overflow counters per layer (`ovf[layer, kind]`): kind 0 the current accumulator (one count
per accumulate whose result left the range), 1 the membrane, 2 the adaptation state, 3 the
threshold B = theta + a (bounded to the membrane width).

Decay codes: kind 0 = multiplier (x * c / 2^bits; rounding 0 floor, 1 nearest (half up),
2 truncate toward zero), kind 1 = shift (x - (x >> c), with min_step: a positive x moves by
at least 1).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

OVF_CURRENT, OVF_MEMBRANE, OVF_ADAPTATION, OVF_THRESHOLD = 0, 1, 2, 3
N_OVF = 4


@njit(cache=True, inline="always")
def _bound(x, lo, hi, wrap):
    """(value within [lo, hi], 1 if x was outside it else 0)."""
    if x >= lo and x <= hi:
        return x, 0
    if wrap:
        span = hi - lo + 1
        return (x - lo) % span + lo, 1
    if x < lo:
        return lo, 1
    return hi, 1


@njit(cache=True, inline="always")
def _decay(x, c, kind, bits, rounding, min_step):
    if kind == 0:
        p = x * c
        if rounding == 0:
            return p >> bits
        if rounding == 1:
            return (p + (np.int64(1) << (bits - 1))) >> bits
        if p < 0:
            return -((-p) >> bits)
        return p >> bits
    dv = x >> c
    if min_step and dv == 0 and x > 0:
        dv = 1
    return x - dv


@njit(cache=True)
def run_sample(
    step_ptr, in_channel, in_value,
    layer_off, layer_spiking, readout_layer, readout_spike,
    alpha, rho, theta, bias, inc, a0,
    decay_kind, decay_bits, decay_round, min_step,
    p_src, p_delay, p_w_off, p_nnz_off, p_n_tgt, w, nnz,
    in_ptr, in_proj, ring_size,
    bounds, wraps,
    trace, ev, ac, ac_s, mac, spikes, updates, ovf,
    record, spike_rec, mem_rec,
):
    n_steps = step_ptr.shape[0] - 1
    n_layers = layer_off.shape[0] - 1
    n_neurons = alpha.shape[0]
    cur_lo, cur_hi, mem_lo, mem_hi, adp_lo, adp_hi = bounds[0], bounds[1], bounds[2], bounds[3], bounds[4], bounds[5]
    cur_wrap, mem_wrap, adp_wrap = wraps[0], wraps[1], wraps[2]
    mem = np.zeros(n_neurons, dtype=np.int64)
    a = a0.copy()
    s_prev = np.zeros(n_neurons, dtype=np.int64)
    current = np.empty(n_neurons, dtype=np.int64)
    queue = np.empty((ring_size, n_neurons), dtype=np.int32)
    queue_len = np.zeros((ring_size, n_layers), dtype=np.int64)

    for t in range(n_steps):
        slot = t % ring_size
        for li in range(n_layers):
            lo = layer_off[li]
            hi = layer_off[li + 1]
            for i in range(lo, hi):
                current[i] = bias[i]
            n_ovf = 0
            for k in range(in_ptr[li], in_ptr[li + 1]):
                p = in_proj[k]
                ts = t - p_delay[p]
                if ts < 0:  # a zero initial state emits nothing at step -1
                    continue
                src = p_src[p]
                n_tgt = p_n_tgt[p]
                if src < 0:
                    for e in range(step_ptr[ts], step_ptr[ts + 1]):
                        ch = in_channel[e]
                        v = in_value[e]
                        row = p_w_off[p] + ch * n_tgt
                        for i in range(n_tgt):
                            x, o = _bound(current[lo + i] + v * w[row + i], cur_lo, cur_hi, cur_wrap)
                            current[lo + i] = x
                            n_ovf += o
                        ev[p] += 1
                        if v == 1 or v == -1:
                            ac[p] += nnz[p_nnz_off[p] + ch]
                            ac_s[p] += n_tgt
                        else:
                            mac[p] += nnz[p_nnz_off[p] + ch]
                else:
                    s_lo = layer_off[src]
                    q = ts % ring_size
                    count = queue_len[q, src]
                    for e in range(count):
                        j = queue[q, s_lo + e] - s_lo
                        row = p_w_off[p] + j * n_tgt
                        for i in range(n_tgt):
                            x, o = _bound(current[lo + i] + w[row + i], cur_lo, cur_hi, cur_wrap)
                            current[lo + i] = x
                            n_ovf += o
                        ac[p] += nnz[p_nnz_off[p] + j]
                    ev[p] += count
                    ac_s[p] += count * n_tgt
            ovf[li, 0] += n_ovf
            updates[li] += hi - lo
            if layer_spiking[li]:
                n_spk = 0
                for i in range(lo, hi):
                    sp = s_prev[i]
                    x, o = _bound(_decay(a[i], rho[i], decay_kind, decay_bits, decay_round, min_step) + inc[i] * sp, adp_lo, adp_hi, adp_wrap)
                    a[i] = x
                    ovf[li, 2] += o
                    th, o = _bound(theta[i] + a[i], mem_lo, mem_hi, mem_wrap)
                    ovf[li, 3] += o
                    m, o1 = _bound(_decay(mem[i], alpha[i], decay_kind, decay_bits, decay_round, min_step) + current[i], mem_lo, mem_hi, mem_wrap)
                    m, o2 = _bound(m - th * sp, mem_lo, mem_hi, mem_wrap)
                    mem[i] = m
                    ovf[li, 1] += o1 + o2
                    if m > th:
                        queue[slot, lo + n_spk] = i
                        n_spk += 1
                        s_prev[i] = 1
                    else:
                        s_prev[i] = 0
                queue_len[slot, li] = n_spk
                spikes[li] += n_spk
                if record:
                    for e in range(n_spk):
                        spike_rec[t, queue[slot, lo + e]] = 1
            else:
                for i in range(lo, hi):
                    m, o = _bound(_decay(mem[i], alpha[i], decay_kind, decay_bits, decay_round, min_step) + current[i], mem_lo, mem_hi, mem_wrap)
                    mem[i] = m
                    ovf[li, 1] += o
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
    alpha, rho, theta, bias, inc, a0,
    decay_kind, decay_bits, decay_round, min_step,
    p_src, p_delay, p_w_off, p_nnz_off, p_n_tgt, w, nnz,
    in_ptr, in_proj, ring_size,
    bounds, wraps,
    trace, ev, ac, ac_s, mac, spikes, updates, ovf,
    record, spike_rec, mem_rec,
):
    """All samples of a batch in parallel; samples are independent, so results do not depend
    on the number of threads."""
    for s in prange(step_ptr.shape[0]):
        run_sample(
            step_ptr[s], in_channel, in_value,
            layer_off, layer_spiking, readout_layer, readout_spike,
            alpha, rho, theta, bias, inc, a0,
            decay_kind, decay_bits, decay_round, min_step,
            p_src, p_delay, p_w_off, p_nnz_off, p_n_tgt, w, nnz,
            in_ptr, in_proj, ring_size,
            bounds, wraps,
            trace[s], ev[s], ac[s], ac_s[s], mac[s], spikes[s], updates[s], ovf[s],
            record, spike_rec[s], mem_rec[s],
        )
