"""NeuroBench's metrics, computed from a run's counts (NeuroBench 2.3.0, docs/counting.md).

NeuroBench (neurobench.ai) measures a torch module through hooks; evsim reproduces its numbers
for the paper's update written as such a module (one `nn.Linear` per projection, called once
per step; the spiking nonlinearity registered as an activation module; neuron constants held
as plain tensors), without torch, from what the engines already count:

    Footprint           bytes of the projections' weights and biases at the run's precision
    ConnectionSparsity  zero weights / all weights (biases excluded), rounded to 4 decimals
    ActivationSparsity  1 - spikes / (spiking neurons x steps): integrators are no activation
    SynapticOperations  per sample: Effective_MACs, Effective_ACs, Dense

NeuroBench counts synaptic operations per call of a `Linear`: (non-zero inputs) x (non-zero
weights), biases excluded, and the whole call counts as ACs when every input value is in
{-1, 0, 1}, else as MACs.  evsim classifies each event on its own (docs/counting.md), so its
`ac + mac` is NeuroBench's effective total; what this module adds is the call rule: the
operations of a (sample, projection, step) whose source values are not all in {-1, 0, 1} move
to MACs, ±1 events included.  Such calls come only from non-binary input values and from the
fractional first spike of the paper's initial state; layer spikes are binary.  Per sample
means NeuroBench run with batch size 1 (its rule looks at a whole batch at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .events import EventBatch
from .model import INPUT, Network, State

VERSION = "2.3.0"  # the NeuroBench release whose definitions these are (tests/test_neurobench.py)


@dataclass
class Storage:
    """How the run holds its projections' parameters: the weights at the run's precision (the
    stored integers under a fixed-point profile) and the bits each weight and bias takes."""

    weights: list[np.ndarray]  # per projection (target, source)
    n_biases: int
    weight_bits: int
    bias_bits: int
    precision: str

    @property
    def footprint_bytes(self) -> int | float:
        bits = sum(w.size for w in self.weights) * self.weight_bits + self.n_biases * self.bias_bits
        return bits // 8 if bits % 8 == 0 else bits / 8


def float_storage(network: Network, bits: int = 64) -> Storage:
    """Every weight and every projection's bias as a float of `bits` bits."""
    return Storage(
        weights=[p.weight for p in network.projections],
        n_biases=sum(p.bias.size for p in network.projections),
        weight_bits=bits,
        bias_bits=bits,
        precision=f"float{bits}",
    )


def fixed_storage(mantissas: list[np.ndarray], n_biases: int, weight_bits: int, bias_bits: int) -> Storage:
    """The integer network: weights as stored mantissas, one (summed) bias per neuron in the current's width."""
    return Storage(
        weights=list(mantissas),
        n_biases=n_biases,
        weight_bits=weight_bits,
        bias_bits=bias_bits,
        precision=f"int{weight_bits} weights, int{bias_bits} biases",
    )


def _off_unit(values: np.ndarray) -> np.ndarray:
    """True where a value is not in {-1, 0, 1}: NeuroBench's test for a spiking input."""
    return (values != 0) & (values != 1) & (values != -1)


def mac_call_ops(network: Network, storage: Storage, inputs: EventBatch, states: list[State] | None) -> np.ndarray:
    """Per projection, summed over the batch: the synaptic operations of the calls NeuroBench
    counts as MACs (some source value at that step outside {-1, 0, 1}).  `states` is the initial
    state (None: all zero, which holds no value at all)."""
    out = np.zeros(len(network.projections), dtype=np.int64)
    n, steps = inputs.n_samples, inputs.n_steps
    fan_out = [np.count_nonzero(w, axis=0).astype(np.int64) for w in storage.weights]  # per source neuron
    odd = _off_unit(inputs.value)
    if odd.any():
        cell = np.repeat(np.arange(n * steps), np.diff(inputs.step_ptr, axis=1).ravel())  # (sample, step) of each event
        mixed = np.zeros(n * steps, dtype=bool)
        mixed[cell[odd]] = True
        in_mixed, step = mixed[cell], cell % steps
        for pi, p in enumerate(network.projections):
            if p.source == INPUT:
                sel = in_mixed & (step + p.delay < steps)
                out[pi] = fan_out[pi][inputs.channel[sel]].sum()
    if states is not None:
        for pi, p in enumerate(network.projections):
            # The initial state's spike (step -1) is the whole source of the call at step delay - 1.
            if p.source != INPUT and 1 <= p.delay <= steps:
                s0 = states[network.layer_index(p.source)].spike
                odd_sample = _off_unit(s0).any(axis=1)
                out[pi] = ((s0[odd_sample] != 0) @ fan_out[pi]).sum()
    return out


def block(network: Network, storage: Storage, totals: dict[str, Any], mac_calls: np.ndarray, samples: int, steps: int) -> dict[str, Any]:
    """The `neurobench` block of a report, from a run's summed counts (api.Tally)."""
    zeros = sum(w.size - np.count_nonzero(w) for w in storage.weights)
    weights = sum(w.size for w in storage.weights)
    spiking = [i for i, layer in enumerate(network.layers) if layer.spiking]
    activations = samples * steps * sum(network.layers[i].size for i in spiking)
    spikes = int(sum(np.asarray(totals["spikes"])[i] for i in spiking))
    effective = int(np.sum(totals["ac"]) + np.sum(totals["mac"]))
    macs = int(mac_calls.sum())
    return {
        "Footprint": storage.footprint_bytes,
        "ConnectionSparsity": round(zeros / weights, 4) if weights else 0.0,
        "ActivationSparsity": (activations - spikes) / activations if activations else 0.0,
        "SynapticOperations": {
            "Effective_MACs": macs / samples,
            "Effective_ACs": (effective - macs) / samples,
            "Dense": float(steps * weights),
        },
        "precision": storage.precision,
        "neurobench_version": VERSION,
    }
