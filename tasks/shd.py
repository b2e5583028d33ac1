"""Spiking Heidelberg Digits (SHD, 20 classes) and Spiking Speech Commands (SSC, 35 classes),
read from the distributed HDF5 files (Cramer et al. 2020) and binned as in the SRNN paper.

Files: shd_{train,test}.h5 and ssc_{train,valid,test}.h5, each optionally gzipped (.h5.gz),
looked for in DIR/shd (DIR/ssc for SSC) and DIR.  Layout:

    spikes/times   vlen float per sample (float16 in the distributed files), seconds
    spikes/units   vlen uint16 per sample, cochlea channel 0..699
    labels         uint16 per sample
    extra/...      speaker, keys (class names), meta_info (not needed here)

Binning (the paper's `binary_image_readout`, dt = 4 ms, 250 steps): step i holds the spikes with
(i-1)*dt < t <= i*dt, step 0 those with t <= 0; spikes after (steps-1)*dt are dropped.  Unit u > 0
drives input channel 700 - u; unit 0 is dropped (the paper's code does `vals[vals > 0]`).  Inputs
are binary: several spikes of one channel in one step count once.

Bin edges are compared in the precision of the file's times.  The edge i*dt is taken as the exact
product of the decimal `dt` (0.004, as typed) and i, rounded once to float64 and then to the
times' float type (float16 in the real files); a spike belongs to the first step whose edge is >= t.
So a spike written at exactly i*dt, which a float16 file stores as the float16 nearest to i*dt
(e.g. 0.004 -> 0.0040016), lands in step i, as in the paper's code (numpy compares a float16 array
with a Python float in float16).  Computing ceil(t/dt) in float64 instead would push such spikes
into step i+1.  With a dt finer than the file's time resolution some edges coincide and the later
of those steps stay empty.

Reading is lazy: the h5py file stays open in the dataset and each batch reads only its samples'
spike lists, binning them straight into an EventBatch (never a dense samples x steps x 700 array).
A .h5.gz file is decompressed once, in 1 MiB chunks, to an anonymous temporary file in TMPDIR
(HDF5 needs random access, and seeking backwards in a gzip stream restarts decompression from the
beginning, so reading through a GzipFile would be quadratic).  On POSIX the temporary file is
unlinked as soon as HDF5 has it open, so it disappears with the process whatever happens; the
cost is its size on disk while the data set is open and the decompression time on every open
(gunzip the file once to avoid both).
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import weakref
import zlib
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator, Sequence

import numpy as np

from evsim.errors import EvsimError
from evsim.events import EventBatch

from .base import Batch, TaskOption, TaskSpec, batch_ranges

N_CHANNELS = 700
DEFAULT_DT = 0.004
DEFAULT_STEPS = 250
SPLITS = {"shd": ("test", "train"), "ssc": ("test", "train", "valid")}
N_CLASSES = {"shd": 20, "ssc": 35}


# ------------------------------------------------------------------------------------------------
# binning


def bin_edges(dt: float, steps: int, times_dtype: Any = np.float64) -> np.ndarray:
    """Upper edges of the steps, edges[i] = i*dt as the times' float type holds it (as float64).

    i*dt is computed exactly from the shortest decimal of dt (0.004 is taken as 4/1000), rounded
    to float64, then to `times_dtype`.
    """
    try:
        dt = float(dt)
    except (TypeError, ValueError):
        raise EvsimError(f"--dt must be a positive number of seconds, got {dt!r}") from None
    if not (np.isfinite(dt) and dt > 0):
        raise EvsimError(f"--dt must be a positive number of seconds, got {dt}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise EvsimError(f"--steps must be a positive integer, got {steps!r}")
    dtype = np.dtype(times_dtype)
    if dtype.kind != "f":
        raise EvsimError(f"spike times must be floats (seconds), found {dtype}")
    exact = Fraction(repr(dt))  # the decimal as typed: 0.004 -> 1/250
    p, q = exact.numerator, exact.denominator
    edges64 = np.array([p * i / q for i in range(int(steps))], dtype=np.float64)  # int/int rounds correctly
    edges = edges64.astype(dtype).astype(np.float64)
    if not np.all(np.isfinite(edges)):
        raise EvsimError(f"--dt {dt} x --steps {steps} overflows the file's {dtype} spike times")
    return edges


def bin_spikes(
    times: Sequence[np.ndarray],
    units: Sequence[np.ndarray],
    edges: np.ndarray,
    *,
    source: str = "spike lists",
    first_id: int = 0,
) -> EventBatch:
    """One EventBatch (binary, 700 channels, len(edges) steps) from per-sample spike lists.

    `edges` comes from `bin_edges`.  Errors name `source` and the sample (first_id + position).
    Works sample by sample, so besides the result it holds one sample's temporaries only.
    """
    n = len(times)
    steps = len(edges)
    if len(units) != n:
        raise EvsimError(f"{source}: {n} time lists but {len(units)} unit lists")
    counts = np.zeros((n, steps), dtype=np.int64)
    channels: list[np.ndarray] = []
    for b in range(n):
        t, u = np.asarray(times[b]).ravel(), np.asarray(units[b]).ravel()
        where = f"{source}: sample {first_id + b}"
        if len(t) != len(u):
            raise EvsimError(f"{where} has {len(t)} spike times but {len(u)} units")
        if not len(t):
            continue
        if t.dtype.kind not in "fiu":
            raise EvsimError(f"{where}: spike times must be numbers, found {t.dtype}")
        if u.dtype.kind not in "iu":
            if u.dtype.kind == "f" and np.all(u == np.round(u)):
                u = u.astype(np.int64)
            else:
                raise EvsimError(f"{where}: spike units must be integers, found {u.dtype}")
        bad = ~np.isfinite(t)
        if bad.any():
            raise EvsimError(f"{where} has a spike time that is {t[np.argmax(bad)]}")
        bad = (u < 0) | (u >= N_CHANNELS)
        if bad.any():
            raise EvsimError(f"{where} has unit {u[np.argmax(bad)]}, outside 0..{N_CHANNELS - 1}")
        step = np.searchsorted(edges, t, side="left")  # first step whose edge >= t; t <= 0 -> 0
        keep = (step < steps) & (u > 0)
        # one key per (step, channel): sorted and made unique in one go
        key = np.unique(step[keep] * N_CHANNELS + (N_CHANNELS - u[keep].astype(np.int64)))
        counts[b] = np.bincount(key // N_CHANNELS, minlength=steps)
        channels.append((key % N_CHANNELS).astype(np.int32))
    flat = np.zeros(n * steps + 1, dtype=np.int64)
    np.cumsum(counts.ravel(), out=flat[1:])
    step_ptr = np.empty((n, steps + 1), dtype=np.int64)
    step_ptr[:, :steps] = flat[:-1].reshape(n, steps)
    step_ptr[:, steps] = flat[steps::steps] if n else 0
    channel = np.concatenate(channels) if channels else np.zeros(0, dtype=np.int32)
    return EventBatch(steps, N_CHANNELS, step_ptr, channel, np.ones(len(channel)))


# ------------------------------------------------------------------------------------------------
# the files


def _find(data_dir: Path, task: str, split: str) -> Path:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise EvsimError(f"{task}: data directory {data_dir} does not exist")
    name = f"{task}_{split}.h5"
    candidates = [f"{task}/{name}", f"{task}/{name}.gz", name, f"{name}.gz"]
    for rel in candidates:
        if (data_dir / rel).is_file():
            return data_dir / rel
    raise EvsimError(f"{task}: none of {', '.join(candidates)} found under {data_dir}")


def _gunzip_to_temp(path: Path) -> str:
    """Decompress `path` into a fresh temporary file; its path."""
    fd, tmp = tempfile.mkstemp(prefix=f"evsim-{path.name[:-3]}-", suffix=".h5")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        os.unlink(tmp)
        raise EvsimError(f"{path}: not a complete gzip file ({exc})") from None
    except OSError as exc:
        os.unlink(tmp)
        raise EvsimError(
            f"{path}: could not decompress into {tempfile.gettempdir()} ({exc}); gunzip it by hand "
            "or set TMPDIR to a disk with room"
        ) from None
    except BaseException:  # interrupted: leave nothing behind
        os.unlink(tmp)
        raise
    return tmp


def _open_h5(path: Path):
    """(h5py.File, temporary path to delete at close or None)."""
    import h5py

    tmp = _gunzip_to_temp(path) if path.name.endswith(".gz") else None
    try:
        f = h5py.File(tmp or path, "r")
    except (OSError, ValueError) as exc:
        if tmp:
            os.unlink(tmp)
        what = "decompressed content" if tmp else "file"
        raise EvsimError(f"{path}: {what} is not a readable HDF5 file ({exc})") from None
    if tmp:
        try:  # POSIX: the open handle keeps the data; nothing is left behind even on a crash
            os.unlink(tmp)
            tmp = None
        except OSError:  # Windows: deleted at close instead
            pass
    return f, tmp


def _vlen(f, name: str, path: Path, kinds: str):
    import h5py

    if name not in f or not isinstance(f[name], h5py.Dataset):
        top = ", ".join(sorted(f.keys())) or "nothing"
        raise EvsimError(f"{path}: no dataset '{name}' (the file holds: {top}); not an SHD/SSC file?")
    ds = f[name]
    base = h5py.check_vlen_dtype(ds.dtype)
    if ds.ndim != 1 or base is None:
        raise EvsimError(f"{path}: '{name}' is not a 1-D variable-length array per sample ({ds.dtype}, shape {ds.shape})")
    if base.kind not in kinds:
        raise EvsimError(f"{path}: '{name}' holds {base}, expected {'floats' if kinds == 'f' else 'integers'}")
    return ds, base


def _close(f, tmp):
    try:
        f.close()
    except Exception:
        pass
    if tmp:
        try:
            os.unlink(tmp)
        except OSError:
            pass


class SpikeDataset:
    """SHD or SSC split: lazily read, binned per batch."""

    per_step_labels = False
    n_channels = N_CHANNELS

    def __init__(self, name: str, path: Path, split: str, dt: float, steps: int):
        self.name = name
        self.path = path
        self.source = str(path)
        self.n_classes = N_CLASSES[name]
        self.n_steps = int(steps)
        self._file, tmp = _open_h5(path)
        self._finalizer = weakref.finalize(self, _close, self._file, tmp)
        try:
            self._setup(split, dt)
        except BaseException:
            self.close()
            raise

    def _setup(self, split: str, dt: float) -> None:
        f, path = self._file, self.path
        self._times, times_dtype = _vlen(f, "spikes/times", path, "f")
        self._units, _ = _vlen(f, "spikes/units", path, "iu")
        if "labels" not in f or not hasattr(f["labels"], "dtype"):
            raise EvsimError(f"{path}: no dataset 'labels'; not an SHD/SSC file?")
        try:
            labels = np.asarray(f["labels"][()])
        except (OSError, RuntimeError, ValueError) as exc:
            raise EvsimError(f"{path}: 'labels' could not be read ({exc})") from None
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise EvsimError(f"{path}: 'labels' must be one integer per sample, found {labels.dtype} of shape {labels.shape}")
        n = len(labels)
        if len(self._times) != n or len(self._units) != n:
            raise EvsimError(
                f"{path}: {len(self._times)} spike time lists, {len(self._units)} unit lists and {n} labels; they must agree"
            )
        bad = np.flatnonzero((labels < 0) | (labels >= self.n_classes))
        if len(bad):
            raise EvsimError(
                f"{path}: sample {bad[0]} has label {labels[bad[0]]}, outside 0..{self.n_classes - 1} "
                f"({self.name} has {self.n_classes} classes; {len(bad)} such samples)"
            )
        self.labels = labels.astype(np.int64)
        self.n_samples = n
        self.edges = bin_edges(dt, self.n_steps, times_dtype)
        self.info: dict[str, Any] = {
            "split": split,
            "dt": dt,
            "step_seconds": dt,
            "steps": self.n_steps,
            "times_dtype": str(times_dtype),
            "binning": "step i: (i-1)*dt < t <= i*dt (edges in the times' precision); unit u>0 -> channel 700-u; binary",
        }
        classes = self._class_names()
        if classes:
            self.info["classes"] = classes

    def _class_names(self) -> list[str] | None:
        try:
            keys = self._file["extra/keys"][()]
            names = [k.decode() if isinstance(k, bytes) else str(k) for k in np.asarray(keys).ravel()]
        except Exception:  # optional metadata: absent or odd is fine
            return None
        return names if len(names) == self.n_classes else None

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> "SpikeDataset":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The raw spike lists (object arrays of times, units) of samples start..stop-1."""
        if not self._finalizer.alive:
            raise EvsimError(f"{self.path}: the data set has been closed")
        try:
            return self._times[start:stop], self._units[start:stop]
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            raise EvsimError(f"{self.path}: samples {start}..{stop - 1} could not be read ({exc}); truncated or damaged file?") from None

    def batches(self, batch_size: int, offset: int = 0, limit: int | None = None) -> Iterator[Batch]:
        for start, stop in batch_ranges(self.n_samples, batch_size, offset, limit):
            times, units = self.read(start, stop)
            inputs = bin_spikes(times, units, self.edges, source=self.source, first_id=start)
            yield Batch(inputs=inputs, labels=self.labels[start:stop], sample_ids=np.arange(start, stop))


def _opener(task: str):
    def open_spikes(data_dir: Path, split: str = "test", dt: float = DEFAULT_DT, steps: int = DEFAULT_STEPS) -> SpikeDataset:
        if split not in SPLITS[task]:
            raise EvsimError(f"{task}: --split must be one of {', '.join(SPLITS[task])}, got '{split}'")
        bin_edges(dt, steps)  # option errors before any file work
        return SpikeDataset(task, _find(data_dir, task, split), split, float(dt), int(steps))

    open_spikes.__name__ = f"open_{task}"
    return open_spikes


open_shd = _opener("shd")
open_ssc = _opener("ssc")


def _options(task: str) -> list[TaskOption]:
    return [
        TaskOption("split", str, "test", f"which file: {' or '.join(SPLITS[task])} ({task}_SPLIT.h5[.gz])"),
        TaskOption("dt", float, DEFAULT_DT, "bin width in seconds: step i holds (i-1)*dt < t <= i*dt"),
        TaskOption("steps", int, DEFAULT_STEPS, "steps per sample; spikes after (steps-1)*dt are dropped"),
    ]


SPEC_SHD = TaskSpec(
    name="shd",
    summary="Spiking Heidelberg Digits: 700 binary channels, 250 steps of 4 ms, 20 classes per sample",
    files=["shd_test.h5", "shd_train.h5"],
    open=open_shd,
    options=_options("shd"),
)

SPEC_SSC = TaskSpec(
    name="ssc",
    summary="Spiking Speech Commands: 700 binary channels, 250 steps of 4 ms, 35 classes per sample",
    files=["ssc_test.h5", "ssc_valid.h5", "ssc_train.h5"],
    open=open_ssc,
    options=_options("ssc"),
)

# registry entries (tasks/__init__.py registers `entry.SPEC`; this module holds two tasks)
SHD = SimpleNamespace(SPEC=SPEC_SHD)
SSC = SimpleNamespace(SPEC=SPEC_SSC)
