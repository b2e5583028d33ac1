"""Placing a network on a chip's cores, checking its limits, and remedies for violations.

Placement is first fit in layer order: neurons of a layer fill the current core while it has
room for one more neuron, for that neuron's synapses (non-zero stored weights x bits per
synapse) and for the input axons it needs (the distinct source neurons or input channels with a
non-zero weight onto the core); then a new core opens.  A readout layer that a profile keeps on
dedicated output neurons (`readout_on_core = false`) takes no core.

Every violated limit is collected (never just the first): each names the layer, the limit, the
value found and the value allowed.  `DesignRuleError` carries them all; a remedy the user picks
explicitly (fan-in or fan-out pruning by magnitude) changes the network before mapping, and its
effect on accuracy is measured by the audit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import EvsimError
from ..model import INPUT, Network
from .profile import Profile


@dataclass
class Violation:
    layer: str | None  # None for chip-wide limits (input channels, cores)
    limit: str  # the profile's field name
    value: Any
    allowed: Any
    detail: str = ""

    def message(self) -> str:
        where = f"layer '{self.layer}'" if self.layer else "network"
        text = f"{where}: {self.limit} is {self.value}, the chip allows {self.allowed}"
        return text + (f" ({self.detail})" if self.detail else "")


class DesignRuleError(EvsimError):
    """The network breaks the chip's limits; `violations` lists every one."""

    def __init__(self, profile: str, violations: list[Violation]):
        self.profile = profile
        self.violations = violations
        listing = "; ".join(v.message() for v in violations)
        limits = {v.limit for v in violations}
        remedies = [
            flag for flag, names in (("--fanin-prune magnitude", {"fan_in_per_neuron"}),
                                     ("--fanout-prune magnitude", {"fan_out_per_neuron", "recurrent_fan_out_per_neuron"}))
            if names & limits
        ]
        remedies.append("--ignore-violations (simulate anyway, violations reported)")
        super().__init__(
            f"design rules of profile '{profile}' violated ({len(violations)}): {listing}. "
            f"Remedies (evsim audit / sweep): {'; '.join(remedies)}"
        )


@dataclass
class Core:
    index: int
    layers: dict[str, int] = field(default_factory=dict)  # layer -> neurons placed here
    neurons: int = 0
    synapses: int = 0
    synapse_bytes: float = 0.0
    input_axons: int = 0
    utilization: dict[str, float] = field(default_factory=dict)


@dataclass
class Mapping:
    profile: str
    cores: list[Core]
    layer_cores: dict[str, list[int]]  # layer -> the cores holding its neurons ([] when off-core)
    off_core: list[str]  # layers on dedicated output neurons
    violations: list[Violation]
    fan_in: dict[str, int]  # max non-zero fan-in per neuron, per layer
    fan_out: dict[str, int]  # max non-zero fan-out per neuron, per source layer
    synapse_bits: int
    limited: bool  # whether the profile has any limits at all

    def destination_cores(self, network: Network, layer: str) -> int:
        """Distinct destinations a spike of `layer` is routed to (a core, or the output block)."""
        dests: set = set()
        for p in network.projections:
            if p.source == layer:
                cores = self.layer_cores.get(p.target) or [("out", p.target)]
                dests.update(cores)
        return len(dests)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "used": len(self.cores) if self.limited else None,
            "per_core": [asdict(c) for c in self.cores] if self.limited else [],
            "layer_cores": self.layer_cores if self.limited else {},
            "off_core": self.off_core,
            "fan_in_max": self.fan_in,
            "fan_out_max": self.fan_out,
            "synapse_bits": self.synapse_bits,
            "note": "" if self.limited else "profile has no core limits: the whole network is one unconstrained core",
        }


def _stored(network: Network, weights: list[np.ndarray] | None) -> list[np.ndarray]:
    return weights if weights is not None else [p.weight for p in network.projections]


def map_network(network: Network, profile: Profile, weights: list[np.ndarray] | None = None) -> Mapping:
    """Place `network` on `profile`'s cores and collect every violated limit.

    weights: the stored (integer) weight matrices per projection, when quantized; a weight that
    is zero is not stored and needs no synapse or axon.
    """
    lim = profile.limits
    stored = _stored(network, weights)
    synapse_bits = lim.synapse_bits or (profile.weights.bits if profile.fixed else 32)
    # global source space: input channels, then every layer's neurons
    src_off = {INPUT: 0}
    off = network.n_inputs
    for layer in network.layers:
        src_off[layer.name] = off
        off += layer.size
    n_sources = off

    fan_in: dict[str, int] = {}
    fan_out: dict[str, int] = {}
    per_layer_nnz: dict[str, np.ndarray] = {}
    per_layer_src: dict[str, np.ndarray] = {}
    out_nnz = {layer.name: np.zeros(layer.size, dtype=np.int64) for layer in network.layers if layer.spiking}
    for layer in network.layers:
        nnz = np.zeros(layer.size, dtype=np.int64)
        srcmask = np.zeros((layer.size, n_sources), dtype=bool)
        for p, w in zip(network.projections, stored):
            if p.target != layer.name:
                continue
            nz = w != 0
            nnz += nz.sum(axis=1)
            o = src_off[p.source]
            srcmask[:, o : o + w.shape[1]] |= nz
            if p.source != INPUT:
                out_nnz[p.source] += nz.sum(axis=0)
        per_layer_nnz[layer.name] = nnz
        per_layer_src[layer.name] = srcmask
        fan_in[layer.name] = int(nnz.max(initial=0))
    for name, nnz in out_nnz.items():
        fan_out[name] = int(nnz.max(initial=0))
    readout = network.readout.layer
    hidden = {layer.name for layer in network.layers if layer.name != readout}
    # Xylo-style chips keep hidden-to-hidden weights in one recurrent memory (readout and input
    # weights sit in matrices of their own), so fan-out and the weight budget count those only
    rec_out_nnz = {name: np.zeros(network.layer(name).size, dtype=np.int64) for name in hidden if network.layer(name).spiking}
    for p, w in zip(network.projections, stored):
        if p.source in rec_out_nnz and p.target in hidden:
            rec_out_nnz[p.source] += (w != 0).sum(axis=0)

    violations: list[Violation] = []
    if lim.input_channels is not None and network.n_inputs > lim.input_channels:
        violations.append(Violation(None, "input_channels", network.n_inputs, lim.input_channels))
    for layer in network.layers:
        if layer.neuron not in lim.neuron_types and layer.neuron not in profile.dynamics.emulated_types:
            violations.append(
                Violation(layer.name, "neuron_types", layer.neuron, list(lim.neuron_types), "the chip has no such neuron model")
            )
    if lim.output_neurons is not None and network.layer(readout).size > lim.output_neurons:
        violations.append(Violation(readout, "output_neurons", network.layer(readout).size, lim.output_neurons))
    if lim.fan_in_per_neuron is not None:
        for name, v in fan_in.items():
            if v > lim.fan_in_per_neuron:
                over = int((per_layer_nnz[name] > lim.fan_in_per_neuron).sum())
                violations.append(
                    Violation(name, "fan_in_per_neuron", v, lim.fan_in_per_neuron, f"{over} neuron(s) over; remedy: --fanin-prune magnitude")
                )
    if lim.fan_out_per_neuron is not None:
        for name, v in fan_out.items():
            if v > lim.fan_out_per_neuron:
                over = int((out_nnz[name] > lim.fan_out_per_neuron).sum())
                violations.append(
                    Violation(name, "fan_out_per_neuron", v, lim.fan_out_per_neuron, f"{over} neuron(s) over; remedy: --fanout-prune magnitude")
                )

    violations += _hidden_population_violations(network, lim, hidden, rec_out_nnz)
    if profile.dynamics.integer_step == "xylo":
        from .xylo import architecture_violations

        violations += architecture_violations(network, profile)

    limited = lim.any
    cores: list[Core] = []
    layer_cores: dict[str, list[int]] = {}
    off_core = [readout] if not lim.readout_on_core else []
    npc = lim.neurons_per_core
    mem = lim.synapse_memory_bytes_per_core
    axl = lim.input_axons_per_core
    core_mask = np.zeros(n_sources, dtype=bool)
    too_big: dict[tuple[str, str], tuple[float, float]] = {}

    def open_core() -> Core:
        nonlocal core_mask
        cores.append(Core(index=len(cores)))
        core_mask = np.zeros(n_sources, dtype=bool)
        return cores[-1]

    for layer in network.layers:
        if layer.name in off_core:
            layer_cores[layer.name] = []
            continue
        nnz = per_layer_nnz[layer.name]
        srcmask = per_layer_src[layer.name]
        used: list[int] = []
        core = cores[-1] if cores else open_core()
        for i in range(layer.size):
            need_bytes = nnz[i] * synapse_bits / 8
            if not limited:
                fits = True
            else:
                new_axons = int((core_mask | srcmask[i]).sum())
                fits = (
                    (npc is None or core.neurons + 1 <= npc)
                    and (mem is None or core.synapse_bytes + need_bytes <= mem)
                    and (axl is None or new_axons <= axl)
                )
                if not fits and core.neurons > 0:
                    core = open_core()
            # a neuron that does not fit even an empty core is placed anyway and reported
            if mem is not None and need_bytes > mem:
                too_big[(layer.name, "synapse_memory_bytes_per_core")] = max(too_big.get((layer.name, "synapse_memory_bytes_per_core"), (0, mem)), (need_bytes, mem))
            if axl is not None and int(srcmask[i].sum()) > axl:
                too_big[(layer.name, "input_axons_per_core")] = max(too_big.get((layer.name, "input_axons_per_core"), (0, axl)), (int(srcmask[i].sum()), axl))
            core.neurons += 1
            core.synapses += int(nnz[i])
            core.synapse_bytes += float(need_bytes)
            core.layers[layer.name] = core.layers.get(layer.name, 0) + 1
            core_mask |= srcmask[i]
            core.input_axons = int(core_mask.sum())
            if core.index not in used:
                used.append(core.index)
        layer_cores[layer.name] = used
    for (name, what), (value, allowed) in too_big.items():
        violations.append(Violation(name, what, value, allowed, "one neuron's synapses exceed an empty core"))
    if lim.cores_per_chip is not None and len(cores) > lim.cores_per_chip:
        placed = sum(c.neurons for c in cores)
        violations.append(Violation(None, "cores_per_chip", len(cores), lim.cores_per_chip,
                                    f"{placed} neurons on cores of {npc}" if npc else ""))
    for c in cores:
        c.utilization = {
            k: v
            for k, v in (
                ("neurons", c.neurons / npc if npc else None),
                ("synapse_memory", c.synapse_bytes / mem if mem else None),
                ("input_axons", c.input_axons / axl if axl else None),
            )
            if v is not None
        }
    return Mapping(
        profile=profile.name,
        cores=cores,
        layer_cores=layer_cores,
        off_core=off_core,
        violations=violations,
        fan_in=fan_in,
        fan_out=fan_out,
        synapse_bits=synapse_bits,
        limited=limited,
    )


def _hidden_population_violations(network: Network, lim, hidden: set[str], rec_out_nnz: dict[str, np.ndarray]) -> list[Violation]:
    """The limits of a chip with one hidden population (Xylo): recurrent fan-out and weight
    budget, and how many hidden neurons the input and readout matrices may reach."""
    out: list[Violation] = []
    if lim.recurrent_fan_out_per_neuron is not None:
        for name, nnz in rec_out_nnz.items():
            v = int(nnz.max(initial=0))
            if v > lim.recurrent_fan_out_per_neuron:
                over = int((nnz > lim.recurrent_fan_out_per_neuron).sum())
                out.append(Violation(name, "recurrent_fan_out_per_neuron", v, lim.recurrent_fan_out_per_neuron,
                                     f"{over} neuron(s) over; remedy: --fanout-prune magnitude"))
    if lim.recurrent_weights_per_chip is not None:
        total = int(sum(int(nnz.sum()) for nnz in rec_out_nnz.values()))
        if total > lim.recurrent_weights_per_chip:
            out.append(Violation(None, "recurrent_weights_per_chip", total, lim.recurrent_weights_per_chip,
                                 "non-zero hidden-to-hidden weights; remedy: --fanout-prune magnitude, or a smaller network"))
    readout = network.readout.layer
    reach = {
        "input_projection_neurons": ({p.target for p in network.projections if p.source == INPUT and p.target in hidden}, "input weights reach"),
        "output_projection_neurons": ({p.source for p in network.projections if p.target == readout and p.source in hidden}, "the readout weights come from"),
    }
    for field_name, (layers, what) in reach.items():
        limit = getattr(lim, field_name)
        n = sum(network.layer(name).size for name in layers)
        if limit is not None and n > limit:
            out.append(Violation(None, field_name, n, limit, f"hidden neurons {what}: layer(s) {', '.join(sorted(layers))}"))
    return out


# ---- remedies ----------------------------------------------------------------------------------

PRUNE_METHODS = ("magnitude",)


def _keep_largest(scores: np.ndarray, k: int) -> np.ndarray:
    """Mask keeping the k largest scores per row (ties: the lower index wins)."""
    keep = np.zeros(scores.shape, dtype=bool)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.put_along_axis(keep, order, True, axis=1)
    return keep & (scores > 0)


def prune_fan_in(network: Network, limit: int, method: str = "magnitude") -> tuple[Network, dict[str, Any]]:
    """Keep, per neuron, the `limit` incoming weights of largest |w| (over all its projections)."""
    if method not in PRUNE_METHODS:
        raise EvsimError(f"--fanin-prune: unknown method '{method}' (choose from {', '.join(PRUNE_METHODS)})")
    projections = [p for p in network.projections]
    new_w = {id(p): p.weight.copy() for p in projections}
    report: dict[str, Any] = {"method": method, "limit": limit, "removed": {}}
    for layer in network.layers:
        inc = [p for p in projections if p.target == layer.name]
        # the target's gain scales a whole row alike, so |w| ranks as |gain w| does
        cat = np.concatenate([np.abs(p.weight) for p in inc], axis=1)
        if (np.count_nonzero(cat, axis=1) <= limit).all():
            continue
        keep = _keep_largest(cat, limit)
        off = 0
        removed = 0
        for p in inc:
            k = keep[:, off : off + p.weight.shape[1]]
            removed += int(np.count_nonzero(p.weight[~k]))
            new_w[id(p)] = np.where(k, p.weight, 0.0)
            off += p.weight.shape[1]
        report["removed"][layer.name] = removed
    return _with_weights(network, new_w), report


def prune_fan_out(network: Network, limit: int, method: str = "magnitude", hidden_only: bool = False) -> tuple[Network, dict[str, Any]]:
    """Keep, per source neuron, the `limit` outgoing weights of largest |gain_target * w| (the
    weight as it reaches the target's membrane; for the SRNN types gain = (1 - alpha) * r).

    hidden_only: count and prune only weights onto layers other than the readout (a chip whose
    fan-out limit is that of its recurrent memory, as Xylo's)."""
    if method not in PRUNE_METHODS:
        raise EvsimError(f"--fanout-prune: unknown method '{method}' (choose from {', '.join(PRUNE_METHODS)})")
    projections = list(network.projections)
    new_w = {id(p): p.weight.copy() for p in projections}
    report: dict[str, Any] = {"method": method, "limit": limit, "removed": {}}
    for layer in network.layers:
        if not layer.spiking:
            continue
        out = [p for p in projections if p.source == layer.name and not (hidden_only and p.target == network.readout.layer)]
        if not out:
            continue
        scaled = [np.abs(p.weight.T) * _gain(network, p.target)[None, :] for p in out]
        cat = np.concatenate(scaled, axis=1)  # (source neurons, all targets)
        if (np.count_nonzero(cat, axis=1) <= limit).all():
            continue
        keep = _keep_largest(cat, limit)
        off = 0
        removed = 0
        for p in out:
            k = keep[:, off : off + p.weight.shape[0]].T
            removed += int(np.count_nonzero(p.weight[~k]))
            new_w[id(p)] = np.where(k, p.weight, 0.0)
            off += p.weight.shape[0]
        report["removed"][layer.name] = removed
    return _with_weights(network, new_w), report


def _gain(network: Network, name: str) -> np.ndarray:
    layer = network.layer(name)
    return np.abs(layer.type.gain(layer.coefficients(network.dt, network.discretization)))


def _with_weights(network: Network, new_w: dict[int, np.ndarray]) -> Network:
    from ..model import Projection

    projections = [Projection(p.source, p.target, new_w[id(p)], p.bias, p.delay) for p in network.projections]
    return network.replace(projections=projections, golden=[])
