"""A network in a Loihi profile's integers, as the netx file lava-dl's netx would read.

netx holds a chain of dense layers of Lava's CUBA LIF (docs/hardware.md, "Loihi, bit for bit"),
so what it can carry is narrower than what evsim runs.  Every obstacle is collected and reported
at once, with its remedy (a `DesignRuleError`: one line, or the list with --json):

- a layer Lava's LIF cannot hold (an emulation: alif, a subtractive reset, ...);
- decays that differ between the neurons of a layer: a Lava LIF process has one du and one dv;
- anything but a chain: each layer fed by the one before (the first by the input) with delay 1,
  plus at most its own recurrent projection with delay 1;
- a weight exponent other than 0: netx derives Lava's weight exponent from the stored integers,
  so a file holds one weight unit per layer (the `loihi2` profile quantizes that way);
- a readout other than the last layer.
(Thresholds and biases beyond Lava's mantissas were already clipped, and counted, by the
quantizer.)
"""

from __future__ import annotations


import numpy as np

from ..formats.netx import NEVER, ONE, NetxFile, NetxLayer, NetxNeuron
from ..model import INPUT
from ..neurons import lava
from .lava_rules import decay_groups
from .mapping import DesignRuleError, Violation
from .quantize import Quantized

RECURRENT = "dense_rec"


class NetxExportError(DesignRuleError):
    """What keeps a quantized network out of a netx file, every item with its remedy."""

    def __init__(self, profile: str, violations: list[Violation]):
        self.profile = profile
        self.violations = violations
        listing = "; ".join(v.message() for v in violations)
        Exception.__init__(self, f"cannot write a netx file for profile '{profile}' ({len(violations)}): {listing}")


def netx_records(q: Quantized) -> NetxFile:
    """The quantized network as netx records, or NetxExportError listing why it cannot be one."""
    net, rec, profile = q.network, q.record, q.profile
    problems: list[Violation] = []
    if profile.dynamics.integer_step != "lava":
        raise NetxExportError(profile.name, [Violation(None, "integer_step", profile.dynamics.integer_step or "none", "lava",
                                                       "netx files hold Lava's CUBA LIF: export with --profile loihi2")])
    for name, e in q.report.get("emulated", {}).items():
        problems.append(Violation(name, "neuron", e["type"], "Lava's LIF", e["why"]))
    for name, g in decay_groups(q).items():
        problems.append(Violation(
            name, "decays_per_layer", g["distinct_decays"], 1,
            "a Lava LIF process holds one du and one dv; remedies: group the neurons by decay into that many processes "
            "(exact, one netx layer each), or share one decay per layer (evsim audit --profile loihi2 reports its accuracy cost)",
        ))
    layers = [NetxLayer(index=0, type="input", shape=(net.n_inputs, 1, 1))]
    previous = INPUT
    for li, layer in enumerate(net.layers):
        incoming = [(pi, p) for pi, p in enumerate(net.projections) if p.target == layer.name]
        forward = [(pi, p) for pi, p in incoming if p.source == previous]
        own = [(pi, p) for pi, p in incoming if p.source == layer.name]
        if len(forward) != 1 or len(incoming) != len(forward) + len(own) or len(own) > 1:
            problems.append(Violation(layer.name, "netx_chain", f"inputs from {', '.join(p.source for _, p in incoming)}",
                                      f"'{previous}' (and itself)", "netx holds a chain of dense layers, each fed by the one before"))
            previous = layer.name
            continue
        for pi, p in forward + own:
            if p.delay != 1:
                problems.append(Violation(layer.name, "delay", p.delay, 1, f"{p.label}: netx's dense connections deliver at the next step"))
            if np.any(q.shifts[pi] != profile.weights.shift):
                problems.append(Violation(layer.name, "weight_exponent", sorted(set((q.shifts[pi] - profile.weights.shift).tolist())), 0,
                                          f"{p.label}: a netx file holds one weight unit per layer (quantize with --profile loihi2)"))
        lo, hi = int(rec.layer_off[li]), int(rec.layer_off[li + 1])
        coef = rec.coef[lo:hi]
        bias = (coef[:, lava.BIAS_V] + rec.bias[lo:hi]) >> lava.SHIFT
        spiking = layer.neuron in lava.SPIKING
        du, dv = ONE - coef[:, lava.DU], ONE - coef[:, lava.DV]
        neuron = NetxNeuron(
            type="CUBA",
            i_decay=np.int64(du[0]) if np.all(du == du[0]) else du,
            v_decay=np.int64(dv[0]) if np.all(dv == dv[0]) else dv,
            vth_mant=np.int64(coef[0, lava.VTH] >> lava.SHIFT) if spiking else np.int64(NEVER),
        )
        if spiking and not np.all(coef[:, lava.VTH] == coef[0, lava.VTH]):
            neuron.vth_mant = coef[:, lava.VTH] >> lava.SHIFT
        w = q.mantissas[forward[0][0]] << (q.shifts[forward[0][0]][:, None] - profile.weights.shift)
        w_rec = None
        if own:
            w_rec = q.mantissas[own[0][0]] << (q.shifts[own[0][0]][:, None] - profile.weights.shift)
        layers.append(NetxLayer(
            index=len(layers), type=RECURRENT if own else "dense", shape=(layer.size, 1, 1), neuron=neuron,
            weight=w, weight_rec=w_rec, bias=bias if np.any(bias) else None,
            in_features=w.shape[1], out_features=layer.size,
        ))  # fmt: skip
        previous = layer.name
    if net.readout.layer != net.layers[-1].name:
        problems.append(Violation(net.readout.layer, "readout", net.readout.layer, net.layers[-1].name,
                                  "a netx chain's output is its last layer"))
    if problems:
        raise NetxExportError(profile.name, problems)
    return NetxFile(layers=layers, ts=1, t_sample=None)
