"""The event-driven engine: a thin Python layer that hands the compiled network record
(record.prepare), the input events and the initial state to the Numba kernels in `kernels.py`.

It does only the work spikes cause: each delivered event adds one row of weights into the
target currents, and it counts every such operation as it does it (OpCounts).  The neuron
update of every neuron every step remains, because every projection's bias reaches every
neuron every step.
"""

from __future__ import annotations

import numpy as np

from ..errors import EvsimError
from ..events import EventBatch
from ..model import Network, State
from . import kernels
from .record import NetworkRecord, prepare
from .result import OpCounts, SimResult

Prepared = NetworkRecord  # what `prepare` returns and `simulate` accepts in place of a Network

__all__ = ["prepare", "simulate", "Prepared"]


def split_layers(rec: np.ndarray, layer_off: np.ndarray) -> list[np.ndarray]:
    return [rec[:, :, lo:hi] for lo, hi in zip(layer_off[:-1], layer_off[1:])]


def simulate(
    network: Network | NetworkRecord,
    events: EventBatch,
    state: list[State],
    record_spikes: bool = False,
    record_mem: bool = False,
) -> SimResult:
    """Run a batch of samples given as input events; state from model.initial_state.

    record_spikes / record_mem keep full per-step trains (for cross-checks; costly in memory);
    record_mem keeps the membranes and the synaptic currents (layers that have one).
    """
    net = network if isinstance(network, NetworkRecord) else prepare(network)
    if events.n_channels != net.n_inputs:
        raise EvsimError(f"input has {events.n_channels} channels, the network expects {net.n_inputs}")
    n, steps = events.n_samples, events.n_steps
    n_neurons = int(net.layer_off[-1])
    n_proj, n_layers = len(net.p_src), len(net.layer_code)
    dtype = net.w.dtype  # float32 records keep their state in float32 too
    flat = lambda key: np.ascontiguousarray(np.concatenate([getattr(s, key) for s in state], axis=1), dtype=dtype)  # noqa: E731
    start = kernels.StartState(v=flat("mem"), i=flat("syn"), a=flat("b"), s=flat("spike"))
    if start.v.shape != (n, n_neurons):
        raise EvsimError(f"initial state has shape {start.v.shape}, expected ({n}, {n_neurons})")
    ro = net.readout_layer
    trace = np.zeros((n, steps, int(net.layer_off[ro + 1] - net.layer_off[ro])))
    counts = OpCounts.zeros(n, n_proj, n_layers)
    record = record_spikes or record_mem
    rec_shape = (n, steps, n_neurons) if record else (n, 1, 1)
    out = kernels.Outputs(
        trace, counts.events, counts.ac, counts.ac_structural, counts.mac, counts.spikes, counts.neuron_updates,
        np.zeros(rec_shape, dtype=np.uint8), np.zeros(rec_shape), np.zeros(rec_shape),
    )  # fmt: skip
    run = kernels.run_serial if n == 1 else kernels.run_batch
    run(net, kernels.Events(events.step_ptr, events.channel, np.asarray(events.value, dtype=dtype)), start, out, record)
    currents = None
    if record_mem:
        currents = [rec if has else None for rec, has in zip(split_layers(out.i_rec, net.layer_off), net.layer_current)]
    return SimResult(
        trace=trace,
        counts=counts,
        spikes=split_layers(out.spike_rec, net.layer_off) if record_spikes else None,
        mem=split_layers(out.v_rec, net.layer_off) if record_mem else None,
        syn=currents,
    )
