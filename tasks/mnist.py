"""Sequential MNIST (smnist) and permuted sequential MNIST (psmnist) from the MNIST IDX files.

Files: {t10k,train}-images-idx3-ubyte and {t10k,train}-labels-idx1-ubyte, each optionally .gz,
looked for in DIR and DIR/mnist (the dotted spelling `t10k-images.idx3-ubyte` is accepted too).
The IDX header is parsed here: a big-endian magic (0x00000803 images, 0x00000801 labels) and one
big-endian uint32 per dimension, then uint8 data.  Plain files are memory-mapped; a .gz file is
decompressed into memory (47 MB for the training images, 7.8 MB for the test images).

Encoding (the paper's scripts): an image is the sequence of its 784 pixels in row order, scaled to
[0, 1] by /255.  Step t feeds a window of `window` consecutive pixels, stride 1; once the window
would run past the end it stays on the last `window` pixels:

    start(t) = min(t, 784 - window);  input[t, j] = pixel[start(t) + j],  j = 0..window-1

so there are 784 steps and `window` channels.  Values are analog; zero pixels are not events.
psmnist first permutes the pixels, x_perm[k] = x[perm[k]] (the paper's `x[:, perm]`), with perm
from the .npy file named by --permutation or else np.random.default_rng(perm_seed).permutation(784);
`info` records which (seed or path) with a sha256 prefix of the permutation as int64 bytes.
Labels: one per sample, 10 classes.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import numpy as np

from evsim.errors import EvsimError
from evsim.events import EventBatch

from .base import Batch, TaskOption, TaskSpec, batch_ranges

N_PIXELS = 784
MAGIC_IMAGES = 0x00000803
MAGIC_LABELS = 0x00000801
STEMS = {"test": "t10k", "train": "train"}


# ------------------------------------------------------------------------------------------------
# IDX files


def _find(data_dir: Path, task: str, split: str, kind: str) -> Path:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise EvsimError(f"{task}: data directory {data_dir} does not exist")
    stem, idx = STEMS[split], ("idx3" if kind == "images" else "idx1")
    names = [f"{stem}-{kind}-{idx}-ubyte", f"{stem}-{kind}.{idx}-ubyte"]
    candidates = [f"{sub}{n}{gz}" for sub in ("", "mnist/") for n in names for gz in ("", ".gz")]
    for rel in candidates:
        if (data_dir / rel).is_file():
            return data_dir / rel
    raise EvsimError(f"{task}: {names[0]} (or .gz) not found in {data_dir} or {data_dir / 'mnist'}")


MAX_IDX_BYTES = 60_000 * 784 + 16  # the largest MNIST file, train-images-idx3-ubyte


def _raw(path: Path) -> np.ndarray:
    """The file's bytes as a uint8 array: memory-mapped when plain, decompressed when .gz."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read(MAX_IDX_BYTES + 1)  # never more: a small .gz can expand to gigabytes
            if len(data) > MAX_IDX_BYTES:
                raise EvsimError(f"{path}: decompresses to more than {MAX_IDX_BYTES:,} bytes, larger than any MNIST file")
            return np.frombuffer(data, dtype=np.uint8)
        if path.stat().st_size == 0:
            return np.zeros(0, dtype=np.uint8)
        return np.memmap(path, dtype=np.uint8, mode="r")
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise EvsimError(f"{path}: not a complete gzip file ({exc})") from None
    except OSError as exc:
        raise EvsimError(f"{path}: cannot be read ({exc})") from None


def read_idx(path: Path, magic: int, dims: tuple[int | None, ...], what: str) -> np.ndarray:
    """The data of an IDX uint8 file as an array of shape `dims` (None: taken from the header)."""
    raw = _raw(path)
    ndim = len(dims)
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise EvsimError(f"{path}: {len(raw)} bytes, too short for an IDX header; not an MNIST {what} file")
    head = np.frombuffer(raw[:header].tobytes(), dtype=">u4")
    if int(head[0]) != magic:
        raise EvsimError(f"{path}: magic number 0x{int(head[0]):08x}, expected 0x{magic:08x} (MNIST {what})")
    shape = tuple(int(d) for d in head[1:])
    for i, (got, want) in enumerate(zip(shape, dims)):
        if want is not None and got != want:
            raise EvsimError(f"{path}: dimensions {'x'.join(map(str, shape))}, expected {'x'.join(str(d or 'N') for d in dims)}")
    per_item = int(np.prod(shape[1:], dtype=np.int64))
    if len(raw) != header + shape[0] * per_item:
        if what == "images":
            raise EvsimError(
                f"{path}: image file size is not 784 per image ({len(raw) - header} bytes of pixels "
                f"after the header for {shape[0]} images declared)"
            )
        raise EvsimError(f"{path}: {len(raw) - header} label bytes after the header for {shape[0]} labels declared")
    return raw[header:].reshape(shape)


def load_split(data_dir: Path, task: str, split: str) -> tuple[np.ndarray, np.ndarray, Path]:
    """(images (N, 784) uint8, labels (N,) uint8, image path), validated."""
    img_path = _find(data_dir, task, split, "images")
    lab_path = _find(data_dir, task, split, "labels")
    images = read_idx(img_path, MAGIC_IMAGES, (None, 28, 28), "images")
    labels = read_idx(lab_path, MAGIC_LABELS, (None,), "labels")
    if len(images) != len(labels):
        raise EvsimError(f"{task}: {img_path} holds {len(images)} images but {lab_path} holds {len(labels)} labels")
    bad = np.flatnonzero(labels > 9)
    if len(bad):
        raise EvsimError(f"{lab_path}: sample {bad[0]} has label {labels[bad[0]]}, outside 0..9")
    return images.reshape(len(images), N_PIXELS), labels, img_path


# ------------------------------------------------------------------------------------------------
# encoding


def window_starts(window: int) -> np.ndarray:
    """start(t) = min(t, 784 - window) for t = 0..783."""
    return np.minimum(np.arange(N_PIXELS), N_PIXELS - window)


def encode_windows(seq: np.ndarray, window: int) -> EventBatch:
    """EventBatch (784 steps, `window` channels) from pixel sequences (samples, 784) in [0, 1].

    Built from the non-zero pixels only: step t of sample b holds the non-zero pixels p in
    [start(t), start(t) + window) as channel p - start(t), value seq[b, p].
    """
    seq = np.asarray(seq, dtype=np.float64)
    n = len(seq)
    starts = window_starts(window)
    nz = seq != 0
    cum = np.zeros((n, N_PIXELS + 1), dtype=np.int64)  # cum[b, p]: non-zeros of sample b before p
    np.cumsum(nz, axis=1, out=cum[:, 1:])
    b_idx, p_idx = np.nonzero(nz)  # row order: sorted by sample, then pixel
    values = seq[b_idx, p_idx]
    sample_off = np.zeros(n, dtype=np.int64)
    if n > 1:
        np.cumsum(cum[:-1, -1], out=sample_off[1:])  # where each sample's non-zeros begin
    lo = cum[:, starts] + sample_off[:, None]  # (n, 784): first event index of each step
    counts = (cum[:, starts + window] - cum[:, starts]).ravel()
    flat = np.zeros(n * N_PIXELS + 1, dtype=np.int64)
    np.cumsum(counts, out=flat[1:])
    total = int(flat[-1])
    gather = np.repeat(lo.ravel() - flat[:-1], counts) + np.arange(total)
    channel = p_idx[gather] - np.repeat(np.tile(starts, n), counts)
    step_ptr = np.empty((n, N_PIXELS + 1), dtype=np.int64)
    step_ptr[:, :N_PIXELS] = flat[:-1].reshape(n, N_PIXELS)
    step_ptr[:, N_PIXELS] = flat[N_PIXELS::N_PIXELS] if n else 0
    return EventBatch(N_PIXELS, window, step_ptr, channel, values[gather])


# ------------------------------------------------------------------------------------------------
# permutation


def load_permutation(path: str | Path) -> np.ndarray:
    """A permutation of 0..783 from a .npy file, validated."""
    path = Path(path)
    if not path.is_file():
        raise EvsimError(f"psmnist: permutation file {path} does not exist")
    try:
        perm = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise EvsimError(f"psmnist: {path} is not a readable .npy array ({exc})") from None
    if not isinstance(perm, np.ndarray):
        raise EvsimError(f"psmnist: {path} holds several arrays (.npz); give a .npy of one permutation")
    if perm.shape != (N_PIXELS,):
        raise EvsimError(f"psmnist: {path} holds an array of shape {perm.shape}, expected ({N_PIXELS},)")
    if perm.dtype.kind == "f" and np.all(np.isfinite(perm)) and np.all(perm == np.round(perm)):
        perm = perm.astype(np.int64)
    if perm.dtype.kind not in "iu":
        raise EvsimError(f"psmnist: {path} holds {perm.dtype}, expected integer pixel indices")
    perm = perm.astype(np.int64)
    if perm.min() < 0 or perm.max() >= N_PIXELS:
        raise EvsimError(f"psmnist: {path} holds index {perm.min() if perm.min() < 0 else perm.max()}, outside 0..{N_PIXELS - 1}")
    seen = np.bincount(perm, minlength=N_PIXELS)
    if np.any(seen != 1):
        twice = np.flatnonzero(seen > 1)[0]
        raise EvsimError(f"psmnist: {path} is not a permutation of 0..{N_PIXELS - 1} (index {twice} appears {seen[twice]} times)")
    return perm


def permutation_hash(perm: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(perm, dtype="<i8").tobytes()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------
# the data set


class MnistDataset:
    per_step_labels = False
    n_classes = 10
    n_steps = N_PIXELS

    def __init__(self, name: str, images: np.ndarray, labels: np.ndarray, source: str, window: int,
                 perm: np.ndarray | None, info: dict[str, Any]):
        self.name = name
        self.images = images  # (N, 784) uint8, memory-mapped for plain files
        self.labels = labels
        self.source = source
        self.n_channels = window
        self.window = window
        self.perm = perm
        self.info = info

    @property
    def n_samples(self) -> int:
        return len(self.images)

    def sequences(self, start: int, stop: int) -> np.ndarray:
        """Pixel sequences (samples, 784) in [0, 1], permuted for psmnist."""
        x = np.asarray(self.images[start:stop])
        if self.perm is not None:
            x = x[:, self.perm]
        return x / 255.0

    def batches(self, batch_size: int, offset: int = 0, limit: int | None = None) -> Iterator[Batch]:
        for start, stop in batch_ranges(self.n_samples, batch_size, offset, limit):
            yield Batch(
                inputs=encode_windows(self.sequences(start, stop), self.window),
                labels=np.asarray(self.labels[start:stop], dtype=np.int64),
                sample_ids=np.arange(start, stop),
            )


def _check(task: str, split: str, window: int) -> None:
    if split not in STEMS:
        raise EvsimError(f"{task}: --split must be 'test' or 'train', got '{split}'")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or not 1 <= window <= N_PIXELS:
        raise EvsimError(f"{task}: --window must be an integer in 1..{N_PIXELS}, got {window!r}")


def open_smnist(data_dir: Path, split: str = "test", window: int = 8) -> MnistDataset:
    _check("smnist", split, window)
    images, labels, path = load_split(data_dir, "smnist", split)
    info = {"split": split, "window": int(window)}
    return MnistDataset("smnist", images, labels, str(path), int(window), None, info)


def open_psmnist(data_dir: Path, split: str = "test", window: int = 8, permutation: str | None = None,
                 perm_seed: int = 0) -> MnistDataset:
    _check("psmnist", split, window)
    if permutation:
        perm = load_permutation(permutation)
        used: dict[str, Any] = {"permutation": str(Path(permutation).resolve())}
    else:
        if isinstance(perm_seed, bool) or not isinstance(perm_seed, (int, np.integer)) or perm_seed < 0:
            raise EvsimError(f"psmnist: --perm-seed must be a non-negative integer, got {perm_seed!r}")
        perm = np.random.default_rng(int(perm_seed)).permutation(N_PIXELS)
        used = {"permutation": f"np.random.default_rng({int(perm_seed)}).permutation(784)", "perm_seed": int(perm_seed)}
    images, labels, path = load_split(data_dir, "psmnist", split)
    info = {"split": split, "window": int(window), **used, "perm_sha256": permutation_hash(perm)}
    return MnistDataset("psmnist", images, labels, str(path), int(window), perm, info)


_SPLIT = TaskOption("split", str, "test", "which files: test (t10k, 10000 images) or train (60000)")
_WINDOW = TaskOption("window", int, 8, "pixels per step: step t feeds pixels min(t, 784-w) .. +w-1 (w channels)")

SPEC_SMNIST = TaskSpec(
    name="smnist",
    summary="sequential MNIST: 784 steps, a sliding window of 8 pixels (analog), 10 classes per sample",
    files=["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
    open=open_smnist,
    options=[_SPLIT, _WINDOW],
)

SPEC_PSMNIST = TaskSpec(
    name="psmnist",
    summary="permuted sequential MNIST: pixels in a fixed random order, then as smnist",
    files=list(SPEC_SMNIST.files),
    open=open_psmnist,
    options=[
        _SPLIT,
        _WINDOW,
        TaskOption("permutation", str, None, ".npy file of a permutation of 0..783 (x_perm[k] = x[perm[k]]); overrides --perm-seed"),
        TaskOption("perm_seed", int, 0, "seed of np.random.default_rng(seed).permutation(784) when no --permutation"),
    ],
)

# registry entries (tasks/__init__.py registers `entry.SPEC`; this module holds two tasks)
SMNIST = SimpleNamespace(SPEC=SPEC_SMNIST)
PSMNIST = SimpleNamespace(SPEC=SPEC_PSMNIST)
