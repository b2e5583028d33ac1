"""The machine's contiguous row-add rate: the roofline the event engine is measured against.

Delivering one event is adding one contiguous row of weights into the target currents, so the
most an event engine can do is add rows as fast as the machine adds them.  The roofline
replays the engine's own row traffic: the exact rows a run delivered (from its inputs and
recorded spike trains, `replay_rows`), in the same order, from the network's own weight table
(in the dtype asked), each added into an accumulator of the target's size, and nothing else:
no neuron update, no counting, no queue.  So it sees the same caches the engine sees (which
rows are hot depends on which neurons spike), and the fraction of it an engine reaches is the
share of its time spent adding rows.  It runs on every Numba thread at once (each thread its
own accumulator), so "per core" means with all cores busy.  The loop is the vectorized form (a
row view, then an indexed add; docs/performance.md says why the plain indexed form is slower).

Rates are given per core two ways: elements added / (wall seconds x threads), and elements
added / CPU seconds of this process (which the other tenants of a shared machine disturb
less).  Quote fractions of it measured in the same run, never the absolute figures.
"""

from __future__ import annotations

import time

import numba
import numpy as np
from numba import njit, prange

from evsim.engines.record import prepare


@njit(cache=True)
def _add_rows(w, offs, run_len, run_n, acc):
    """Add rows w[offs[k] : offs[k] + n] into acc[:n]; run r holds run_len[r] rows of length run_n[r]."""
    k = 0
    for r in range(run_len.shape[0]):
        n = run_n[r]
        a = acc[:n]
        for _ in range(run_len[r]):
            row = w[offs[k] : offs[k] + n]
            k += 1
            for i in range(n):
                a[i] += row[i]


@njit(cache=True, parallel=True)
def _add_rows_parallel(w, offs, run_len, run_n, accs, reps):
    for c in prange(accs.shape[0]):
        for _ in range(reps):
            _add_rows(w, offs, run_len, run_n, accs[c])


def network_rows(network, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The flat weight table in `dtype` (the event engine's, engines/record.py) and, per
    projection: where its rows start, their length (the target's size) and how many there are."""
    rec = prepare(network)
    n_src = np.array([p.weight.shape[1] for p in network.projections], dtype=np.int64)
    return rec.w.astype(dtype), rec.p_w_off, rec.p_n_tgt, n_src


def replay_rows(network, inputs, spikes, samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows the event engine adds for the first `samples` samples, in its order, from their
    input events and recorded spike trains (all-zero initial state): per step, per layer, per
    incoming projection, the input channels or the source's spikes of step t - delay in
    ascending index.  Returns (int32 offsets into the flat table, run lengths, run row lengths)."""
    index = {layer.name: i for i, layer in enumerate(network.layers)}
    w_off = np.concatenate([[0], np.cumsum([p.weight.size for p in network.projections])[:-1]])
    offs, run_len, run_n = [], [], []
    for s in range(samples):
        ptr = inputs.step_ptr[s]
        for t in range(inputs.n_steps):
            for layer in network.layers:
                for pi, p in enumerate(network.projections):
                    ts = t - p.delay
                    if p.target != layer.name or ts < 0:
                        continue
                    if p.source == "input":
                        rows = inputs.channel[ptr[ts] : ptr[ts + 1]]
                    else:
                        rows = np.flatnonzero(spikes[index[p.source]][s, ts])
                    n_tgt = p.weight.shape[0]
                    offs.append(w_off[pi] + rows.astype(np.int64) * n_tgt)
                    run_len.append(len(rows))
                    run_n.append(n_tgt)
    return np.concatenate(offs).astype(np.int32), np.array(run_len, dtype=np.int32), np.array(run_n, dtype=np.int32)


def row_add_rate(network, dtype, replay, seconds: float = 0.3) -> dict:
    """Per-core accumulates per second adding the rows of `replay` (from replay_rows) and
    nothing else, from the network's own weight table in `dtype`, on every thread at once."""
    w, _, p_len, _ = network_rows(network, dtype)
    offs, run_len, run_n = replay
    threads = numba.get_num_threads()
    accs = np.zeros((threads, int(p_len.max())), dtype=dtype)
    _add_rows_parallel(w, offs, run_len, run_n, accs, 1)  # compile / warm the caches
    elements = int((run_len.astype(np.int64) * run_n).sum()) * threads  # per repetition
    # repetitions for about `seconds` of wall time at a generous 2 G elements/s per thread
    reps = max(1, int(seconds * 2e9 * threads / elements))
    c0, t0 = time.process_time(), time.perf_counter()
    _add_rows_parallel(w, offs, run_len, run_n, accs, reps)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    total = elements * reps
    return {"dtype": np.dtype(dtype).name, "threads": threads, "per_core_wall": total / wall / threads, "per_core_cpu": total / cpu}


def delivered_accumulates(network, counts_events) -> int:
    """Row elements added: per projection, events delivered x row length (the target's size).

    counts_events: events per projection, summed over samples.  Zero weights are added too
    (rows are dense), and a valued event's row is a multiply-add: each is one element.
    """
    n_tgt = np.array([p.weight.shape[0] for p in network.projections], dtype=np.int64)
    return int((np.asarray(counts_events, dtype=np.int64) * n_tgt).sum())


def load_average() -> str:
    try:
        import os

        one, five, _ = os.getloadavg()
        return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
    except OSError:
        return "unknown"
