"""The event-driven engine: a thin Python layer that flattens the network into plain arrays
and hands them, with the input events, to the Numba kernels in `kernels.py`.

It does only the work spikes cause: each delivered event adds one row of weights into the
target currents, and it counts every such operation as it does it (OpCounts).  The neuron
update of every neuron every step remains, because every projection's bias reaches every
neuron every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EvsimError
from ..events import EventBatch
from ..model import INPUT, Network, State, coefficients
from . import kernels
from .layout import synapse_rows
from .result import OpCounts, SimResult


@dataclass
class Prepared:
    """The network as flat arrays, in the kernels' argument order (see kernels.run_sample)."""

    network: Network
    layer_off: np.ndarray
    layer_spiking: np.ndarray
    readout_layer: int
    readout_spike: bool
    alpha: np.ndarray
    gain: np.ndarray
    rho: np.ndarray
    one_minus_rho: np.ndarray
    beta: np.ndarray
    b_j0: np.ndarray
    bias: np.ndarray
    p_src: np.ndarray
    p_delay: np.ndarray
    p_w_off: np.ndarray
    p_nnz_off: np.ndarray
    p_n_tgt: np.ndarray
    w: np.ndarray
    nnz: np.ndarray
    in_ptr: np.ndarray
    in_proj: np.ndarray
    ring_size: int


def prepare(network: Network) -> Prepared:
    layers = network.layers
    index = {layer.name: i for i, layer in enumerate(layers)}
    layer_off = np.zeros(len(layers) + 1, dtype=np.int64)
    layer_off[1:] = np.cumsum([layer.size for layer in layers])
    coef = [coefficients(network, layer) for layer in layers]
    cat = lambda key: np.ascontiguousarray(np.concatenate([getattr(c, key) for c in coef]))  # noqa: E731

    projections = network.projections
    rows = synapse_rows([p.weight for p in projections], [index[p.target] for p in projections], len(layers))
    return Prepared(
        network=network,
        layer_off=layer_off,
        layer_spiking=np.array([layer.spiking for layer in layers], dtype=np.bool_),
        readout_layer=index[network.readout.layer],
        readout_spike=network.readout.variable == "spike",
        alpha=cat("alpha"),
        gain=cat("gain"),
        rho=cat("rho"),
        one_minus_rho=cat("one_minus_rho"),
        beta=cat("beta"),
        b_j0=cat("b_j0"),
        bias=cat("bias"),
        p_src=np.array([-1 if p.source == INPUT else index[p.source] for p in projections], dtype=np.int64),
        p_delay=np.array([p.delay for p in projections], dtype=np.int64),
        p_w_off=rows.p_w_off,
        p_nnz_off=rows.p_nnz_off,
        p_n_tgt=rows.p_n_tgt,
        w=rows.w,
        nnz=rows.nnz,
        in_ptr=rows.in_ptr,
        in_proj=rows.in_proj,
        ring_size=network.max_delay + 1,
    )


def simulate(
    network: Network | Prepared,
    events: EventBatch,
    state: list[State],
    record_spikes: bool = False,
    record_mem: bool = False,
) -> SimResult:
    """Run a batch of samples given as input events; state from model.initial_state.

    record_spikes / record_mem keep full per-step trains (for cross-checks; costly in memory).
    """
    prep = network if isinstance(network, Prepared) else prepare(network)
    net = prep.network
    if events.n_channels != net.n_inputs:
        raise EvsimError(f"input has {events.n_channels} channels, the network expects {net.n_inputs}")
    n, steps = events.n_samples, events.n_steps
    n_neurons = int(prep.layer_off[-1])
    n_proj, n_layers = len(net.projections), len(net.layers)
    flat = lambda key: np.ascontiguousarray(np.concatenate([getattr(s, key) for s in state], axis=1))  # noqa: E731
    mem0, spike0, b0 = flat("mem"), flat("spike"), flat("b")
    if mem0.shape != (n, n_neurons):
        raise EvsimError(f"initial state has shape {mem0.shape}, expected ({n}, {n_neurons})")
    trace = np.zeros((n, steps, net.readout_size))
    counts = OpCounts.zeros(n, n_proj, n_layers)
    record = record_spikes or record_mem
    rec_shape = (n, steps, n_neurons) if record else (n, 1, 1)
    spike_rec = np.zeros(rec_shape, dtype=np.uint8)
    mem_rec = np.zeros(rec_shape)
    kernels.run_batch(
        events.step_ptr, events.channel, events.value,
        prep.layer_off, prep.layer_spiking, prep.readout_layer, prep.readout_spike,
        prep.alpha, prep.gain, prep.rho, prep.one_minus_rho, prep.beta, prep.b_j0, prep.bias, float(net.dt),
        mem0, spike0, b0,
        prep.p_src, prep.p_delay, prep.p_w_off, prep.p_nnz_off, prep.p_n_tgt, prep.w, prep.nnz,
        prep.in_ptr, prep.in_proj,
        prep.ring_size,
        trace, counts.events, counts.ac, counts.ac_structural, counts.mac, counts.spikes, counts.neuron_updates,
        record, spike_rec, mem_rec,
    )  # fmt: skip
    split = lambda rec: [rec[:, :, lo:hi] for lo, hi in zip(prep.layer_off[:-1], prep.layer_off[1:])]  # noqa: E731
    return SimResult(
        trace=trace,
        counts=counts,
        spikes=split(spike_rec) if record_spikes else None,
        mem=split(mem_rec) if record_mem else None,
    )
