"""Inputs from a NumPy file: run any model on arrays a peer simulator was given.

`--data` names the file itself (not a directory):

- `X.npy`: one sample as (steps, channels), or several as (samples, steps, channels);
- `X.npz` with `x` (either shape) and optionally `y`, the labels: (samples,) for one class per
  sample, or (samples, steps) for one per step.  Labels are integers >= 0.

Values may be any real numbers (binary spikes, graded spikes, currents); zeros are not events.
A `.npy` is memory-mapped and read one batch at a time; an `.npz` member is read whole when the
file is opened.  Without labels nothing is scored (as for `random`).  The number of classes is
the largest label + 1 unless `--classes` says more (when the file holds only some classes).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from evsim.errors import EvsimError
from evsim.events import EventBatch

from .base import Batch, DenseSamples, TaskOption, TaskSpec, batch_ranges

CHECK_CHUNK = 1 << 22  # values checked for NaN/inf at a time, so a large .npy is never read whole


@dataclass
class ArrayDataset(DenseSamples):
    x: np.ndarray  # (samples, steps, channels), possibly memory-mapped
    y: np.ndarray | None
    source: str
    n_classes: int | None
    name: str = "array"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def per_step_labels(self) -> bool:
        return self.y is not None and self.y.ndim == 2

    def batches(self, batch_size: int, offset: int = 0, limit: int | None = None) -> Iterator[Batch]:
        for start, stop in batch_ranges(self.n_samples, batch_size, offset, limit):
            sel = np.arange(start, stop)
            labels = self.y[start:stop] if self.y is not None else np.zeros(len(sel), dtype=np.int64)
            dense = np.asarray(self.x[start:stop], dtype=np.float64)
            yield Batch(inputs=EventBatch.from_dense(dense), labels=labels, sample_ids=sel)


def _load(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        if path.suffix == ".npy":
            return np.load(path, mmap_mode="r", allow_pickle=False), None
        with np.load(path, allow_pickle=False) as z:
            if "x" not in z.files:
                raise EvsimError(f"{path}: no array 'x' in the .npz (found: {', '.join(z.files) or 'none'})")
            return z["x"], (z["y"] if "y" in z.files else None)
    except EvsimError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise EvsimError(f"{path}: not a readable {path.suffix} file ({type(exc).__name__}: {exc})") from None


def _check_inputs(path: Path, x: np.ndarray) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise EvsimError(f"{path}: x has dtype {x.dtype}; expected numbers (bool, integer or float)")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise EvsimError(
            f"{path}: x has shape {x.shape}; expected (steps, channels) or (samples, steps, channels)"
            + (" (reshape a single channel to (steps, 1))" if x.ndim == 1 else "")
        )
    if 0 in x.shape:
        raise EvsimError(f"{path}: x has shape {x.shape}, with an empty dimension")
    if x.dtype.kind == "f":
        per_sample = max(1, CHECK_CHUNK // (x.shape[1] * x.shape[2]))
        for start in range(0, x.shape[0], per_sample):
            block = np.asarray(x[start : start + per_sample])
            bad = ~np.isfinite(block)
            if bad.any():
                s, t, c = np.argwhere(bad)[0]
                raise EvsimError(f"{path}: x is NaN or infinite at sample {start + s}, step {t}, channel {c}")
    return x


def _check_labels(path: Path, y: np.ndarray, x: np.ndarray, classes: int | None) -> tuple[np.ndarray, int]:
    n, steps = x.shape[:2]
    if y.shape not in ((n,), (n, steps)):
        raise EvsimError(f"{path}: y has shape {y.shape}; expected ({n},) or ({n}, {steps}) to match x")
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise EvsimError(f"{path}: y has dtype {y.dtype}; labels must be integers")
    y = y.astype(np.int64)
    if y.min() < 0:
        raise EvsimError(f"{path}: y holds a negative label ({int(y.min())})")
    n_classes = int(y.max()) + 1
    if classes is not None:
        if n_classes > classes:
            raise EvsimError(f"{path}: y holds label {n_classes - 1}, outside --classes {classes}")
        n_classes = classes
    return y, n_classes


def open_array(path: Path, classes: int | None = None) -> ArrayDataset:
    path = Path(path)
    if classes is not None and classes <= 0:
        raise EvsimError(f"array: --classes must be positive, got {classes}")
    if path.suffix not in (".npy", ".npz"):
        raise EvsimError(f"array: --data must name a .npy or .npz file, got '{path}'")
    if not path.is_file():
        raise EvsimError(f"array: {path} is not a file")
    x, y = _load(path)
    x = _check_inputs(path, x)
    n_classes = None
    if y is not None:
        y, n_classes = _check_labels(path, y, x, classes)
    elif classes is not None:
        raise EvsimError(f"array: --classes given but {path} holds no labels 'y'")
    info = {"labels": "none" if y is None else ("per step" if y.ndim == 2 else "per sample")}
    if y is None:
        info["note"] = "no labels: accuracy is not scored"
    return ArrayDataset(x=x, y=y, source=str(path), n_classes=n_classes, info=info)


SPEC = TaskSpec(
    name="array",
    summary="inputs from a .npy (steps x channels, or samples x steps x channels) or an .npz with x and labels y",
    files=["X.npy or X.npz (give the file itself as --data)"],
    open=open_array,
    options=[TaskOption("classes", int, None, "number of classes, when y holds fewer than the readout has")],
)
