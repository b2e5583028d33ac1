"""Numba kernels of the fixed-point (integer) event-driven engine.

The same layout and event queue as `kernels.py`, over the integer record (record.FixedRecord):
every quantity is an int64 holding a value of the profile's width.  Each layer's neurons run
the integer step of their type (evsim/neurons, `step_fixed`), chosen by the layer's step code
in `_neuron_step_fixed` (one line per step family; a chip's own integer arithmetic is one more
family, see docs/hardware.md).  `fixed.simulate_reference` is the dense NumPy engine they must
agree with bit for bit.

Overflow counters per layer (`ovf[layer, kind]`): kind 0 the current (one count per accumulate
whose result left the range, and per synaptic-current update that did), 1 the membrane, 2 the
adaptation state, 3 the threshold B = theta + a (bounded to the membrane width).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..neurons import STEP_CODES, alif, cuba_li, cuba_lif, lava, li, lif, xylo
from .kernels import ALIF, CUBA_LI, CUBA_LIF, LIF

LAVA, XYLO = STEP_CODES["lava"], STEP_CODES["xylo"]

OVF_CURRENT, OVF_MEMBRANE, OVF_ADAPTATION, OVF_THRESHOLD = 0, 1, 2, 3
N_OVF = 4


class FixedOutputs(NamedTuple):
    trace: np.ndarray  # (samples, steps, readout size) int64
    events: np.ndarray
    ac: np.ndarray
    ac_structural: np.ndarray
    mac: np.ndarray
    spikes: np.ndarray
    neuron_updates: np.ndarray
    overflow: np.ndarray  # (samples, layers, N_OVF) int64
    spike_rec: np.ndarray  # uint8 spike counts
    v_rec: np.ndarray  # int64
    i_rec: np.ndarray  # int64
    a_rec: np.ndarray  # int64: the adaptation state (Xylo: synapse 2)


@njit(cache=True, inline="always")
def _neuron_step_fixed(code, c, o, d, v, i, a, s, I):
    if code == ALIF:
        return alif.step_fixed(c, o, d, v, i, a, s, I)
    if code == LIF:
        return lif.step_fixed(c, o, d, v, i, a, s, I)
    if code == CUBA_LIF:
        return cuba_lif.step_fixed(c, o, d, v, i, a, s, I)
    if code == CUBA_LI:
        return cuba_li.step_fixed(c, o, d, v, i, a, s, I)
    if code == LAVA:
        return lava.step_fixed(c, o, d, v, i, a, s, I)
    if code == XYLO:
        return xylo.step_fixed(c, o, d, v, i, a, s, I)
    return li.step_fixed(c, o, d, v, i, a, s, I)


@njit(cache=True, inline="always")
def _add(x, lo, hi, wrap):
    """(x within [lo, hi], 1 if x was outside it else 0): the current accumulator's bound."""
    if x >= lo and x <= hi:
        return x, 0
    if wrap:
        return (x - lo) % (hi - lo + 1) + lo, 1
    if x < lo:
        return lo, 1
    return hi, 1


@njit(cache=True)
def run_sample(net, k, events, out, record):
    step_ptr = events.step_ptr[k]
    in_channel, in_value = events.channel, events.value
    layer_off, w, nnz, d = net.layer_off, net.w, net.nnz, net.arith
    ev, ac, ac_s, mac, ovf = out.events[k], out.ac[k], out.ac_structural[k], out.mac[k], out.overflow[k]
    trace, spike_rec, v_rec, i_rec, a_rec = out.trace[k], out.spike_rec[k], out.v_rec[k], out.i_rec[k], out.a_rec[k]
    n_steps = step_ptr.shape[0] - 1
    n_layers = layer_off.shape[0] - 1
    n_neurons = net.bias.shape[0]
    ring_size = net.ring_size
    cur_lo, cur_hi, cur_wrap = d[4], d[5], d[10]
    v = np.zeros(n_neurons, dtype=np.int64)
    syn = np.zeros(n_neurons, dtype=np.int64)
    adp = net.a0.copy()
    s_prev = np.zeros(n_neurons, dtype=np.int64)
    current = np.empty(n_neurons, dtype=np.int64)
    queue = np.empty((ring_size, n_neurons), dtype=np.int32)
    queue_n = np.empty((ring_size, n_neurons), dtype=np.int64)
    queue_len = np.zeros((ring_size, n_layers), dtype=np.int64)

    for t in range(n_steps):
        slot = t % ring_size
        for li in range(n_layers):
            lo = layer_off[li]
            hi = layer_off[li + 1]
            for i in range(lo, hi):
                current[i] = net.bias[i]
            # a Xylo layer's events add into its synaptic states (i, or a for synapse 2), the
            # others' into this step's current
            into_state = net.layer_code[li] == XYLO
            n_ovf = 0
            for kk in range(net.in_ptr[li], net.in_ptr[li + 1]):
                p = net.in_proj[kk]
                ts = t - net.p_delay[p]
                if ts < 0:  # a zero initial state emits nothing at step -1
                    continue
                acc = current
                if into_state:
                    acc = syn if net.p_syn[p] == 0 else adp
                src = net.p_src[p]
                n_tgt = net.p_n_tgt[p]
                w_off = net.p_w_off[p]
                nnz_off = net.p_nnz_off[p]
                if src < 0:
                    for e in range(step_ptr[ts], step_ptr[ts + 1]):
                        ch = in_channel[e]
                        val = in_value[e]
                        row = w_off + ch * n_tgt
                        for i in range(n_tgt):
                            x, o = _add(acc[lo + i] + val * w[row + i], cur_lo, cur_hi, cur_wrap)
                            acc[lo + i] = x
                            n_ovf += o
                        ev[p] += 1
                        if val == 1 or val == -1:
                            ac[p] += nnz[nnz_off + ch]
                            ac_s[p] += n_tgt
                        else:
                            mac[p] += nnz[nnz_off + ch]
                else:  # a count of c spikes is c events, added as c * w
                    s_lo = layer_off[src]
                    q = ts % ring_size
                    n_ev = 0
                    for e in range(queue_len[q, src]):
                        j = queue[q, s_lo + e] - s_lo
                        c = queue_n[q, s_lo + e]
                        row = w_off + j * n_tgt
                        for i in range(n_tgt):
                            x, o = _add(acc[lo + i] + c * w[row + i], cur_lo, cur_hi, cur_wrap)
                            acc[lo + i] = x
                            n_ovf += o
                        ac[p] += c * nnz[nnz_off + j]
                        n_ev += c
                    ev[p] += n_ev
                    ac_s[p] += n_ev * n_tgt
            ovf[li, OVF_CURRENT] += n_ovf
            if net.reset_interval > 0 and (t + 1) % net.reset_interval == net.layer_reset[li]:
                for i in range(lo, hi):  # a periodic restart (Network.reset_interval)
                    v[i] = 0
                    syn[i] = 0
            out.neuron_updates[k, li] += hi - lo
            code = net.layer_code[li]
            lo_ = net.layer_opts  # the options as a tuple of scalars: no view, no reference count
            opts = (lo_[li, 0], lo_[li, 1], lo_[li, 2], lo_[li, 3], lo_[li, 4], lo_[li, 5])
            n_spk = 0
            n_total = 0
            cf = net.coef
            for i in range(lo, hi):
                # a tuple of scalars, not a row view (a view costs a reference count per neuron)
                c = (cf[i, 0], cf[i, 1], cf[i, 2], cf[i, 3], cf[i, 4], cf[i, 5], cf[i, 6], cf[i, 7])
                vi, ii, ai, si, o_mem, o_adp, o_thr, o_cur = _neuron_step_fixed(
                    code, c, opts, d, v[i], syn[i], adp[i], s_prev[i], current[i]
                )
                v[i] = vi
                syn[i] = ii
                adp[i] = ai
                s_prev[i] = si
                ovf[li, OVF_MEMBRANE] += o_mem
                ovf[li, OVF_ADAPTATION] += o_adp
                ovf[li, OVF_THRESHOLD] += o_thr
                ovf[li, OVF_CURRENT] += o_cur
                if si != 0:
                    queue[slot, lo + n_spk] = i
                    queue_n[slot, lo + n_spk] = si
                    n_spk += 1
                    n_total += si
            queue_len[slot, li] = n_spk
            out.spikes[k, li] += n_total
            if record:
                for e in range(n_spk):
                    spike_rec[t, queue[slot, lo + e]] = queue_n[slot, lo + e]
                for i in range(lo, hi):
                    v_rec[t, i] = v[i]
                    i_rec[t, i] = syn[i]
                    a_rec[t, i] = adp[i]
            if li == net.readout_layer:
                for i in range(lo, hi):
                    trace[t, i - lo] = s_prev[i] if net.readout_spike else v[i]


@njit(cache=True, parallel=True)
def run_batch(net, events, out, record):
    """All samples of a batch in parallel; samples are independent, so results do not depend
    on the number of threads."""
    for k in prange(events.step_ptr.shape[0]):
        run_sample(net, k, events, out, record)
