"""ECG wave segmentation on the QT database, encoded as in the paper (QTDB_{train,test}.mat).

Each sequence is 1301 steps of 4 ms with 4 level-crossing channels (lead 1 up/down, lead 2
up/down) and a one-hot label per step over six classes (P, PQ, QR, RS, ST, TP).

The encoded test and training sets ship inside the package (`evsim/tasks/data/qtdb/`, 640 KB:
PhysioNet's QT Database, ODC-By 1.0, encoded by the ICONS 2020 authors; see the README there),
so `--task ecg` needs no `--data`; `--data DIR` or `$EVSIM_DATA_DIR` point elsewhere.

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

from .base import Batch, DenseSamples, TaskOption, TaskSpec, batch_ranges, find_file

CLASSES = ("P", "PQ", "QR", "RS", "ST", "TP")
STEP_SECONDS = 0.004  # QTDB at 250 Hz: one step per sample
MAX_MAT_ELEMENTS = 1 << 25  # per variable: 10x the training set's x (618 x 1301 x 4)
N_CHANNELS = 4


def load_qtdb_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) from a QTDB_*.mat file: x (N, T, 4) int, y (N, T, 6) one-hot; checked."""
    from .mat5 import read_arrays

    mat = read_arrays(path, ("x", "y"), MAX_MAT_ELEMENTS)
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
class EcgDataset(DenseSamples):
    x: np.ndarray
    y: np.ndarray
    source: str
    name: str = "ecg"
    per_step_labels: bool = True
    n_classes: int | None = len(CLASSES)  # None: no labels (encoded without annotations), not scored
    info: dict[str, Any] = field(default_factory=dict)

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


def shipped_data() -> Path:
    """The QTDB sets shipped with evsim (PhysioNet's QT Database, ODC-By 1.0; data/qtdb/README.md)."""
    from importlib import resources

    return Path(str(resources.files("evsim.tasks").joinpath("data")))


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
    default_data=shipped_data,
)


# ---- files written by `evsim encode-ecg` -----------------------------------------------------


def _load_encoded(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(x (steps, 4), y (steps, 6) or None) from one .npy (events) or .npz (x, and y if annotated)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files} if hasattr(z, "files") else None
    except TypeError:  # np.load returned a plain array (.npy): not a context manager
        arrays = None
    except Exception as exc:
        raise EvsimError(f"{path}: not a readable .npy/.npz file ({type(exc).__name__}: {exc})") from None
    if arrays is None:
        try:
            arrays = {"x": np.load(path, allow_pickle=False)}
        except Exception as exc:
            raise EvsimError(f"{path}: not a readable .npy/.npz file ({type(exc).__name__}: {exc})") from None
    if "x" not in arrays:
        raise EvsimError(f"{path}: no array 'x' (the events `evsim encode-ecg` writes)")
    x, y = arrays["x"], arrays.get("y")
    if x.ndim != 2 or x.shape[1] != N_CHANNELS or x.dtype.kind not in "iuf" or not np.all(np.isin(x, (-1, 0, 1))):
        raise EvsimError(f"{path}: x must be (steps, {N_CHANNELS}) level-crossing events in -1/0/1, found {x.dtype} {x.shape}")
    if y is not None and (y.shape != (x.shape[0], len(CLASSES)) or not np.all(np.isin(y, (0, 1))) or np.any(y.sum(axis=1) > 1)):
        raise EvsimError(f"{path}: y must be one-hot (steps, {len(CLASSES)}) matching x, found {y.dtype} {y.shape}")
    return x, y


def open_encoded(data_dir: Path) -> EcgDataset:
    """Files written by `evsim encode-ecg`: one file given as --data, or every .npy/.npz in a
    directory (sorted by name, one sequence each, all of one length)."""
    path = Path(data_dir)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".npy", ".npz") and p.is_file())
        if not files:
            raise EvsimError(f"ecg-encoded: no .npy or .npz files in {path}")
    elif path.is_file():
        files = [path]
    else:
        raise EvsimError(f"ecg-encoded: {path} does not exist (give a file or directory written by `evsim encode-ecg`)")
    loaded = [_load_encoded(p) for p in files]
    steps = {x.shape[0] for x, _ in loaded}
    if len(steps) != 1:
        raise EvsimError(f"ecg-encoded: the files have different lengths ({sorted(steps)} steps); run them one at a time")
    x = np.stack([x for x, _ in loaded]).astype(np.int16)
    labelled = all(y is not None for _, y in loaded)
    y = np.stack([y for _, y in loaded]).astype(np.uint8) if labelled else np.zeros(x.shape[:2] + (len(CLASSES),), np.uint8)
    return EcgDataset(
        x=x, y=y, source=str(path), name="ecg-encoded", n_classes=len(CLASSES) if labelled else None,
        info={"files": [p.name for p in files], "classes": list(CLASSES), "labelled": labelled},
    )


SPEC_ENCODED = TaskSpec(
    name="ecg-encoded",
    summary="ECG files written by `evsim encode-ecg` (--data FILE or a directory of them); scored when annotated",
    files=["FILE.npz or FILE.npy from `evsim encode-ecg` (or a directory of them)"],
    open=open_encoded,
)
