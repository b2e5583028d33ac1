"""The compiled network: one record of arrays (a NamedTuple, which Numba takes as one argument)
for the float engines, one for the integer engines.  Both engines of a kind read the same record,
so they run on the same coefficients.

Layout.  All neurons share one index space, layer l owning [layer_off[l], layer_off[l + 1]).
Per layer: `layer_code`, the step family its kernel runs (evsim.neurons.STEP_CODES), and
`layer_opts`, the type's integer options.  Per neuron: `coef`, the type's coefficient row
(evsim/neurons/<type>.py says what each column is), and `bias`, the summed biases of the incoming
projections.  Synapses: projection p's weight matrix (targets x sources) is stored transposed,
one contiguous row of `n_tgt` target weights per source neuron, all projections concatenated in
`w`; `nnz` holds each row's number of non-zero weights (for the `ac` and `mac` counts).  Each
layer's incoming projections are listed, in summation order, as in_proj[in_ptr[l]:in_ptr[l+1]].
`ring_size` = largest delay + 1: the event queue's slots.  `reset_interval` and `layer_reset`:
a layer's v and i are zeroed before its update at step t when (t + 1) % reset_interval ==
layer_reset[layer] (Network.reset_interval; 0: never).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import neurons
from ..errors import EvsimError
from ..model import INPUT, Network


class NetworkRecord(NamedTuple):
    """The float network, built by `prepare`: float64, or float32 (weights, biases and
    coefficients; the engines then keep their state and sum currents in float32 too)."""

    n_inputs: int
    layer_off: np.ndarray  # (layers + 1,) int64
    layer_code: np.ndarray  # (layers,) int64: step family
    layer_opts: np.ndarray  # (layers, N_OPT) int64
    layer_spiking: np.ndarray  # (layers,) bool
    layer_current: np.ndarray  # (layers,) bool: has a synaptic current state
    coef: np.ndarray  # (neurons, N_COEF), float64 or float32
    coef_t: np.ndarray  # (N_COEF, neurons): the same, one contiguous row per column (for the event kernel's loops)
    bias: np.ndarray  # (neurons,) float64 or float32
    readout_layer: int
    readout_spike: bool
    p_src: np.ndarray  # (projections,) int64: source layer, -1 for the input
    p_tgt: np.ndarray
    p_delay: np.ndarray
    p_w_off: np.ndarray
    p_nnz_off: np.ndarray
    p_n_tgt: np.ndarray
    w: np.ndarray  # float64 rows
    nnz: np.ndarray
    in_ptr: np.ndarray
    in_proj: np.ndarray
    ring_size: int
    reset_interval: int
    layer_reset: np.ndarray  # (layers,) int64


class FixedRecord(NamedTuple):
    """The integer network, built by `fixed_record` (the quantizer calls it).

    As NetworkRecord, with int64 coefficients, biases and weights, plus `a0`, the adaptation
    state each neuron starts from, `unit`, the real value of one state LSB (to report the
    readout in real units), and `arith`, the profile's arithmetic (evsim.neurons.base ARITH_*:
    decay kind, bits, rounding, min_step, the current/membrane/adaptation bounds and wraps).
    """

    n_inputs: int
    layer_off: np.ndarray
    layer_code: np.ndarray
    layer_opts: np.ndarray
    layer_spiking: np.ndarray
    layer_current: np.ndarray
    coef: np.ndarray  # (neurons, N_COEF) int64
    bias: np.ndarray  # (neurons,) int64
    a0: np.ndarray  # (neurons,) int64
    unit: np.ndarray  # (neurons,) float64
    arith: np.ndarray  # (N_ARITH,) int64
    readout_layer: int
    readout_spike: bool
    p_src: np.ndarray
    p_tgt: np.ndarray
    p_delay: np.ndarray
    p_w_off: np.ndarray
    p_nnz_off: np.ndarray
    p_n_tgt: np.ndarray
    w: np.ndarray  # int64 rows: the value an event adds
    nnz: np.ndarray
    in_ptr: np.ndarray
    in_proj: np.ndarray
    ring_size: int
    reset_interval: int
    layer_reset: np.ndarray  # (layers,) int64
    p_syn: np.ndarray  # (projections,) int64: the synaptic state a projection adds into (0, or 1 for Xylo's synapse 2)


def _synapses(weights: list[np.ndarray], targets: list[int], n_layers: int, dtype) -> dict:
    rows = [np.ascontiguousarray(np.asarray(wt, dtype=dtype).T) for wt in weights]
    sizes = np.array([r.size for r in rows], dtype=np.int64)
    n_src = np.array([r.shape[0] for r in rows], dtype=np.int64)
    in_proj = [p for li in range(n_layers) for p in range(len(weights)) if targets[p] == li]
    in_ptr = np.zeros(n_layers + 1, dtype=np.int64)
    in_ptr[1:] = np.cumsum([sum(1 for t in targets if t == li) for li in range(n_layers)])
    return dict(
        w=np.concatenate([r.ravel() for r in rows]),
        nnz=np.concatenate([np.count_nonzero(r, axis=1).astype(np.int64) for r in rows]),
        p_w_off=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        p_nnz_off=np.concatenate([[0], np.cumsum(n_src)[:-1]]).astype(np.int64),
        p_n_tgt=np.array([wt.shape[0] for wt in weights], dtype=np.int64),
        in_ptr=in_ptr,
        in_proj=np.array(in_proj, dtype=np.int64),
    )


def weight_matrix(rec: NetworkRecord | FixedRecord, p: int) -> np.ndarray:
    """Projection p's (n_tgt, n_src) weight matrix, read back from the rows."""
    n_tgt = int(rec.p_n_tgt[p])
    start = int(rec.p_w_off[p])
    stop = int(rec.p_w_off[p + 1]) if p + 1 < len(rec.p_w_off) else rec.w.shape[0]
    return rec.w[start:stop].reshape(-1, n_tgt).T


def _layers(network: Network) -> dict:
    layers = network.layers
    index = {layer.name: i for i, layer in enumerate(layers)}
    layer_off = np.zeros(len(layers) + 1, dtype=np.int64)
    layer_off[1:] = np.cumsum([layer.size for layer in layers])
    projections = network.projections
    return dict(
        n_inputs=network.n_inputs,
        layer_off=layer_off,
        layer_code=np.array([neurons.step_code(layer.type) for layer in layers], dtype=np.int64),
        layer_opts=np.stack([layer.type.option_codes(layer.options) for layer in layers]).astype(np.int64),
        layer_spiking=np.array([layer.spiking for layer in layers], dtype=np.bool_),
        layer_current=np.array([layer.has_current for layer in layers], dtype=np.bool_),
        readout_layer=index[network.readout.layer],
        readout_spike=network.readout.variable == "spike",
        p_src=np.array([-1 if p.source == INPUT else index[p.source] for p in projections], dtype=np.int64),
        p_tgt=np.array([index[p.target] for p in projections], dtype=np.int64),
        p_delay=np.array([p.delay for p in projections], dtype=np.int64),
        ring_size=network.max_delay + 1,
        reset_interval=network.reset_interval,
        layer_reset=network.reset_phases(),
    )


def summed_bias(network: Network, layer) -> np.ndarray:
    """The biases of a layer's incoming projections, summed in projection order."""
    bias = np.zeros(layer.size)
    for p in network.incoming(layer.name):
        bias = bias + p.bias
    return bias


PRECISIONS = {"float64": np.float64, "float32": np.float32}


def float_dtype(precision: str):
    if precision not in PRECISIONS:
        raise EvsimError(f"unknown precision '{precision}' (choose from {', '.join(PRECISIONS)})")
    return PRECISIONS[precision]


def prepare(network: Network, precision: str = "float64") -> NetworkRecord:
    """The record both float engines run, its weights, biases and coefficients in `precision`
    (computed in float64, then rounded once)."""
    dtype = float_dtype(precision)
    base = _layers(network)
    syn = _synapses([p.weight for p in network.projections], list(base["p_tgt"]), len(network.layers), np.float64)
    syn["w"] = syn["w"].astype(dtype)
    coef = np.concatenate([layer.coefficients(network.dt, network.discretization) for layer in network.layers]).astype(dtype)
    bias = np.concatenate([summed_bias(network, layer) for layer in network.layers]).astype(dtype)
    return NetworkRecord(coef=coef, coef_t=np.ascontiguousarray(coef.T), bias=bias, **base, **syn)


def fixed_record(network: Network, coef: np.ndarray, bias: np.ndarray, a0: np.ndarray, unit: np.ndarray,
                 arith: np.ndarray, weights: list[np.ndarray], layer_code: np.ndarray | None = None,
                 layer_opts: np.ndarray | None = None, p_syn: np.ndarray | None = None) -> FixedRecord:
    """The integer record of `network`'s structure with the quantizer's integers.

    weights[p]: projection p's (n_tgt, n_src) int64 values added per event.  layer_code and
    layer_opts: the integer step family per layer and its option row (default: each type's own;
    a profile may choose a chip's).  p_syn: the synaptic state each projection feeds in a chip
    step that has two (Xylo; default 0).
    """
    base = _layers(network)
    if layer_code is not None:
        base["layer_code"] = np.asarray(layer_code, dtype=np.int64)
    if layer_opts is not None:
        base["layer_opts"] = np.asarray(layer_opts, dtype=np.int64)
    syn = _synapses(weights, list(base["p_tgt"]), len(network.layers), np.int64)
    as64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
    p_syn = np.zeros(len(network.projections), dtype=np.int64) if p_syn is None else as64(p_syn)
    return FixedRecord(coef=as64(coef), bias=as64(bias), a0=as64(a0), unit=np.ascontiguousarray(unit, dtype=np.float64),
                       arith=as64(arith), p_syn=p_syn, **base, **syn)
