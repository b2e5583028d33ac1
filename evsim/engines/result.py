"""What an engine returns for a batch of samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class OpCounts:
    """Operation counts per sample (rows) and per projection or layer (columns).

    The rules are in docs/counting.md.  In short, for projection p and one sample:
      events        spikes / input values delivered to p inside the simulated window
      ac            accumulates: binary (+1/-1) events x non-zero outgoing weights
      ac_structural binary events x structural fan-out (zero weights included)
      mac           multiply-accumulates: non-binary events x non-zero outgoing weights
    and for layer l: spikes emitted, neuron_updates (every neuron, every step).
    """

    events: np.ndarray  # (samples, projections) int64
    ac: np.ndarray
    ac_structural: np.ndarray
    mac: np.ndarray
    spikes: np.ndarray  # (samples, layers) int64
    neuron_updates: np.ndarray  # (samples, layers) int64

    @classmethod
    def zeros(cls, n_samples: int, n_projections: int, n_layers: int) -> "OpCounts":
        p = lambda: np.zeros((n_samples, n_projections), dtype=np.int64)  # noqa: E731
        q = lambda: np.zeros((n_samples, n_layers), dtype=np.int64)  # noqa: E731
        return cls(p(), p(), p(), p(), q(), q())

    def equals(self, other: "OpCounts") -> bool:
        return all(
            np.array_equal(getattr(self, k), getattr(other, k))
            for k in ("events", "ac", "ac_structural", "mac", "spikes", "neuron_updates")
        )


@dataclass
class SimResult:
    trace: np.ndarray  # (samples, steps, readout size): the readout variable after each step
    counts: OpCounts
    spikes: list[np.ndarray] | None = None  # per layer (samples, steps, size) uint8 spike counts, when recorded
    mem: list[np.ndarray] | None = None  # per layer (samples, steps, size) float64, when recorded
    syn: list[np.ndarray | None] | None = None  # per layer synaptic current i (None: the type has none), with mem
