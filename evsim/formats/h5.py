"""evsim's model file (`model.h5`), version 2 (version-1 files still load).  The layout is
documented in docs/format.md.

Reading first walks the whole file once (refusing links, virtual datasets and oversized or
over-compressed data before reading them), hashes its content against the stored checksum,
then checks every group, attribute, shape and dtype, so a broken or hostile file gives one
`EvsimError` line naming the file and the HDF5 path.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import EvsimError
from ..model import MAX_DELAY, MAX_SIZE, MAX_STEP, GoldenRecord, InitialState, Layer, LayerInit, Network, Projection, Readout
from ..neurons import get as neuron_type
from ..neurons import legacy_layer

FORMAT = "evsim-model"
VERSION = 2
READS = (1, 2)
MAX_ELEMENTS = 1 << 28  # refuse any single dataset above 2 GiB of float64: a hostile size


def save_network(network: Network, path: str | Path) -> None:
    """Write `network` to `path` (overwritten).  Read back by `load_network`, exactly."""
    import h5py

    network.validate()
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = VERSION
        f.attrs["name"] = network.name
        f.attrs["n_inputs"] = network.n_inputs
        f.attrs["dt"] = float(network.dt)
        f.attrs["discretization"] = network.discretization
        f.attrs["metadata"] = json.dumps(network.metadata, sort_keys=True)
        if network.reset_interval:
            f.attrs["reset_interval"] = network.reset_interval
            f.attrs["reset_offsets"] = json.dumps(network.reset_offsets, sort_keys=True)
        layers = f.create_group("layers")
        layers.attrs["order"] = json.dumps([layer.name for layer in network.layers])
        for layer in network.layers:
            g = layers.create_group(layer.name)
            g.attrs["neuron"] = layer.neuron
            g.attrs["size"] = layer.size
            g.attrs["options"] = json.dumps(layer.options, sort_keys=True)
            params = g.create_group("params")
            for key, value in layer.params.items():
                params.create_dataset(key, data=np.asarray(value, dtype=np.float64))
        projections = f.create_group("projections")
        projections.attrs["count"] = len(network.projections)
        for i, p in enumerate(network.projections):
            g = projections.create_group(str(i))
            g.attrs["source"] = p.source
            g.attrs["target"] = p.target
            g.attrs["delay"] = p.delay
            g.create_dataset("weight", data=p.weight, compression="gzip", shuffle=True)
            g.create_dataset("bias", data=p.bias)
        r = f.create_group("readout")
        r.attrs["layer"] = network.readout.layer
        r.attrs["variable"] = network.readout.variable
        r.attrs["aggregate"] = network.readout.aggregate
        r.attrs["from_step"] = network.readout.from_step
        init = f.create_group("initial_state")
        _write_layer_init(init.create_group("default"), network.initial_state.default)
        for name, rule in network.initial_state.layers.items():
            _write_layer_init(init.create_group(f"layers/{name}"), rule)
        golden = f.create_group("golden")
        golden.attrs["count"] = len(network.golden)
        for i, rec in enumerate(network.golden):
            g = golden.create_group(str(i))
            g.create_dataset("input", data=rec.input, compression="gzip", shuffle=True)
            g.create_dataset("output", data=rec.output, compression="gzip", shuffle=True)
            g.attrs["init"] = rec.init
            g.attrs["tolerance"] = float(rec.tolerance)
            g.attrs["label"] = -1 if rec.label is None else int(rec.label)
        f.attrs[CHECKSUM_ATTR] = content_checksum(f)


def _write_layer_init(g, rule: LayerInit) -> None:
    g.attrs["mem"] = rule.mem
    g.attrs["scale"] = rule.scale if isinstance(rule.scale, str) else float(rule.scale)


# ---- structural checks and the content checksum ----------------------------------------------
#
# Reading starts with one walk over the whole file that decides whether it is safe to read at all
# (no links to other files, no virtual datasets, no soft links, bounded sizes, bounded object
# count and depth) and, on the way, reads every attribute and dataset into a plain snapshot and
# hashes it.  Everything after the walk works on the snapshot: h5py is called only in the walk,
# so only h5py's own failures are reported as corrupt content, never a bug in evsim.

CHECKSUM_ATTR = "content_sha256"
MAX_OBJECTS = 100_000  # groups + datasets: far above any model, far below a hang
MAX_DEPTH = 8
MAX_ATTR_ELEMENTS = 1 << 20  # an attribute is a scalar or a short string in every valid file
MAX_COMPRESSION = 100  # logical / stored bytes above SMALL_BYTES: real weights compress ~1-2x, a gzip bomb ~1000x
SMALL_BYTES = 1 << 24  # datasets below 16 MiB are read whatever their compression


def _h5_call(where: str, what: str, fn, *args):
    """Call into h5py; its failures (corrupt B-trees, truncated chunks, bad filters) name the path."""
    try:
        return fn(*args)
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError, UnicodeDecodeError) as exc:
        raise EvsimError(f"{where}: {what} ({type(exc).__name__}: {exc})") from None


def _names(where: str, what: str, names: list) -> list[str]:
    """Sorted names; h5py hands back bytes for a name that is not UTF-8 (a damaged file)."""
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise EvsimError(f"{where}: a {what} name is not UTF-8 text ({bad[0]!r})")
    return sorted(names)


def _canonical_attr(value) -> bytes:
    """Bytes of an attribute value that depend only on its content (for the checksum)."""
    if isinstance(value, str):
        return b"s" + value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return b"b" + value
    arr = np.asarray(value)
    if arr.dtype.kind in "OUS":
        return b"o" + json.dumps([str(v) for v in arr.ravel().tolist()]).encode()
    return b"n" + arr.dtype.str.encode() + repr(arr.shape).encode() + np.ascontiguousarray(arr).tobytes()


class _Snapshot:
    """Every group, attribute and dataset of a file, read and hashed in one checked walk."""

    def __init__(self, f):
        import hashlib

        self.groups: set[str] = set()
        self.attrs: dict[str, dict[str, object]] = {}
        self.data: dict[str, np.ndarray] = {}
        self.digest = hashlib.sha256()
        self.stored_checksum: str | None = None
        self.elements = 0
        self.objects = 0
        self._walk(f, "/", 0)
        self.checksum = self.digest.hexdigest()

    def _update(self, tag: bytes, *parts: bytes) -> None:
        for part in (tag, *parts):
            self.digest.update(len(part).to_bytes(8, "little"))
            self.digest.update(part)

    def _read_attrs(self, obj, where: str) -> None:
        names = _names(where, "attribute", _h5_call(where, "attributes cannot be listed", lambda: list(obj.attrs.keys())))
        values = {}
        for name in names:
            aid = _h5_call(where, f"attribute '{name}' cannot be opened", obj.attrs.get_id, name)
            n = int(np.prod(aid.shape, dtype=np.float64)) if aid.shape else 1
            if n > MAX_ATTR_ELEMENTS:
                raise EvsimError(f"{where}: attribute '{name}' holds {n} values (at most {MAX_ATTR_ELEMENTS})")
            value = _h5_call(where, f"attribute '{name}' cannot be read", obj.attrs.__getitem__, name)
            if where == "/" and name == CHECKSUM_ATTR:
                self.stored_checksum = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
                continue
            values[name] = value
            self._update(b"A", where.encode(), name.encode("utf-8", "surrogatepass"), _canonical_attr(value))
        self.attrs[where] = values

    def _walk(self, group, where: str, depth: int) -> None:
        import h5py

        if depth > MAX_DEPTH:
            raise EvsimError(f"{where}: groups nested deeper than {MAX_DEPTH} levels")
        self.groups.add(where)
        self._update(b"G", where.encode())
        self._read_attrs(group, where)
        names = _names(where, "member", _h5_call(where, "group cannot be listed", lambda: list(group.keys())))
        for name in names:
            path = f"{where.rstrip('/')}/{name}"
            self.objects += 1
            if self.objects > MAX_OBJECTS:
                raise EvsimError(f"{where}: more than {MAX_OBJECTS} objects in the file")
            link = _h5_call(path, "link cannot be read", group.get, name, None, False, True)
            if isinstance(link, h5py.ExternalLink):
                raise EvsimError(f"{path}: an external link (to {link.filename}); a model file must hold its own data")
            if isinstance(link, h5py.SoftLink):
                raise EvsimError(f"{path}: a soft link (to {link.path}); a model file holds plain groups and datasets")
            obj = _h5_call(path, "object cannot be opened", group.__getitem__, name)
            if isinstance(obj, h5py.Group):
                self._walk(obj, path, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                self._read_dataset(obj, path)
            else:
                raise EvsimError(f"{path}: neither a group nor a dataset")

    def _read_dataset(self, ds, where: str) -> None:
        if _h5_call(where, "dataset cannot be inspected", lambda: ds.is_virtual):
            raise EvsimError(f"{where}: a virtual dataset (its data live in other files); a model file must hold its own data")
        dtype = ds.dtype
        if dtype.kind not in "fiu":
            raise EvsimError(f"{where}: expected numbers, found dtype {dtype}")
        n = int(np.prod(ds.shape, dtype=np.float64)) if ds.shape else 1
        self.elements += n
        if n > MAX_ELEMENTS or self.elements > MAX_ELEMENTS:
            raise EvsimError(f"{where}: the file holds more than {MAX_ELEMENTS} values (2^28), evsim's limit")
        logical = n * dtype.itemsize
        if logical > SMALL_BYTES:
            stored = _h5_call(where, "storage size cannot be read", ds.id.get_storage_size)
            if logical > MAX_COMPRESSION * max(stored, 1):
                raise EvsimError(
                    f"{where}: {logical:,} bytes stored in {stored:,} (more than {MAX_COMPRESSION}:1): refused as a compression bomb"
                )
        data = np.ascontiguousarray(_h5_call(where, "cannot be read", ds.__getitem__, ()))
        self.data[where] = data
        self._update(b"D", where.encode(), dtype.str.encode(), repr(tuple(ds.shape)).encode(), data.tobytes())
        self._read_attrs(ds, where)


def content_checksum(f) -> str:
    """SHA-256 over every group, attribute (but this one) and dataset of an open file, in path order.

    It hashes the file's content, not its layout on disk, so it holds for any format version:
    a writer stores it as the root attribute `content_sha256` after writing everything else.
    """
    return _Snapshot(f).checksum


class _Reader:
    """Checked access to a file's snapshot; every error names the file and the HDF5 path."""

    def __init__(self, snap: _Snapshot, path: Path):
        self.snap = snap
        self.path = path

    def fail(self, where: str, what: str) -> EvsimError:
        return EvsimError(f"{self.path}: {where}: {what}")

    def has(self, where: str) -> bool:
        where = "/" + where.strip("/")
        return where in self.snap.groups or where in self.snap.data

    def group(self, where: str) -> list[str]:
        """The names directly under a group (which must exist)."""
        where = "/" + where.strip("/")
        if where not in self.snap.groups:
            raise self.fail(where, "expected a group" if where in self.snap.data else "group is missing")
        prefix = where.rstrip("/") + "/"
        names = {p[len(prefix):].split("/", 1)[0] for p in (*self.snap.groups, *self.snap.data) if p.startswith(prefix)}
        return sorted(names)

    def attr(self, where: str, key: str, kind: type):
        where = "/" + where.strip("/")
        attrs = self.snap.attrs.get(where, {})
        if key not in attrs:
            raise self.fail(where, f"attribute '{key}' is missing")
        value = attrs[key]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, np.ndarray):
            if value.size != 1:
                raise self.fail(where, f"attribute '{key}' must be a single value")
            value = value.reshape(()).item()
        elif isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if kind is str:
            if not isinstance(value, str):
                raise self.fail(where, f"attribute '{key}' must be a string, found {type(value).__name__}")
            return value
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
                raise self.fail(where, f"attribute '{key}' must be an integer, found {value!r}")
            return int(value)
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(where, f"attribute '{key}' must be a number, found {value!r}")
            if not np.isfinite(value):
                raise self.fail(where, f"attribute '{key}' must be finite, found {value!r}")
            return float(value)
        if isinstance(value, complex):
            raise self.fail(where, f"attribute '{key}' must be real, found {value!r}")
        return value

    def int_attr(self, where: str, key: str, lo: int, hi: int) -> int:
        value = self.attr(where, key, int)
        if not lo <= value <= hi:
            raise self.fail(where, f"attribute '{key}' is {value}, outside {lo}..{hi}")
        return value

    def array(self, where: str, shape: tuple[int, ...]) -> np.ndarray:
        data = self.snap.data.get(where)
        if data is None:
            raise self.fail(where, "expected a dataset" if where in self.snap.groups else "dataset is missing")
        if tuple(data.shape) != tuple(shape):
            raise self.fail(where, f"expected shape {tuple(shape)}, found {tuple(data.shape)}")
        data = data.astype(np.float64)
        if not np.all(np.isfinite(data)):
            raise self.fail(where, "holds NaN or infinite values")
        return data

    def shape_of(self, where: str, ndim: int) -> tuple[int, ...]:
        data = self.snap.data.get(where)
        if data is None:
            raise self.fail(where, "dataset is missing")
        if data.ndim != ndim:
            raise self.fail(where, f"unexpected shape {data.shape}")
        return tuple(int(n) for n in data.shape)


def load_network(path: str | Path) -> Network:
    """Read a model file written by `save_network` (or by any writer following docs/format.md)."""
    return read_network(path)[0]


def read_network(path: str | Path) -> tuple[Network, str]:
    """A model file's Network and its integrity: 'verified' (the stored content checksum
    matches) or 'absent' (a file written before checksums, or by a writer that stores none).
    A checksum that does not match is an error: the content changed after it was written."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise EvsimError(f"{path}: file not found")
    if path.is_dir():
        raise EvsimError(f"{path}: is a directory, expected a model file")
    try:
        f = h5py.File(path, "r")
    except Exception:
        raise EvsimError(f"{path}: not an HDF5 file (or truncated)") from None
    try:
        with f:
            if _h5_call("/", "attributes cannot be read", f.attrs.get, "format") not in (FORMAT, FORMAT.encode()):
                raise EvsimError(f"/: not an evsim model file (attribute 'format' is not '{FORMAT}')")
            snap = _Snapshot(f)
        # Content errors first (they say what is wrong); a file that reads as a valid model but
        # differs from what was written (a flipped digit in dt, a changed weight) fails here.
        network = _read(_Reader(snap, path))
        if snap.stored_checksum is not None and snap.stored_checksum != snap.checksum:
            raise EvsimError(
                f"/: content checksum mismatch (stored {snap.stored_checksum[:16]}..., content {snap.checksum[:16]}...): "
                "the file changed after it was written"
            )
    except EvsimError as exc:
        msg = str(exc)
        raise EvsimError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
    except OSError as exc:  # closing a corrupt file
        raise EvsimError(f"{path}: corrupt HDF5 content ({exc})") from None
    return network, "verified" if snap.stored_checksum is not None else "absent"


def _read(r: _Reader) -> Network:
    version = r.attr("/", "format_version", int)
    if version not in READS:
        raise r.fail("/", f"format_version {version} is not supported (this evsim reads versions {', '.join(map(str, READS))})")
    dt = r.attr("/", "dt", float)
    n_inputs = r.int_attr("/", "n_inputs", 1, MAX_SIZE)
    try:
        metadata = json.loads(r.attr("/", "metadata", str))
    except (json.JSONDecodeError, RecursionError):
        raise r.fail("/", "attribute 'metadata' is not valid JSON") from None
    if not isinstance(metadata, dict):
        raise r.fail("/", f"attribute 'metadata' must be a JSON object, found {type(metadata).__name__}")
    r.group("layers")
    try:
        order = json.loads(r.attr("/layers", "order", str))
    except json.JSONDecodeError:
        raise r.fail("/layers", "attribute 'order' is not valid JSON") from None
    if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
        raise r.fail("/layers", "attribute 'order' must be a JSON list of layer names")
    layers = []
    for name in order:
        where = f"/layers/{name}"
        r.group(where)
        neuron = r.attr(where, "neuron", str)
        size = r.int_attr(where, "size", 1, MAX_SIZE)
        if version == 1:
            tau_m = r.array(f"{where}/tau_m", (size,))
            old = {key: None for key in ("tau_adp", "beta", "b_j0")}
            if neuron != "leaky-integrator":
                old = {key: r.array(f"{where}/{key}", (size,)) for key in old}
            neuron, params, options = legacy_layer(neuron, size, tau_m, r_m=r.attr("/", "r_m", float), dt=dt, where=where, **old)
        else:
            t = neuron_type(neuron, where)
            stored = r.group(f"{where}/params")
            names = [p.name for p in t.params]
            unknown = sorted(set(stored) - set(names))
            if unknown:
                raise r.fail(f"{where}/params", f"{t.name} has no parameter(s) {', '.join(unknown)}")
            params = {key: r.array(f"{where}/params/{key}", (size,)) for key in names if key in stored}
            try:
                options = json.loads(r.attr(where, "options", str))
            except (json.JSONDecodeError, RecursionError):
                raise r.fail(where, "attribute 'options' is not valid JSON") from None
            if not isinstance(options, dict):
                raise r.fail(where, "attribute 'options' must be a JSON object")
        layers.append(Layer(name=name, size=size, neuron=neuron, params=params, options=options))
    sizes = {layer.name: layer.size for layer in layers}
    sizes["input"] = n_inputs
    r.group("projections")
    count = r.int_attr("/projections", "count", 0, 10_000)
    projections = []
    for i in range(count):
        where = f"/projections/{i}"
        r.group(where)
        source = r.attr(where, "source", str)
        target = r.attr(where, "target", str)
        for end, name in (("source", source), ("target", target)):
            if name not in sizes:
                raise r.fail(where, f"{end} '{name}' is not a layer of this file")
        shape = (sizes[target], sizes[source])
        projections.append(
            Projection(
                source=source,
                target=target,
                weight=r.array(f"{where}/weight", shape),
                bias=r.array(f"{where}/bias", (shape[0],)),
                delay=r.int_attr(where, "delay", 0, MAX_DELAY),
            )
        )
    r.group("readout")
    readout = Readout(
        layer=r.attr("/readout", "layer", str),
        variable=r.attr("/readout", "variable", str),
        aggregate=r.attr("/readout", "aggregate", str),
        from_step=r.int_attr("/readout", "from_step", 0, MAX_STEP),
    )
    initial = InitialState(default=_read_layer_init(r, "/initial_state/default"))
    if "layers" in r.group("/initial_state"):
        for name in r.group("/initial_state/layers"):
            initial.layers[name] = _read_layer_init(r, f"/initial_state/layers/{name}")
    golden = []
    if r.has("/golden"):
        count = r.int_attr("/golden", "count", 0, 10_000)
        ro_size = sizes.get(readout.layer, 0)
        for i in range(count):
            where = f"/golden/{i}"
            r.group(where)
            steps = r.shape_of(f"{where}/input", 2)[0]
            label = r.int_attr(where, "label", -1, MAX_SIZE)
            golden.append(
                GoldenRecord(
                    input=r.array(f"{where}/input", (steps, n_inputs)),
                    output=r.array(f"{where}/output", (steps, ro_size)),
                    init=r.attr(where, "init", str),
                    label=None if label < 0 else label,
                    tolerance=r.attr(where, "tolerance", float),
                )
            )
    return Network(
        name=r.attr("/", "name", str),
        n_inputs=n_inputs,
        layers=layers,
        projections=projections,
        readout=readout,
        initial_state=initial,
        dt=dt,
        discretization="exact" if version == 1 else r.attr("/", "discretization", str),
        metadata=metadata,
        golden=golden,
        **_read_resets(r),
    )


def _read_resets(r: _Reader) -> dict:
    """reset_interval and reset_offsets (optional attributes: absent means never)."""
    if "reset_interval" not in r.snap.attrs.get("/", {}):
        return {}
    try:
        offsets = json.loads(r.attr("/", "reset_offsets", str))
    except (json.JSONDecodeError, RecursionError):
        raise r.fail("/", "attribute 'reset_offsets' is not valid JSON") from None
    if not isinstance(offsets, dict):
        raise r.fail("/", "attribute 'reset_offsets' must be a JSON object")
    return {"reset_interval": r.int_attr("/", "reset_interval", 0, MAX_STEP), "reset_offsets": offsets}


def _read_layer_init(r: _Reader, where: str) -> LayerInit:
    r.group(where)
    scale = r.attr(where, "scale", object)
    if not isinstance(scale, (str, int, float)) or isinstance(scale, bool) or (isinstance(scale, float) and not np.isfinite(scale)):
        raise r.fail(where, f"attribute 'scale' must be a number or 'b_j0', found {scale!r}")
    return LayerInit(mem=r.attr(where, "mem", str), scale=scale)
