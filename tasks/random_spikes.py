"""Random binary spike inputs: for engine cross-checks, operation counts and speed when a
model's real data set is not at hand (e.g. the SHD and SSC paper models here).

Each channel spikes independently with probability `density` per step, from a generator
seeded by (seed, sample index).  Labels are all 0: accuracy on this task means nothing, and
reports say so (n_classes is None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from evsim.errors import EvsimError
from evsim.events import EventBatch

from .base import MAX_STEPS, Batch, TaskOption, TaskSpec, batch_ranges, check_count


@dataclass
class RandomSpikes:
    n_samples: int
    n_channels: int
    n_steps: int
    density: float
    seed: int
    name: str = "random"
    per_step_labels: bool = False
    n_classes: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"generated: {self.n_samples} x {self.n_steps} steps x {self.n_channels} channels, density {self.density}, seed {self.seed}"

    def sample(self, i: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, i])
        return (rng.random((self.n_steps, self.n_channels)) < self.density).astype(np.float64)

    def batches(self, batch_size: int, offset: int = 0, limit: int | None = None) -> Iterator[Batch]:
        for start, stop in batch_ranges(self.n_samples, batch_size, offset, limit):
            sel = np.arange(start, stop)
            dense = np.stack([self.sample(int(i)) for i in sel])
            yield Batch(inputs=EventBatch.from_dense(dense), labels=np.zeros(len(sel), dtype=np.int64), sample_ids=sel)


def open_random(data_dir: Path | None, n: int = 16, channels: int = 700, steps: int = 250,
                density: float = 0.05, seed: int = 0) -> RandomSpikes:
    n = check_count(n, 1, 1 << 24, "random: --n")
    channels = check_count(channels, 1, 1 << 16, "random: --channels")
    steps = check_count(steps, 1, MAX_STEPS, "random: --steps")
    seed = check_count(seed, 0, 2**63 - 1, "random: --seed")
    if not (isinstance(density, (int, float)) and 0.0 <= density <= 1.0):
        raise EvsimError(f"random: --density must lie in [0, 1], got {density}")
    ds = RandomSpikes(n_samples=n, n_channels=channels, n_steps=steps, density=density, seed=seed)
    ds.info = {"density": density, "seed": seed, "note": "random inputs: accuracy is meaningless"}
    return ds


SPEC = TaskSpec(
    name="random",
    summary="random binary spikes (no labels): engine cross-checks and speed without a data set",
    files=[],
    open=open_random,
    options=[
        TaskOption("n", int, 16, "number of samples"),
        TaskOption("channels", int, 700, "input channels (must match the model)"),
        TaskOption("steps", int, 250, "steps per sample"),
        TaskOption("density", float, 0.05, "spike probability per channel and step"),
        TaskOption("seed", int, 0, "random seed"),
    ],
    default_data=lambda: Path("."),
)
