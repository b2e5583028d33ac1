"""Numba kernels of the event-driven engine: pure functions over the compiled network record
(record.NetworkRecord), the input events, the initial state and the output counters.

The event queue is a ring buffer of R = max_delay + 1 slots keyed by emission step: slot
t % R holds the indices (and spike counts) of the neurons that spiked at step t, per layer.  A
projection with delay d delivers, at step t, the events of slot (t - d) % R: those arriving now.
Spikes of step -1 are the initial state's (possibly fractional) spike values.  Delivering an
event adds one contiguous row of weights into the target currents (each target's sum keeps the
order in which events arrive).

Each layer's neurons are updated by the step of their type (evsim/neurons), chosen by the
layer's step code in `_neuron_step`: one line per step family.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from ..neurons import STEP_CODES, alif, cuba_li, cuba_lif, kernel_functions, li, lif

for _fn in kernel_functions():
    register_jitable(inline="always")(_fn)

ALIF, LIF, LI, CUBA_LIF, CUBA_LI = (STEP_CODES[k] for k in ("alif", "lif", "li", "cuba-lif", "cuba-li"))


class Events(NamedTuple):
    step_ptr: np.ndarray  # (samples, steps + 1) int64: events of step t are [step_ptr[t], step_ptr[t+1])
    channel: np.ndarray
    value: np.ndarray


class StartState(NamedTuple):
    v: np.ndarray  # (samples, neurons)
    i: np.ndarray
    a: np.ndarray
    s: np.ndarray


class Outputs(NamedTuple):
    trace: np.ndarray  # (samples, steps, readout size)
    events: np.ndarray  # (samples, projections) int64
    ac: np.ndarray
    ac_structural: np.ndarray
    mac: np.ndarray
    spikes: np.ndarray  # (samples, layers) int64
    neuron_updates: np.ndarray
    spike_rec: np.ndarray  # (samples, steps, neurons) uint8 when recording, else (samples, 1, 1)
    v_rec: np.ndarray  # (samples, steps, neurons) float64 when recording
    i_rec: np.ndarray


@njit(cache=True, inline="always")
def _update(step, net, lo, hi, opts, v, syn, adp, s_prev, current, queue, queue_n, slot):
    """Update neurons [lo, hi) with `step`; queue the spiking ones.  Returns (neurons queued,
    spikes emitted)."""
    n_spk = 0
    n_total = 0
    cf = net.coef
    for i in range(lo, hi):
        # the coefficients as a tuple of scalars: a row view would cost a reference count per neuron
        c = (cf[i, 0], cf[i, 1], cf[i, 2], cf[i, 3], cf[i, 4], cf[i, 5], cf[i, 6], cf[i, 7])
        vi, ii, ai, si = step(c, opts, v[i], syn[i], adp[i], s_prev[i], current[i])
        v[i] = vi
        syn[i] = ii
        adp[i] = ai
        s_prev[i] = si
        if si != 0.0:
            queue[slot, lo + n_spk] = i
            queue_n[slot, lo + n_spk] = si
            n_spk += 1
            n_total += int(si)
    return n_spk, n_total


@njit(cache=True, inline="always")
def _neuron_step(code, net, lo, hi, opts, v, syn, adp, s_prev, current, queue, queue_n, slot):
    """One line per step family (evsim.neurons.STEP_CODES)."""
    if code == ALIF:
        return _update(alif.step, net, lo, hi, opts, v, syn, adp, s_prev, current, queue, queue_n, slot)
    if code == LIF:
        return _update(lif.step, net, lo, hi, opts, v, syn, adp, s_prev, current, queue, queue_n, slot)
    if code == CUBA_LIF:
        return _update(cuba_lif.step, net, lo, hi, opts, v, syn, adp, s_prev, current, queue, queue_n, slot)
    if code == CUBA_LI:
        return _update(cuba_li.step, net, lo, hi, opts, v, syn, adp, s_prev, current, queue, queue_n, slot)
    return _update(li.step, net, lo, hi, opts, v, syn, adp, s_prev, current, queue, queue_n, slot)


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
def run_sample(net, k, events, start, out, record):
    step_ptr = events.step_ptr[k]
    in_channel, in_value = events.channel, events.value
    layer_off, w, nnz = net.layer_off, net.w, net.nnz
    ev, ac, ac_s, mac = out.events[k], out.ac[k], out.ac_structural[k], out.mac[k]
    trace, spike_rec, v_rec, i_rec = out.trace[k], out.spike_rec[k], out.v_rec[k], out.i_rec[k]
    n_steps = step_ptr.shape[0] - 1
    n_layers = layer_off.shape[0] - 1
    n_neurons = net.bias.shape[0]
    ring_size = net.ring_size
    v = start.v[k].copy()
    syn = start.i[k].copy()
    adp = start.a[k].copy()
    s_prev = start.s[k].copy()
    spike0 = start.s[k]
    current = np.empty(n_neurons)
    queue = np.empty((ring_size, n_neurons), dtype=np.int32)  # neuron ids, per layer region
    queue_n = np.empty((ring_size, n_neurons))  # their spike counts
    queue_len = np.zeros((ring_size, n_layers), dtype=np.int64)

    for t in range(n_steps):
        slot = t % ring_size
        for li in range(n_layers):
            lo = layer_off[li]
            hi = layer_off[li + 1]
            for i in range(lo, hi):
                current[i] = net.bias[i]
            # -- deliver the events arriving now, projection by projection, in order
            for kk in range(net.in_ptr[li], net.in_ptr[li + 1]):
                p = net.in_proj[kk]
                ts = t - net.p_delay[p]
                if ts < -1:
                    continue
                src = net.p_src[p]
                n_tgt = net.p_n_tgt[p]
                w_off = net.p_w_off[p]
                nnz_off = net.p_nnz_off[p]
                if src < 0:  # the network's input
                    if ts < 0:
                        continue
                    for e in range(step_ptr[ts], step_ptr[ts + 1]):
                        ch = in_channel[e]
                        _deliver_value(current, lo, w, w_off + ch * n_tgt, n_tgt, in_value[e],
                                       nnz[nnz_off + ch], p, ev, ac, ac_s, mac)
                elif ts == -1:  # the initial state's spike values (fractional when random)
                    s_lo = layer_off[src]
                    for j in range(s_lo, layer_off[src + 1]):
                        val = spike0[j]
                        if val == 0.0:
                            continue
                        _deliver_value(current, lo, w, w_off + (j - s_lo) * n_tgt, n_tgt, val,
                                       nnz[nnz_off + j - s_lo], p, ev, ac, ac_s, mac)
                else:  # spikes a layer emitted at step ts: a count of c spikes is c events
                    s_lo = layer_off[src]
                    q = ts % ring_size
                    count = queue_len[q, src]
                    n_ev = 0
                    for e in range(count):
                        j = queue[q, s_lo + e] - s_lo
                        row = w_off + j * n_tgt
                        c = queue_n[q, s_lo + e]
                        if c == 1.0:
                            for i in range(n_tgt):
                                current[lo + i] += w[row + i]
                            ac[p] += nnz[nnz_off + j]
                            n_ev += 1
                        else:
                            for i in range(n_tgt):
                                current[lo + i] += c * w[row + i]
                            ac[p] += int(c) * nnz[nnz_off + j]
                            n_ev += int(c)
                    ev[p] += n_ev
                    ac_s[p] += n_ev * n_tgt
            # -- update every neuron of the layer (the bias reaches each one every step)
            if net.reset_interval > 0 and (t + 1) % net.reset_interval == net.layer_reset[li]:
                for i in range(lo, hi):  # a periodic restart (Network.reset_interval)
                    v[i] = 0.0
                    syn[i] = 0.0
            out.neuron_updates[k, li] += hi - lo
            lo_ = net.layer_opts  # the options as a tuple of scalars: no view, no reference count
            opts = (lo_[li, 0], lo_[li, 1], lo_[li, 2], lo_[li, 3], lo_[li, 4], lo_[li, 5])
            n_spk, n_total = _neuron_step(net.layer_code[li], net, lo, hi, opts, v, syn, adp, s_prev,
                                          current, queue, queue_n, slot)
            queue_len[slot, li] = n_spk
            out.spikes[k, li] += n_total
            if record:
                for e in range(n_spk):
                    spike_rec[t, queue[slot, lo + e]] = queue_n[slot, lo + e]
                for i in range(lo, hi):
                    v_rec[t, i] = v[i]
                    i_rec[t, i] = syn[i]
            if li == net.readout_layer:
                for i in range(lo, hi):
                    trace[t, i - lo] = s_prev[i] if net.readout_spike else v[i]


@njit(cache=True, parallel=True)
def run_batch(net, events, start, out, record):
    """All samples of a batch, in parallel; each sample is independent, so results do not
    depend on the number of threads."""
    for k in prange(events.step_ptr.shape[0]):
        run_sample(net, k, events, start, out, record)
