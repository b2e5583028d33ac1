"""Dense training arrays from an evsim task (tasks hand out event batches)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EvsimError


@dataclass
class DenseData:
    x: np.ndarray  # (samples, steps, channels) float32
    labels: np.ndarray  # (samples, steps) int64 for per-step tasks (unlabelled steps -> 0, the paper's way)
    mask: np.ndarray  # (samples, steps) bool: steps with a real label
    n_classes: int
    source: str

    def subset(self, idx: np.ndarray) -> "DenseData":
        return DenseData(self.x[idx], self.labels[idx], self.mask[idx], self.n_classes, self.source)

    def __len__(self) -> int:
        return len(self.x)


def open_dataset(task: str, data_dir: str | Path | None, split: str | None = None, options: dict | None = None):
    from evsim.tasks import get_task, open_task

    spec = get_task(task)
    opts = dict(options or {})
    if split is not None and any(o.name == "split" for o in spec.options):
        opts["split"] = split
    return open_task(task, data_dir, **opts)


def load_dense(dataset) -> DenseData:
    """All of a (small) data set as dense arrays."""
    if not dataset.per_step_labels:
        raise EvsimError(f"training: task '{dataset.name}' has one label per sample; only per-step tasks are supported")
    xs, ys, ms = [], [], []
    for batch in dataset.batches(256):
        xs.append(batch.inputs.to_dense().astype(np.float32))
        ys.append(np.asarray(batch.labels, dtype=np.int64))
        mask = batch.label_mask if batch.label_mask is not None else np.ones(batch.labels.shape, bool)
        ms.append(mask)
    if not xs:
        raise EvsimError(f"training: the data set {dataset.source} is empty")
    return DenseData(np.concatenate(xs), np.concatenate(ys), np.concatenate(ms), int(dataset.n_classes), dataset.source)
