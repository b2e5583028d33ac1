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
from numba import njit, prange, uint64
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
    spikes emitted).

    Two loops: the update (coefficients from the record's transposed copy, one contiguous row
    per column, so consecutive neurons read consecutive values), then the queue, written
    without a branch (whether a neuron spikes is unpredictable): each entry is written and kept
    only when the neuron spiked; the spikes emitted are then summed over the queued entries
    alone.  Indices are unsigned (no check for negative ones, and the queue's running length
    is one integer add per neuron) and no view is taken (a view of a shared array costs a
    reference count that the threads contend for)."""
    ct = net.coef_t
    f8 = np.float64
    for k in range(lo, hi):
        i = uint64(k)
        # the step computes in float64 whatever the record's precision (a float32 record is
        # float32 storage: the results are rounded when stored), as the reference does
        c = (f8(ct[0, i]), f8(ct[1, i]), f8(ct[2, i]), f8(ct[3, i]), f8(ct[4, i]), f8(ct[5, i]), f8(ct[6, i]), f8(ct[7, i]))
        v[i], syn[i], adp[i], s_prev[i] = step(c, opts, f8(v[i]), f8(syn[i]), f8(adp[i]), f8(s_prev[i]), f8(current[i]))
    sl = uint64(slot)
    base = uint64(lo)
    n_spk = uint64(0)
    for k in range(base, uint64(hi)):
        sk = s_prev[k]
        queue[sl, base + n_spk] = k  # base + n_spk <= k: inside the layer's row
        queue_n[sl, base + n_spk] = sk
        n_spk += uint64(sk != 0.0)
    n_total = 0  # spikes emitted: summed over the queued neurons only (the loop above stays short)
    for e in range(n_spk):
        n_total += int(queue_n[sl, base + e])
    return int(n_spk), n_total


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
def _add_row(current, lo, w, row_off, n, v):
    """current[lo : lo + n] += v * w[row_off : row_off + n] as the event's value asks: +1 adds the
    row, -1 subtracts it, any other value multiplies it first.  Unsigned indices spare Numba's
    check for negative ones, so the loop vectorizes (docs/performance.md), and no view is taken
    (a view of the shared weights costs a reference count the threads contend for); each
    target's sum keeps the event order."""
    a = uint64(lo)
    b = uint64(row_off)
    if v == 1.0:
        for i in range(uint64(n)):
            current[a + i] += w[b + i]
    elif v == -1.0:
        for i in range(uint64(n)):
            current[a + i] -= w[b + i]
    else:
        for i in range(uint64(n)):
            current[a + i] += v * w[b + i]


@njit(cache=True, inline="always")
def _deliver_valued(current, lo, w, row_off, n_tgt, v, nnz_j):
    """Deliver one valued event (input or initial state); returns what it counts as: (binary
    events, accumulates, multiply-accumulates).  +-1 is an accumulate per non-zero weight, any
    other value a multiply-accumulate."""
    _add_row(current, lo, w, row_off, n_tgt, v)
    if v == 1.0 or v == -1.0:
        return 1, nnz_j, 0
    return 0, 0, nnz_j


class SampleState(NamedTuple):
    """One sample's state between steps: everything `step` reads from the past, updated in place."""

    v: np.ndarray  # (neurons,) membranes
    i: np.ndarray  # synaptic currents (types that have one)
    a: np.ndarray  # adaptation states
    s: np.ndarray  # spikes of the previous step (counts; step -1: the initial, maybe fractional, values)
    s0: np.ndarray  # the initial spike values, delivered once to projections reaching back to step -1
    current: np.ndarray  # scratch: the input current of the layer being updated
    queue: np.ndarray  # (ring, neurons) int32: neuron ids that spiked at step t, per layer region
    queue_n: np.ndarray  # (ring, neurons): their spike counts
    queue_len: np.ndarray  # (ring, layers) int64
    events: np.ndarray  # (projections,) int64: running counts, as OpCounts
    ac: np.ndarray
    ac_structural: np.ndarray
    mac: np.ndarray
    spikes: np.ndarray  # (layers,) int64
    neuron_updates: np.ndarray


@njit(cache=True)
def sample_state(net, v, i, a, s, events, ac, ac_structural, mac, spikes, neuron_updates):
    """A fresh SampleState from initial v, i, a, s (copied) and the counters to add to."""
    n_neurons = net.bias.shape[0]
    n_layers = net.layer_off.shape[0] - 1
    return SampleState(
        v.copy(), i.copy(), a.copy(), s.copy(), s, np.empty(n_neurons, dtype=net.w.dtype),
        np.empty((net.ring_size, n_neurons), dtype=np.int32), np.empty((net.ring_size, n_neurons), dtype=net.w.dtype),
        np.zeros((net.ring_size, n_layers), dtype=np.int64), events, ac, ac_structural, mac, spikes, neuron_updates,
    )  # fmt: skip


@njit(cache=True)
def steps(net, st, t0, t1, in_start, in_stop, in_channel, in_value, trace, row0, record, spike_rec, v_rec, i_rec):
    """Steps t0 .. t1 - 1 of one sample (a whole sample in a batch; one step when streaming).
    The input events of step ts are in_channel/in_value[in_start[q] : in_stop[q]] with q = ts %
    len(in_start): a whole sample's pointers, or a ring of recent steps.  Step t writes the
    readout into trace[t - row0] and, when recording, spikes and state into the *_rec arrays'
    row t - row0 (whole arrays are passed, not row views: a view of an array the threads share
    costs a reference count they contend for).

    The steps loop inside this one call: each call takes a reference to every array of both
    records (about 60 atomic increments and as many decrements, on counters the threads share
    for the network's arrays), so a sample pays for them once, not once per step."""
    layer_off, w, nnz = net.layer_off, net.w, net.nnz
    ev, ac, ac_s, mac = st.events, st.ac, st.ac_structural, st.mac
    v, syn, adp, s_prev, spike0, current = st.v, st.i, st.a, st.s, st.s0, st.current
    queue, queue_n, queue_len = st.queue, st.queue_n, st.queue_len
    n_layers = layer_off.shape[0] - 1
    ring_size = net.ring_size
    in_period = in_start.shape[0]
    lo_ = net.layer_opts  # the options as a tuple of scalars: no view, no reference count
    for t in range(t0, t1):
        row = t - row0
        slot = t % ring_size
        for li in range(n_layers):
            lo = layer_off[li]
            hi = layer_off[li + 1]
            for i in range(lo, hi):
                current[uint64(i)] = net.bias[uint64(i)]
            # -- deliver the events arriving now, projection by projection, in order; counts are
            # summed locally and added once per projection
            for kk in range(net.in_ptr[li], net.in_ptr[li + 1]):
                p = net.in_proj[kk]
                ts = t - net.p_delay[p]
                if ts < -1:
                    continue
                src = net.p_src[p]
                n_tgt = net.p_n_tgt[p]
                w_off = net.p_w_off[p]
                nnz_off = net.p_nnz_off[p]
                n_ev = n_binary = ac_sum = mac_sum = 0
                if src >= 0 and ts >= 0:  # spikes a layer emitted at step ts: a count of c spikes is c events
                    s_lo = layer_off[src]
                    q = ts % ring_size
                    for e in range(s_lo, s_lo + queue_len[q, src]):
                        j = queue[q, e] - s_lo
                        c = queue_n[q, e]
                        _add_row(current, lo, w, w_off + j * n_tgt, n_tgt, c)
                        m = int(c)
                        n_ev += m
                        ac_sum += m * nnz[nnz_off + j]
                    n_binary = n_ev
                elif src < 0:  # the network's input
                    if ts < 0:
                        continue
                    q = ts % in_period
                    for e in range(in_start[q], in_stop[q]):
                        j = in_channel[e]
                        b, a_add, m_add = _deliver_valued(current, lo, w, w_off + j * n_tgt, n_tgt, in_value[e], nnz[nnz_off + j])
                        n_ev += 1
                        n_binary += b
                        ac_sum += a_add
                        mac_sum += m_add
                else:  # ts = -1: the initial state's spike values (fractional when random)
                    s_lo = layer_off[src]
                    for j in range(layer_off[src + 1] - s_lo):
                        val = spike0[s_lo + j]
                        if val == 0.0:
                            continue
                        b, a_add, m_add = _deliver_valued(current, lo, w, w_off + j * n_tgt, n_tgt, val, nnz[nnz_off + j])
                        n_ev += 1
                        n_binary += b
                        ac_sum += a_add
                        mac_sum += m_add
                ev[p] += n_ev
                ac[p] += ac_sum
                ac_s[p] += n_binary * n_tgt
                mac[p] += mac_sum
            # -- update every neuron of the layer (the bias reaches each one every step)
            if net.reset_interval > 0 and (t + 1) % net.reset_interval == net.layer_reset[li]:
                for i in range(lo, hi):  # a periodic restart (Network.reset_interval)
                    v[i] = 0.0
                    syn[i] = 0.0
            st.neuron_updates[li] += hi - lo
            opts = (lo_[li, 0], lo_[li, 1], lo_[li, 2], lo_[li, 3], lo_[li, 4], lo_[li, 5])
            n_spk, n_total = _neuron_step(net.layer_code[li], net, lo, hi, opts, v, syn, adp, s_prev,
                                          current, queue, queue_n, slot)
            queue_len[slot, li] = n_spk
            st.spikes[li] += n_total
            if record:
                for e in range(n_spk):
                    spike_rec[row, queue[slot, lo + e]] = queue_n[slot, lo + e]
                for i in range(lo, hi):
                    v_rec[row, i] = v[i]
                    i_rec[row, i] = syn[i]
            if li == net.readout_layer:
                for i in range(lo, hi):
                    trace[row, i - lo] = s_prev[i] if net.readout_spike else v[i]


@njit(cache=True)
def run_sample(net, k, events, start, out, record):
    """Sample k of a batch, all its steps."""
    st = sample_state(net, start.v[k], start.i[k], start.a[k], start.s[k], out.events[k], out.ac[k],
                      out.ac_structural[k], out.mac[k], out.spikes[k], out.neuron_updates[k])
    step_ptr = events.step_ptr[k]
    in_start, in_stop = step_ptr[:-1], step_ptr[1:]
    trace, spike_rec, v_rec, i_rec = out.trace[k], out.spike_rec[k], out.v_rec[k], out.i_rec[k]
    steps(net, st, 0, step_ptr.shape[0] - 1, in_start, in_stop, events.channel, events.value, trace, 0, record,
          spike_rec, v_rec, i_rec)


@njit(cache=True, parallel=True)
def run_batch(net, events, start, out, record):
    """All samples of a batch, in parallel; each sample is independent, so results do not
    depend on the number of threads."""
    for k in prange(events.step_ptr.shape[0]):
        run_sample(net, k, events, start, out, record)


@njit(cache=True)
def run_serial(net, events, start, out, record):
    """The samples one after another on the calling thread: for one sample, which gains nothing
    from the parallel loop and would pay for waking its threads."""
    for k in range(events.step_ptr.shape[0]):
        run_sample(net, k, events, start, out, record)
