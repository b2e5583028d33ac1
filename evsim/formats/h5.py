"""evsim's model file (`model.h5`), version 2 (version-1 files still load).  The layout is
documented in docs/format.md.

Reading checks every group, attribute, shape and dtype before it allocates anything, so a
broken or hostile file gives one `EvsimError` line naming the file and the HDF5 path.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import EvsimError
from ..model import GoldenRecord, InitialState, Layer, LayerInit, Network, Projection, Readout
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


def _write_layer_init(g, rule: LayerInit) -> None:
    g.attrs["mem"] = rule.mem
    g.attrs["scale"] = rule.scale if isinstance(rule.scale, str) else float(rule.scale)


class _Reader:
    """Checked access to one open file; every error names the file and the HDF5 path."""

    def __init__(self, f, path: Path):
        self.f = f
        self.path = path

    def fail(self, where: str, what: str) -> EvsimError:
        return EvsimError(f"{self.path}: {where}: {what}")

    def group(self, where: str):
        import h5py

        obj = self.f.get(where)
        if obj is None:
            raise self.fail(where, "group is missing")
        if not isinstance(obj, h5py.Group):
            raise self.fail(where, "expected a group")
        return obj

    def attr(self, where: str, key: str, kind: type):
        obj = self.f[where]
        if key not in obj.attrs:
            raise self.fail(where, f"attribute '{key}' is missing")
        value = obj.attrs[key]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, np.ndarray):
            if value.size != 1:
                raise self.fail(where, f"attribute '{key}' must be a single value")
            value = value.reshape(()).item()
        elif isinstance(value, np.generic):
            value = value.item()
        if kind is str:
            if not isinstance(value, str):
                raise self.fail(where, f"attribute '{key}' must be a string, found {type(value).__name__}")
            return value
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
                raise self.fail(where, f"attribute '{key}' must be an integer, found {value!r}")
            return int(value)
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(where, f"attribute '{key}' must be a number, found {value!r}")
            return float(value)
        return value

    def array(self, where: str, shape: tuple[int, ...]) -> np.ndarray:
        import h5py

        obj = self.f.get(where)
        if obj is None:
            raise self.fail(where, "dataset is missing")
        if not isinstance(obj, h5py.Dataset):
            raise self.fail(where, "expected a dataset")
        if obj.dtype.kind not in "fiu":
            raise self.fail(where, f"expected numbers, found dtype {obj.dtype}")
        if tuple(obj.shape) != tuple(shape):
            raise self.fail(where, f"expected shape {tuple(shape)}, found {tuple(obj.shape)}")
        try:
            data = obj[()]
        except Exception as exc:  # a truncated or corrupt chunk
            raise self.fail(where, f"cannot be read ({exc})") from None
        data = np.asarray(data, dtype=np.float64)
        if not np.all(np.isfinite(data)):
            raise self.fail(where, "holds NaN or infinite values")
        return data

    def shape_of(self, where: str, ndim: int) -> tuple[int, ...]:
        import h5py

        obj = self.f.get(where)
        if not isinstance(obj, h5py.Dataset):
            raise self.fail(where, "dataset is missing")
        if len(obj.shape) != ndim or np.prod(obj.shape, dtype=np.float64) > MAX_ELEMENTS:
            raise self.fail(where, f"unexpected shape {obj.shape}")
        return tuple(int(n) for n in obj.shape)


def load_network(path: str | Path) -> Network:
    """Read a model file written by `save_network` (or by any writer following docs/format.md)."""
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
            return _read(_Reader(f, path))
    except EvsimError as exc:
        msg = str(exc)
        raise EvsimError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        # h5py surfaces low-level corruption (bad B-tree, truncated chunks) as these.
        raise EvsimError(f"{path}: corrupt HDF5 content ({type(exc).__name__}: {exc})") from None


def _read(r: _Reader) -> Network:
    if r.f.attrs.get("format") not in (FORMAT, FORMAT.encode()):
        raise r.fail("/", f"not an evsim model file (attribute 'format' is not '{FORMAT}')")
    version = r.attr("/", "format_version", int)
    if version not in READS:
        raise r.fail("/", f"format_version {version} is not supported (this evsim reads versions {', '.join(map(str, READS))})")
    dt = r.attr("/", "dt", float)
    n_inputs = r.attr("/", "n_inputs", int)
    if n_inputs <= 0 or n_inputs > MAX_ELEMENTS:
        raise r.fail("/", f"n_inputs {n_inputs} is out of range")
    try:
        metadata = json.loads(r.attr("/", "metadata", str))
    except json.JSONDecodeError:
        raise r.fail("/", "attribute 'metadata' is not valid JSON") from None
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
        size = r.attr(where, "size", int)
        if size <= 0 or size > MAX_ELEMENTS:
            raise r.fail(where, f"size {size} is out of range")
        if version == 1:
            tau_m = r.array(f"{where}/tau_m", (size,))
            old = {key: None for key in ("tau_adp", "beta", "b_j0")}
            if neuron != "leaky-integrator":
                old = {key: r.array(f"{where}/{key}", (size,)) for key in old}
            neuron, params, options = legacy_layer(neuron, size, tau_m, r_m=r.attr("/", "r_m", float), dt=dt, where=where, **old)
        else:
            t = neuron_type(neuron, where)
            r.group(f"{where}/params")
            names = [p.name for p in t.params]
            unknown = sorted(set(r.f[f"{where}/params"]) - set(names))
            if unknown:
                raise r.fail(f"{where}/params", f"{t.name} has no parameter(s) {', '.join(unknown)}")
            params = {key: r.array(f"{where}/params/{key}", (size,)) for key in names if key in r.f[f"{where}/params"]}
            try:
                options = json.loads(r.attr(where, "options", str))
            except json.JSONDecodeError:
                raise r.fail(where, "attribute 'options' is not valid JSON") from None
            if not isinstance(options, dict):
                raise r.fail(where, "attribute 'options' must be a JSON object")
        layers.append(Layer(name=name, size=size, neuron=neuron, params=params, options=options))
    sizes = {layer.name: layer.size for layer in layers}
    sizes["input"] = n_inputs
    r.group("projections")
    count = r.attr("/projections", "count", int)
    if count < 0 or count > 10_000:
        raise r.fail("/projections", f"count {count} is out of range")
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
                delay=r.attr(where, "delay", int),
            )
        )
    r.group("readout")
    readout = Readout(
        layer=r.attr("/readout", "layer", str),
        variable=r.attr("/readout", "variable", str),
        aggregate=r.attr("/readout", "aggregate", str),
        from_step=r.attr("/readout", "from_step", int),
    )
    initial = InitialState(default=_read_layer_init(r, "/initial_state/default"))
    if "layers" in r.group("initial_state"):
        for name in r.group("/initial_state/layers"):
            initial.layers[name] = _read_layer_init(r, f"/initial_state/layers/{name}")
    golden = []
    if "golden" in r.f:
        count = r.attr("/golden", "count", int)
        if count < 0 or count > 10_000:
            raise r.fail("/golden", f"count {count} is out of range")
        ro_size = sizes.get(readout.layer, 0)
        for i in range(count):
            where = f"/golden/{i}"
            r.group(where)
            steps = r.shape_of(f"{where}/input", 2)[0]
            label = r.attr(where, "label", int)
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
    if "reset_interval" not in r.f.attrs:
        return {}
    try:
        offsets = json.loads(r.attr("/", "reset_offsets", str))
    except json.JSONDecodeError:
        raise r.fail("/", "attribute 'reset_offsets' is not valid JSON") from None
    if not isinstance(offsets, dict):
        raise r.fail("/", "attribute 'reset_offsets' must be a JSON object")
    return {"reset_interval": r.attr("/", "reset_interval", int), "reset_offsets": offsets}


def _read_layer_init(r: _Reader, where: str) -> LayerInit:
    r.group(where)
    scale = r.attr(where, "scale", object)
    if not isinstance(scale, (str, int, float)) or isinstance(scale, bool):
        raise r.fail(where, f"attribute 'scale' must be a number or 'b_j0', found {scale!r}")
    return LayerInit(mem=r.attr(where, "mem", str), scale=scale)
