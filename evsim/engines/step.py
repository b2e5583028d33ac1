"""The event engine one step at a time: what a device does when the next step's input arrives.

    st = step.start(net, state)                 # one sample's state record, from model.State
    step.advance(net, st, channel, value)       # one step; st.readout[0] then holds the output
    go = step.Stepper(net); go(st, channel, value)   # the same, without Numba's per-call dispatch

`net` is the compiled network (record.prepare).  `advance` is kernels.steps over one step, the
very function the batch kernel runs over a whole sample, plus a ring of the last input steps
(for input projections with a delay): a pure function over the network record and one sample's state record (NamedTuples of
arrays, updated in place), so a stream and a batch run of the same sample give the same spikes,
readout and counts.  The running operation counters live in st.sample (as OpCounts, for one
sample); the caller reads them between steps.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import njit

from ..errors import EvsimError
from ..model import State
from . import kernels
from .record import NetworkRecord


class StreamState(NamedTuple):
    sample: kernels.SampleState
    t: np.ndarray  # (1,) int64: the step `advance` runs next
    in_start: np.ndarray  # (input ring,) int64: where each recent step's events start in in_channel
    in_stop: np.ndarray
    in_channel: np.ndarray  # (input ring * n_inputs,) int32: at most one event per channel and step
    in_value: np.ndarray
    readout: np.ndarray  # (1, readout size) float64: the readout variable after the last step
    no_spikes: np.ndarray  # (1, 1): nothing is recorded
    no_values: np.ndarray


def start(net: NetworkRecord, state: list[State], sample: int = 0) -> StreamState:
    """The state record of one sample (row `sample` of model.initial_state's arrays)."""
    dtype = net.w.dtype
    flat = lambda key: np.ascontiguousarray(np.concatenate([getattr(s, key)[sample] for s in state]), dtype=dtype)  # noqa: E731
    n_neurons, n_layers, n_proj = int(net.layer_off[-1]), len(net.layer_code), len(net.p_src)
    v = flat("mem")
    if v.shape != (n_neurons,):
        raise EvsimError(f"initial state has {v.shape[0]} neurons, the network {n_neurons}")
    counter = lambda k: np.zeros(k, dtype=np.int64)  # noqa: E731
    in_ring = int(max((d for d, src in zip(net.p_delay, net.p_src) if src < 0), default=0)) + 1
    ro = net.readout_layer
    return StreamState(
        sample=kernels.sample_state(net, v, flat("syn"), flat("b"), flat("spike"), counter(n_proj), counter(n_proj),
                                    counter(n_proj), counter(n_proj), counter(n_layers), counter(n_layers)),
        t=np.zeros(1, dtype=np.int64),
        in_start=np.arange(in_ring, dtype=np.int64) * net.n_inputs,
        in_stop=np.arange(in_ring, dtype=np.int64) * net.n_inputs,
        in_channel=np.zeros(in_ring * net.n_inputs, dtype=np.int32),
        in_value=np.zeros(in_ring * net.n_inputs, dtype=dtype),
        readout=np.zeros((1, int(net.layer_off[ro + 1] - net.layer_off[ro]))),
        no_spikes=np.zeros((1, 1), dtype=np.uint8),
        no_values=np.zeros((1, 1)),
    )


@njit(cache=True)
def advance(net, st, channel, value):
    """Run step st.t with this step's input events (channels ascending, at most n_inputs)."""
    t = st.t[0]
    q = t % st.in_start.shape[0]
    base = st.in_start[q]
    for e in range(channel.shape[0]):
        st.in_channel[base + e] = channel[e]
        st.in_value[base + e] = value[e]
    st.in_stop[q] = base + channel.shape[0]
    kernels.steps(net, st.sample, t, t + 1, st.in_start, st.in_stop, st.in_channel, st.in_value, st.readout, t, False,
                  st.no_spikes, st.no_values, st.no_values)
    st.t[0] = t + 1


class Stepper:
    """`advance` for one network record, called through its compiled entry point.

    Numba's dispatcher works out the type of every argument at each call: for the ~45 arrays of
    the two records that is ~12 µs on the development machine, more than a step of the SHD model
    itself.  A Stepper works the types out once (per dtype and layout of the step's channel and
    value arrays) and then calls the compiled function directly, which still unpacks the arrays
    but skips the type dispatch.  `st` must come from start(net, ...): its layout follows from
    the record's."""

    def __init__(self, net: NetworkRecord):
        self.net = net
        self._entries: dict = {}

    def __call__(self, st: StreamState, channel: np.ndarray, value: np.ndarray) -> None:
        key = (channel.dtype, value.dtype, channel.flags.c_contiguous, value.flags.c_contiguous,
               channel.flags.writeable, value.flags.writeable)
        entry = self._entries.get(key)
        if entry is None:
            sig = tuple(numba.typeof(a) for a in (self.net, st, channel, value))
            entry = self._entries[key] = advance.compile(sig)
        entry(self.net, st, channel, value)
