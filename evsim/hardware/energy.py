"""Energy per inference from operation counts, and dense RNN / LSTM / GRU baselines.

Energy is Σ (operations counted) x (the profile's energy per operation), nothing else: the
counts are the engines' (docs/counting.md), the figures the profile's (with their sources).
Kinds, and the layer each is charged to:

    ac            synaptic accumulates (`ac`, or `ac_structural` where the profile says the
                  hardware does not skip zero weights) x ac_pj             -> the target layer
    mac           multiply-accumulates (graded events) x mac_pj            -> the target layer
    neuron_update every neuron every step: active/inactive split (Loihi: a neuron that spikes
                  this step is active), or a flat neuron_update_pj, or the op mix of
                  each type's op mix (Layer.op_mix) priced at mult_pj / add_pj (compares as adds)
                                                                           -> its layer
    spike_routed  spikes x destination cores (distinct cores, or the output block, holding
                  the targets of the layer's projections) x spike_routed_pj -> the source layer
                  (only for profiles that price routing)
    memory        (ac + mac) x memory_access_pj: one weight read per synaptic op -> the target

A kind with operations but no figure in the profile is listed under `unpriced` and adds 0.

Baselines: the same layer sizes as conventional dense recurrent networks, every weight every
step (for a recurrent layer of size h with n inputs: RNN h(n+h), LSTM 4h(n+h), GRU 3h(n+h)
MACs per step; a feed-forward layer and the readout h*n), priced at the profile's mac_pj (or,
when it has none, at the fp32 MAC of `cmos45-fp32`, named in the report).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model import Network
from .mapping import Mapping
from .profile import Profile, load_profile

PJ = 1e-12
BASELINE_MAC_FALLBACK = "cmos45-fp32"


def operations(network: Network, profile: Profile, mapping: Mapping | None, per_sample: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Operations per inference by kind and by layer: {kind: {layer: count}}.

    per_sample: per-sample averages of the engine's counts, keyed like OpCounts
    (ac, ac_structural, mac, events per projection; spikes, neuron_updates per layer).
    """
    e = profile.energy
    layers = [layer.name for layer in network.layers]
    ops: dict[str, dict[str, float]] = {}

    def add(kind: str, layer: str, value: float) -> None:
        ops.setdefault(kind, {name: 0.0 for name in layers})
        ops[kind][layer] += float(value)

    ac_key = "ac_structural" if e.count_zero_weights else "ac"
    for pi, p in enumerate(network.projections):
        add("ac", p.target, per_sample[ac_key][pi])
        add("mac", p.target, per_sample["mac"][pi])
        if e.memory_access_pj is not None:
            add("memory", p.target, per_sample[ac_key][pi] + per_sample["mac"][pi])
    split = e.neuron_update_active_pj is not None
    for li, layer in enumerate(network.layers):
        updates = float(per_sample["neuron_updates"][li])
        spikes = float(per_sample["spikes"][li]) if layer.spiking else 0.0
        if split:
            add("neuron_update_active", layer.name, spikes)
            add("neuron_update_inactive", layer.name, updates - spikes)
        else:
            add("neuron_update", layer.name, updates)
        if layer.spiking and mapping is not None and e.spike_routed_pj is not None:
            dests = mapping.destination_cores(network, layer.name)
            add("spike_routed", layer.name, spikes * dests)
    return ops


def pj_per_op(network: Network, profile: Profile) -> dict[str, Any]:
    """The energy per operation of each kind (per layer for neuron updates priced by op mix)."""
    e = profile.energy
    out: dict[str, Any] = {
        "ac": e.ac_pj,
        "mac": e.mac_pj,
        "spike_routed": e.spike_routed_pj,
        "memory": e.memory_access_pj,
    }
    if e.neuron_update_active_pj is not None:
        out["neuron_update_active"] = e.neuron_update_active_pj
        out["neuron_update_inactive"] = e.neuron_update_inactive_pj
    elif e.neuron_update_pj is not None:
        out["neuron_update"] = e.neuron_update_pj
    elif e.mult_pj is not None:
        out["neuron_update"] = {
            layer.name: layer.op_mix["mul"] * e.mult_pj + (layer.op_mix["add"] + layer.op_mix["compare"]) * e.add_pj
            for layer in network.layers
        }
    else:
        out["neuron_update"] = None
    return out


def energy_report(
    network: Network, profile: Profile, mapping: Mapping | None, per_sample: dict[str, np.ndarray], steps: int
) -> dict[str, Any] | None:
    """Energy per inference (joules) by kind and by layer; None if the profile has no figures."""
    if not profile.energy.defined:
        return None
    ops = operations(network, profile, mapping, per_sample)
    prices = pj_per_op(network, profile)
    by_kind: dict[str, float] = {}
    by_layer = {layer.name: 0.0 for layer in network.layers}
    by_layer_kind: dict[str, dict[str, float]] = {layer.name: {} for layer in network.layers}
    unpriced = []
    for kind, per_layer in ops.items():
        price = prices.get(kind)
        total_ops = sum(per_layer.values())
        if price is None:
            if total_ops:
                unpriced.append(kind)
            continue
        for layer, count in per_layer.items():
            pj = price[layer] if isinstance(price, dict) else price
            joules = count * pj * PJ
            by_kind[kind] = by_kind.get(kind, 0.0) + joules
            by_layer[layer] += joules
            by_layer_kind[layer][kind] = by_layer_kind[layer].get(kind, 0.0) + joules
    total = sum(by_kind.values())
    return {
        "profile": profile.name,
        "source": profile.energy.source,
        "total": total,
        "per_step": total / steps if steps else None,
        "by_kind": by_kind,
        "by_layer": by_layer,
        "by_layer_kind": by_layer_kind,
        "operations": ops,
        "pj_per_op": prices,
        "unpriced": unpriced,
    }


# ---- dense baselines ---------------------------------------------------------------------------


def dense_baselines(network: Network) -> dict[str, Any]:
    """MACs per step of dense RNN, LSTM and GRU networks with the same layer sizes."""
    rows = []
    totals = {"rnn": 0, "lstm": 0, "gru": 0}
    for layer in network.layers:
        inc = network.incoming(layer.name)
        recurrent = any(p.source == layer.name for p in inc)
        n = sum(network.source_size(p) for p in inc if p.source != layer.name)
        h = layer.size
        if layer.name == network.readout.layer and not recurrent:
            kind = "readout"
            macs = {"rnn": h * n, "lstm": h * n, "gru": h * n}
        elif recurrent:
            kind = "recurrent"
            macs = {"rnn": h * (n + h), "lstm": 4 * h * (n + h), "gru": 3 * h * (n + h)}
        else:
            kind = "feed-forward"
            macs = {"rnn": h * n, "lstm": h * n, "gru": h * n}
        rows.append({"layer": layer.name, "kind": kind, "size": h, "inputs": n, "macs_per_step": macs})
        for k in totals:
            totals[k] += macs[k]
    return {"layers": rows, "macs_per_step": totals}


def baseline_report(network: Network, profile: Profile, steps: int, srnn_energy: float | None) -> dict[str, Any]:
    base = dense_baselines(network)
    mac_pj, mac_from = profile.energy.mac_pj, profile.name
    if mac_pj is None:
        mac_pj, mac_from = load_profile(BASELINE_MAC_FALLBACK).energy.mac_pj, BASELINE_MAC_FALLBACK
    out: dict[str, Any] = {"layers": base["layers"], "mac_pj": mac_pj, "mac_pj_from": mac_from, "steps": steps}
    for kind, per_step in base["macs_per_step"].items():
        macs = per_step * steps
        energy = macs * mac_pj * PJ
        out[kind] = {
            "macs_per_step": per_step,
            "macs_per_inference": macs,
            "energy_per_inference_j": energy,
            "ratio_to_srnn": energy / srnn_energy if srnn_energy else None,
        }
    return out
