"""ECG wave segmentation on the QT database, encoded as in the paper (QTDB_{train,test}.mat).

Each sequence is 1301 steps of 4 ms with 4 level-crossing channels (lead 1 up/down, lead 2
up/down) and a one-hot label per step over six classes (P, PQ, QR, RS, ST, TP).

Quirks of the distributed files, handled here:
- channel 0 holds -1 at the last step of every sequence (an encoding artefact).  It is kept as
  an input event of value -1, as the paper's code feeds it to the network.
- about 8% of steps have no label (an all-zero one-hot).  The paper's code takes argmax, which
  makes them class 0 (P); evsim scores them that way by default and reports the accuracy over
  labelled steps only beside it (`label_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from evsim.errors import EvsimError
from evsim.events import EventBatch

from .base import Batch, TaskOption, TaskSpec, find_file, batch_ranges

CLASSES = ("P", "PQ", "QR", "RS", "ST", "TP")
STEP_SECONDS = 0.004  # QTDB at 250 Hz: one step per sample
N_CHANNELS = 4


def load_qtdb_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) from a QTDB_*.mat file: x (N, T, 4) int, y (N, T, 6) one-hot; checked."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:  # scipy raises many kinds for a broken file
        raise EvsimError(f"{path}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from None
    for key in ("x", "y"):
        if key not in mat:
            raise EvsimError(f"{path}: variable '{key}' is missing")
    x, y = mat["x"], mat["y"]
    if x.ndim != 3 or x.shape[2] != N_CHANNELS:
        raise EvsimError(f"{path}: x has shape {x.shape}, expected (sequences, steps, {N_CHANNELS})")
    if y.shape != x.shape[:2] + (len(CLASSES),):
        raise EvsimError(f"{path}: y has shape {y.shape}, expected {x.shape[:2] + (len(CLASSES),)}")
    if not np.all(np.isin(x, (-1, 0, 1))):
        raise EvsimError(f"{path}: x holds values other than -1, 0, 1 (not a level-crossing encoding)")
    if not np.all(np.isin(y, (0, 1))) or np.any(y.sum(axis=2) > 1):
        raise EvsimError(f"{path}: y is not one-hot (values other than 0/1, or two classes at one step)")
    return x, y


@dataclass
class EcgDataset:
    x: np.ndarray
    y: np.ndarray
    source: str
    name: str = "ecg"
    per_step_labels: bool = True
    n_classes: int = len(CLASSES)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return self.x.shape[0]

    @property
    def n_steps(self) -> int:
        return self.x.shape[1]

    @property
    def n_channels(self) -> int:
        return self.x.shape[2]

    def batches(self, batch_size: int, offset: int = 0, limit: int | None = None) -> Iterator[Batch]:
        for start, stop in batch_ranges(self.n_samples, batch_size, offset, limit):
            sel = np.arange(start, stop)
            y = self.y[sel]
            yield Batch(
                inputs=EventBatch.from_dense(self.x[sel]),
                labels=np.argmax(y, axis=2),  # unlabelled steps -> class 0, as the paper scores them
                sample_ids=sel,
                label_mask=y.sum(axis=2) > 0,
            )


def open_ecg(data_dir: Path, split: str = "test") -> EcgDataset:
    if split not in ("test", "train"):
        raise EvsimError(f"ecg: --split must be 'test' or 'train', got '{split}'")
    name = f"QTDB_{split}.mat"
    path = find_file(data_dir, [f"qtdb/{name}", name], "ecg")
    x, y = load_qtdb_mat(path)
    return EcgDataset(x=x, y=y, source=str(path), info={"split": split, "classes": list(CLASSES), "step_seconds": STEP_SECONDS})


SPEC = TaskSpec(
    name="ecg",
    summary="QTDB ECG wave segmentation, 4 level-crossing channels, 6 classes per 4 ms step",
    files=["qtdb/QTDB_test.mat", "qtdb/QTDB_train.mat"],
    open=open_ecg,
    options=[TaskOption("split", str, "test", "which file: test (141 sequences) or train (618)")],
)
