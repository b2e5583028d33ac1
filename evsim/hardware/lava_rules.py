"""Loihi's design-rule findings beyond the core limits, and the networks their remedies give.

On a profile with Lava's integer step (`loihi`, `loihi2`) two things keep a network from being
plain Lava LIF processes (docs/hardware.md, "Loihi, bit for bit"):

- an emulation: a layer Lava's LIF cannot hold (alif; a subtractive or next-step reset; ...)
  still runs, in its own type's integer step in Loihi's widths.  Remedies: Loihi 2 microcode (a
  neuron program that computes it: the emulated run is what it would give), or the nearest
  Lava LIF (`native_variant`: zero reset at the spike, no adaptation, same time constants and
  threshold), which changes the model;
- per-neuron decays: a Lava LIF process holds one du and one dv, so a layer whose neurons
  decay differently needs one process per distinct (du, dv) (`decay_groups`: exact, more
  processes), or one shared decay (`shared_decay_variant`: each layer's median decay code).

The audit runs each remedy's network and reports its accuracy (evsim/audit.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model import Layer, Network
from ..neurons import lava
from ..neurons.base import decay_factor
from .profile import Profile
from .quantize import Quantized, decay_codes


def decay_groups(q: Quantized) -> dict[str, dict[str, Any]]:
    """Layers on Lava's step whose neurons do not share one (du, dv): the number of distinct
    pairs, i.e. the Lava processes the layer would need."""
    rec = q.record
    out = {}
    for li, layer in enumerate(q.network.layers):
        if layer.name in q.report.get("emulated", {}):
            continue
        lo, hi = int(rec.layer_off[li]), int(rec.layer_off[li + 1])
        pairs = {(int(a), int(b)) for a, b in rec.coef[lo:hi, [lava.DU, lava.DV]]}
        if len(pairs) > 1:
            out[layer.name] = {"distinct_decays": len(pairs), "neurons": hi - lo}
    return out


def _native_layer(layer: Layer) -> Layer:
    """The nearest layer Lava's LIF holds: same time constants and threshold, zero reset at the
    spike, one spike per step, no adaptation (alif: threshold b_j0), the current read at once."""
    p, o = layer.params, layer.options
    if layer.neuron == "alif":
        return Layer(layer.name, layer.size, "lif", tau_mem=p["tau_m"], v_threshold=p["b_j0"], r=p["r"], reset="zero")
    if layer.neuron in lava.SPIKING:
        opts = {**o, "reset": "zero", "reset_at": "same-step", "max_spikes": 1}
        if layer.neuron in lava.CURRENT:
            opts["update"] = "sequential"
        return Layer(layer.name, layer.size, layer.neuron, params={**p, "v_reset": np.zeros(layer.size)}, options=opts)
    if layer.neuron in lava.CURRENT:
        return Layer(layer.name, layer.size, layer.neuron, params=p, options={**o, "update": "sequential"})
    return layer


def native_variant(network: Network, emulated: dict[str, Any]) -> Network:
    """The network with every emulated layer replaced by its nearest Lava LIF."""
    layers = [_native_layer(layer) if layer.name in emulated else layer for layer in network.layers]
    return network.replace(layers=layers)


def _tau_for_code(code: int, bits: int, dt: float, discretization: str) -> float:
    alpha = code / (1 << bits)
    if alpha <= 0:
        return dt * 1e-3  # no memory: any time constant far below dt
    if alpha >= 1:
        return 2.0**40 * dt
    return -dt / np.log(alpha) if discretization == "exact" else dt / (1.0 - alpha)


def shared_decay_variant(network: Network, profile: Profile, layers: list[str]) -> Network:
    """The network with each named layer's time constants (membrane, synapse) set to the one
    whose decay code is the layer's median code: one du and one dv per Lava process."""
    out = []
    for layer in network.layers:
        if layer.name not in layers:
            out.append(layer)
            continue
        params = dict(layer.params)
        for key in ("tau_mem", "tau_m", "tau_syn"):
            if key in params:
                codes, _ = decay_codes(decay_factor(params[key], network.dt, network.discretization), profile)
                median = int(np.sort(codes)[(len(codes) - 1) // 2])
                params[key] = np.full(layer.size, _tau_for_code(median, profile.decay.bits, network.dt, network.discretization))
        out.append(Layer(layer.name, layer.size, layer.neuron, params=params, options=layer.options))
    return network.replace(layers=out)
