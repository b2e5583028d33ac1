"""Small data files in the real distributed formats, for tests and benchmarks.

- `write_spike_file`: an SHD/SSC HDF5 file (Cramer et al. 2020 layout): spikes/times (vlen
  float16), spikes/units (vlen uint16), labels (uint16), extra/speaker, extra/keys and
  extra/meta_info/{age,gender,body_height}.  As far as known the distributed files store their
  datasets uncompressed (the whole file is gzipped for download), which is the default here;
  `compression="gzip"` exercises HDF5-internal compression.  A name ending in .gz is gzipped.
- `write_idx`, `write_mnist`: MNIST IDX files (big-endian header, uint8 data), optionally .gz.

Plain functions, no pytest: `from datagen import ...` in tests (tests/ is on sys.path under
pytest), or import by path from a script.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np


def _gzip_in_place(plain: Path, target: Path) -> Path:
    with open(plain, "rb") as src, gzip.open(target, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    plain.unlink()
    return target


def write_spike_file_chunked(
    path: str | Path,
    n_samples: int,
    chunks: Iterable[tuple[Sequence[np.ndarray], Sequence[np.ndarray]]],
    labels: Sequence[int] | np.ndarray,
    *,
    times_dtype=np.float16,
    units_dtype=np.uint16,
    labels_dtype=np.uint16,
    compression: str | None = None,
    speakers: Sequence[int] | None = None,
    keys: Sequence[str] | None = None,
    spikes_group: str = "spikes",
    labels_name: str = "labels",
) -> Path:
    """Write an SHD/SSC-layout file from chunks of (times lists, units lists), in sample order.

    Memory stays at one chunk.  `spikes_group` / `labels_name` let tests write a wrong layout.
    """
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gz = path.name.endswith(".gz")
    plain = path.with_name(path.name[:-3] + ".tmp") if gz else path
    kw = {"compression": compression, "chunks": (min(max(n_samples, 1), 256),)} if compression else {}
    with h5py.File(plain, "w") as f:
        g = f.create_group(spikes_group)
        t_ds = g.create_dataset("times", shape=(n_samples,), dtype=h5py.vlen_dtype(np.dtype(times_dtype)), **kw)
        u_ds = g.create_dataset("units", shape=(n_samples,), dtype=h5py.vlen_dtype(np.dtype(units_dtype)), **kw)
        pos = 0
        for times, units in chunks:
            # one sample at a time: h5py turns an object array of equal-length arrays into 2-D
            for t, u in zip(times, units, strict=True):
                t_ds[pos] = np.asarray(t, dtype=times_dtype).ravel()
                u_ds[pos] = np.asarray(u, dtype=units_dtype).ravel()
                pos += 1
        if pos != n_samples:
            raise ValueError(f"chunks held {pos} samples, expected {n_samples}")
        f.create_dataset(labels_name, data=np.asarray(labels, dtype=labels_dtype))
        extra = f.create_group("extra")
        spk = np.asarray(speakers if speakers is not None else np.arange(n_samples) % 3, dtype=np.uint16)
        extra.create_dataset("speaker", data=spk)
        names = keys if keys is not None else [f"class-{i}" for i in range(int(np.max(labels, initial=0)) + 1)]
        extra.create_dataset("keys", data=np.array([k.encode() for k in names], dtype=object), dtype=h5py.string_dtype("ascii"))
        meta = extra.create_group("meta_info")
        n_spk = int(spk.max(initial=0)) + 1
        meta.create_dataset("age", data=np.full(n_spk, 30, dtype=np.uint16))
        meta.create_dataset("gender", data=np.array([b"female", b"male"] * n_spk, dtype=object)[:n_spk], dtype=h5py.string_dtype("ascii"))
        meta.create_dataset("body_height", data=np.full(n_spk, 1.75, dtype=np.float64))
    return _gzip_in_place(plain, path) if gz else path


def write_spike_file(
    path: str | Path,
    times: Sequence[Sequence[float]],
    units: Sequence[Sequence[int]],
    labels: Sequence[int],
    **kw,
) -> Path:
    """Write an SHD/SSC-layout file from per-sample spike lists (see write_spike_file_chunked)."""
    return write_spike_file_chunked(path, len(times), [(list(times), list(units))], labels, **kw)


def random_spikes(rng: np.random.Generator, n: int, mean_spikes: float, t_max: float = 1.0):
    """n samples of Poisson-many spikes, sorted times uniform in [0, t_max], units 0..699."""
    times, units = [], []
    for k in rng.poisson(mean_spikes, size=n):
        times.append(np.sort(rng.uniform(0.0, t_max, size=k)).astype(np.float16))
        units.append(rng.integers(0, 700, size=k).astype(np.uint16))
    return times, units


# ------------------------------------------------------------------------------------------------
# MNIST IDX


def write_idx(path: str | Path, data: np.ndarray, magic: int | None = None, *, n_override: int | None = None) -> Path:
    """An IDX file of uint8 data: magic (default 0x0800 | ndim), big-endian dims, raw bytes.

    `n_override` writes a different first dimension in the header than the data holds.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.ascontiguousarray(data, dtype=np.uint8)
    dims = list(data.shape)
    if n_override is not None:
        dims[0] = n_override
    header = np.array([magic if magic is not None else 0x0800 | data.ndim] + dims, dtype=">u4").tobytes()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header)
        f.write(data.tobytes())
    return path


def write_mnist(
    directory: str | Path,
    images: np.ndarray,
    labels: np.ndarray,
    split: str = "test",
    *,
    gz: bool = False,
) -> tuple[Path, Path]:
    """images (N, 28, 28) uint8 and labels (N,) as the split's two IDX files in `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = "t10k" if split == "test" else "train"
    ext = ".gz" if gz else ""
    img = write_idx(directory / f"{stem}-images-idx3-ubyte{ext}", images, 0x00000803)
    lab = write_idx(directory / f"{stem}-labels-idx1-ubyte{ext}", labels, 0x00000801)
    return img, lab


def random_mnist(rng: np.random.Generator, n: int, density: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """n random 28x28 uint8 images (about `density` of pixels non-zero, some at 255) and labels."""
    img = rng.integers(1, 256, size=(n, 28, 28)).astype(np.uint8)
    img[rng.random((n, 28, 28)) >= density] = 0
    img[:, 0, 0] = 255
    return img, rng.integers(0, 10, size=n).astype(np.uint8)
