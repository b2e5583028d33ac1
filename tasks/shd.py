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

from .base import MAX_STEPS, Batch, TaskOption, TaskSpec, batch_ranges, check_count

N_CHANNELS = 700
DEFAULT_DT = 0.004
DEFAULT_STEPS = 250
MAX_SAMPLES = 10_000_000  # SSC's training split has 75,466
MOST_DROPPED = 0.5  # refuse a run once more than half of the spikes read fall after the window
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
    check_count(steps, 1, MAX_STEPS, "--steps")
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
    tally: dict[str, int] | None = None,
) -> EventBatch:
    """One EventBatch (binary, 700 channels, len(edges) steps) from per-sample spike lists.

    `edges` comes from `bin_edges`.  Errors name `source` and the sample (first_id + position).
    `tally`, when given, accumulates `spikes` read and those `after_last_step` (dropped).
    Works sample by sample, so besides the result it holds one sample's temporaries only.
    """
    n = len(times)
    steps = len(edges)
    if len(units) != n:
        raise EvsimError(f"{source}: {n} time lists but {len(units)} unit lists")
    counts = np.zeros((n, steps), dtype=np.int64)
    channels: list[np.ndarray] = []
    if tally is None:
        tally = {}
    tally.setdefault("spikes", 0)
    tally.setdefault("after_last_step", 0)
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
        late = step >= steps
        tally["spikes"] += len(t)
        tally["after_last_step"] += int(late.sum())
        keep = ~late & (u > 0)
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
    return f, tmp


def _unlink_early(tmp):
    """POSIX: the open handle keeps the data; nothing is left behind even on a crash (called
    once the file's structure has been checked, which reads it by name).  None when done."""
    if tmp:
        try:
            os.unlink(tmp)
            return None
        except OSError:  # Windows: deleted at close instead
            pass
    return tmp


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


def _check_global_heap(fh, addr: int, file_size: int, path: Path, name: str) -> dict[int, bytes]:
    """A global heap collection ("GCOL", HDF5 file format spec III.E) whose object sizes add up
    within the collection; a damaged size makes the HDF5 library loop instead of failing."""
    bad = EvsimError(f"{path}: '{name}': damaged variable-length data heap at byte {addr}")
    if addr + 16 > file_size:
        raise bad
    fh.seek(addr)
    head = fh.read(16)
    size = int.from_bytes(head[8:16], "little")
    if head[:4] != b"GCOL" or size < 16 or addr + size > file_size:
        raise bad
    body = fh.read(size - 16)
    objects: dict[int, bytes] = {}
    pos = 0
    while pos + 16 <= len(body):
        index = int.from_bytes(body[pos : pos + 2], "little")
        obj_size = int.from_bytes(body[pos + 8 : pos + 16], "little")
        if index == 0:  # the free-space object ends the collection
            return objects
        if pos + 16 + obj_size > len(body) or index in objects:
            raise bad
        objects[index] = body[pos + 16 : pos + 16 + obj_size]
        pos += 16 + obj_size + (-obj_size % 8)
    return objects


class RawVlen:
    """A contiguous variable-length dataset read from the file's own bytes: the 16-byte refs,
    then each element from its global heap collection, checked (_check_global_heap) before use.

    HDF5's heap code loops on some damaged heaps (tests/test_fuzz.py), inside C code nothing can
    interrupt; this reader cannot.  `of` returns None for storage it does not handle (chunked,
    big-endian, 4-byte addresses): those are read through h5py."""

    REF = np.dtype([("n", "<u4"), ("addr", "<u8"), ("index", "<u4")])

    def __init__(self, fd: int, refs: np.ndarray, dtype: np.dtype, file_size: int, path: Path, name: str):
        self.fd, self.refs, self.dtype, self.file_size = fd, refs, dtype, file_size
        self.path, self.name = path, name
        self.heaps: dict[int, dict[int, bytes]] = {}

    @classmethod
    def of(cls, ds, base: np.dtype, path: Path, name: str) -> "RawVlen | None":
        import h5py

        try:
            offset = ds.id.get_offset()
            addr_size = ds.file.id.get_create_plist().get_sizes()[0]
            little = base.itemsize == 1 or ds.id.get_type().get_super().get_order() == h5py.h5t.ORDER_LE
        except Exception:
            return None
        if offset is None or addr_size != 8 or ds.ndim != 1 or not little:
            return None
        fd = os.open(ds.file.filename, os.O_RDONLY)
        file_size = os.fstat(fd).st_size
        n = ds.shape[0]
        raw = os.pread(fd, cls.REF.itemsize * n, offset)
        if len(raw) < cls.REF.itemsize * n:
            os.close(fd)
            raise EvsimError(f"{path}: '{name}' is truncated")
        return cls(fd, np.frombuffer(raw, cls.REF).copy(), base.newbyteorder("<"), file_size, path, name)

    def _heap(self, addr: int) -> dict[int, bytes]:
        if addr not in self.heaps:
            if len(self.heaps) > 64:  # samples are read in order: a few collections at a time
                self.heaps.clear()
            self.heaps[addr] = _check_global_heap(_FdReader(self.fd), addr, self.file_size, self.path, self.name)
        return self.heaps[addr]

    def __getitem__(self, sl: slice) -> np.ndarray:
        refs = self.refs[sl]
        out = np.empty(len(refs), dtype=object)
        for i, r in enumerate(refs):
            count = int(r["n"])
            if count == 0:
                out[i] = np.zeros(0, self.dtype)
                continue
            obj = self._heap(int(r["addr"])).get(int(r["index"]))
            if obj is None or len(obj) < count * self.dtype.itemsize:
                raise EvsimError(f"{self.path}: '{self.name}': element {sl.start + i} points at a missing or short heap object: damaged")
            out[i] = np.frombuffer(obj, self.dtype, count=count)
        return out

    def __len__(self) -> int:
        return len(self.refs)

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class _FdReader:
    """seek/read over a file descriptor, for _check_global_heap."""

    def __init__(self, fd: int):
        self.fd, self.pos = fd, 0

    def seek(self, pos: int) -> None:
        self.pos = pos

    def read(self, n: int) -> bytes:
        data = os.pread(self.fd, n, self.pos)
        self.pos += len(data)
        return data


def _close(f, tmp, raw=()):
    for r in raw:
        r.close()
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
        self.dt = float(dt)
        self.dropped = {"spikes": 0, "after_last_step": 0}
        self._file, tmp = _open_h5(path)
        self._raw: list[RawVlen] = []
        self._finalizer = weakref.finalize(self, _close, self._file, tmp, self._raw)
        try:
            self._setup(split, dt)
        except (OSError, RuntimeError, KeyError) as exc:
            # h5py's own failures on a damaged file (bad B-tree, missing message type)
            self.close()
            raise EvsimError(f"{path}: damaged HDF5 content ({type(exc).__name__}: {exc})") from None
        except BaseException:
            self.close()
            raise
        if tmp and _unlink_early(tmp) is None:
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _close, self._file, None, self._raw)

    def _setup(self, split: str, dt: float) -> None:
        f, path = self._file, self.path
        self._times, times_dtype = _vlen(f, "spikes/times", path, "f")
        self._units, units_dtype = _vlen(f, "spikes/units", path, "iu")
        # read from the file's bytes where the storage allows (see RawVlen), else through h5py
        for attr, ds, dtype, name in (("_times", self._times, times_dtype, "spikes/times"), ("_units", self._units, units_dtype, "spikes/units")):
            raw = RawVlen.of(ds, dtype, path, name)
            if raw is not None:
                self._raw.append(raw)
                setattr(self, attr, raw)
        if "labels" not in f or not hasattr(f["labels"], "dtype"):
            raise EvsimError(f"{path}: no dataset 'labels'; not an SHD/SSC file?")
        if f["labels"].size > MAX_SAMPLES:
            raise EvsimError(f"{path}: 'labels' declares {f['labels'].size:,} samples (at most {MAX_SAMPLES:,})")
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
            ds = self._file["extra/keys"]
            if ds.size > 10 * self.n_classes:
                return None
            raw = RawVlen.of(ds, np.dtype("u1"), self.path, "extra/keys")  # strings: bytes
            if raw is None:
                return None
            try:
                names = [bytes(b).decode("utf-8", "replace") for b in raw[0 : len(raw)]]
            finally:
                raw.close()
        except Exception:  # optional metadata: absent or odd is fine
            return None
        return names if names is not None and len(names) == self.n_classes else None

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
        self.dropped = {"spikes": 0, "after_last_step": 0}
        first_read = offset
        for start, stop in batch_ranges(self.n_samples, batch_size, offset, limit):
            times, units = self.read(start, stop)
            inputs = bin_spikes(times, units, self.edges, source=self.source, first_id=start, tally=self.dropped)
            self.info["spikes_read"] = self.dropped["spikes"]
            self.info["spikes_after_last_step"] = self.dropped["after_last_step"]
            if self.dropped["after_last_step"] > MOST_DROPPED * self.dropped["spikes"]:
                # Times in milliseconds read as seconds put nearly every spike past the window.
                raise EvsimError(
                    f"{self.source}: {self.dropped['after_last_step']:,} of {self.dropped['spikes']:,} spikes "
                    f"(samples {first_read}..{stop - 1}) fall after the last step at {(self.n_steps - 1) * self.dt:g} s "
                    f"and would be dropped: are the times in seconds? (--dt {self.dt:g} s, --steps {self.n_steps})"
                )
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
