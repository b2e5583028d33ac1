"""SynSense's bit-exact Xylo simulator (xylosim 0.1.3, the C++ XyloLayer that Rockpool's XyloSim
wraps) on an evsim XyloConfig: the peer the Xylo tests compare evsim's engines with.

The layer is built as Rockpool 3.1's syns61201 `XyloSim.from_specification` builds it (one
XyloSynapse per non-zero weight, synapse-1 targets then synapse-2 targets per source; readout
weights from the last rows of the hidden population; biases enabled when any is non-zero).
Rockpool's package cannot be imported without samna (the closed-source chip driver), so this
repeats those lines.
"""

from __future__ import annotations

import numpy as np
from xylosim.v2 import XyloLayer, XyloSynapse

from evsim.formats.xylo_config import XyloConfig


def _synapses(w3: np.ndarray) -> list[list]:
    out = []
    for pre in range(w3.shape[0]):
        tmp = [XyloSynapse(int(post), 0, int(w3[pre, post, 0])) for post in np.where(w3[pre, :, 0])[0]]
        if w3.shape[2] == 2:
            tmp += [XyloSynapse(int(post), 1, int(w3[pre, post, 1])) for post in np.where(w3[pre, :, 1])[0]]
        out.append(tmp)
    return out


def run_xylosim(config: XyloConfig, raster: np.ndarray) -> dict[str, np.ndarray]:
    """One sample (steps, inputs) of event counts through xylosim; every recorded trace, (steps, neurons)."""
    as3 = lambda w: w if w.ndim == 3 else w[:, :, None]  # noqa: E731
    n_hid, (n_oen, n_out) = config.n_hidden, config.weights_out.shape
    syn_out = [[] for _ in range(n_hid - n_oen)]
    for pre in range(n_oen):
        syn_out.append([XyloSynapse(int(post), 0, int(config.weights_out[pre, post])) for post in np.where(config.weights_out[pre])[0]])
    # XyloLayer keeps raw pointers to the synapse objects: they must outlive it
    synapses = (_synapses(as3(config.weights_in)), _synapses(as3(config.weights_rec)), syn_out)
    layer = XyloLayer(
        synapses_in=synapses[0],
        synapses_rec=synapses[1],
        synapses_out=synapses[2],
        aliases=[[] for _ in range(n_hid)],
        threshold=config.threshold.tolist(),
        threshold_out=config.threshold_out.tolist(),
        has_bias=bool(np.any(config.bias != 0) or np.any(config.bias_out != 0)),
        bias=config.bias.tolist(),
        bias_out=config.bias_out.tolist(),
        weight_shift_inp=config.weight_shift_in,
        weight_shift_rec=config.weight_shift_rec,
        weight_shift_out=config.weight_shift_out,
        dash_mem=config.dash_mem.tolist(),
        dash_mem_out=config.dash_mem_out.tolist(),
        dash_syns=[[int(a), int(b)] for a, b in zip(config.dash_syn, config.dash_syn_2)],
        dash_syns_out=[[int(d)] for d in config.dash_syn_out],
        name="peer",
    )
    steps = len(raster)
    spikes_out = np.array(layer.evolve(np.asarray(raster, dtype=np.int64).tolist()), dtype=np.int64).reshape(steps, n_out)
    traces = {
        "spikes": np.array(layer.rec_recurrent_spikes, dtype=np.int64).reshape(steps, n_hid),
        "spikes_out": spikes_out,
        "v": np.array(layer.rec_v_mem, dtype=np.int64).T,
        "i": np.array(layer.rec_i_syn, dtype=np.int64).T,
        "i2": np.array(layer.rec_i_syn2, dtype=np.int64).T,
        "v_out": np.array(layer.rec_v_mem_out, dtype=np.int64).T,
        "i_out": np.array(layer.rec_i_syn_out, dtype=np.int64).T,
    }
    del layer
    return traces
