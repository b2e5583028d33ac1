"""lava-dl's netx HDF5 network files (`lava.lib.dl.netx`), read and written.

The layout (lava-dl `src/lava/lib/dl/netx/README.md`, a copy in tests/data/lava-dl-netx/):

    layer/<i>/{type, shape, ...}     i = 0..n-1 from input to output, connected in sequence
        input   : {shape, type}                     (+ neuron, weight, bias when lava-dl encodes
                                                      an image through the input neurons' bias)
        flatten : {shape, type}
        dense   : {shape, type, neuron, inFeatures, outFeatures, weight, bias?, delay?}
        dense_rec: dense + weight_rec               (recurrent: the layer's own spikes, one step late)
        neuron  : {type: CUBA | LOIHI, iDecay, vDecay, vThMant, refDelay, gradedSpike?, ...}
    simulation/{Ts, tSample}

This module reads such a file into plain records (`NetxFile`: integers as the file holds them)
and writes them back, and converts between those records and evsim's model (`import_netx`,
`export_netx`).  What netx does with the fields, from lava-dl's `netx/hdf5.py` and Lava's bit-
accurate models (docs/hardware.md, "Loihi, bit for bit"):

- `type` is a length-1 array of fixed-width ASCII (`S10`), read as its first element.
- `shape` is stored (z, y, x) = (C, H, W); netx reverses it to (W, H, C).
- A dense layer after a multi-dimensional one reads its input through netx's flatten
  (`out.transpose([2, 1, 0]).flatten()` of the WHC output): input index (c * H + h) * W + w, the
  C-order flattening of the file's (C, H, W) shape.
- `weight` holds the integer weights (stored as floats), (outFeatures, inFeatures); netx derives
  Lava's weight exponent from their values and the Dense process applies them exactly.
- `bias` is Lava's bias mantissa, added to the voltage as `bias << 6` every step.
- CUBA/LOIHI neurons become Lava LIF processes with du = iDecay - 1 (Lava adds 1 back), dv =
  vDecay, vth = vThMant (compared as vThMant << 6); `refDelay` is ignored by netx and by Lava's
  CPU model (a Loihi chip holds the voltage at 128 * refDelay while refractory).
- A Dense process delivers a step's spikes at the next step: every dense (and recurrent)
  connection adds one step of delay, plus the per-synapse `delay` when the file has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EvsimError
from ..model import INPUT, Layer, Network, Projection, Readout

SUPPORTED_LAYERS = ("input", "flatten", "dense", "dense_rec")
KNOWN_LAYERS = SUPPORTED_LAYERS + ("conv", "pool", "convT", "unpool", "average", "concat", "dense_comp")
NEURON_TYPES = ("CUBA", "LOIHI")
NEURON_FIELDS = ("iDecay", "vDecay", "vThMant", "refDelay")
MAX_ELEMENTS = 1 << 28  # refuse a dataset above this many elements: a hostile size


@dataclass
class NetxNeuron:
    """A compartment description as the file holds it (decays in 1/4096 per step)."""

    type: str
    i_decay: np.ndarray  # int64, scalar (shape ()) or per neuron
    v_decay: np.ndarray
    vth_mant: np.ndarray
    ref_delay: int = 1
    graded_spike: bool = False
    message_bits: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # other fields (LOIHI: theta, wgtExp, ...), kept as read


@dataclass
class NetxLayer:
    index: int
    type: str
    shape: tuple[int, ...]  # as stored: (C, H, W) or (n, 1, 1) or (n,)
    neuron: NetxNeuron | None = None
    weight: np.ndarray | None = None  # int64 (out, in)
    weight_rec: np.ndarray | None = None  # int64 (out, out)
    bias: np.ndarray | None = None  # int64 (out,)
    delay: np.ndarray | None = None  # int64 as stored (scalar, (out,), (in,) or (out, in))
    in_features: int | None = None
    out_features: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # input layers: weight/bias scalars

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def where(self) -> str:
        return f"layer {self.index} ('{self.type}')"


@dataclass
class NetxFile:
    layers: list[NetxLayer]
    ts: int | None = 1
    t_sample: int | None = None
    path: str = ""


# ---- reading ------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, f, path: str):
        self.f, self.path = f, path

    def fail(self, where: str, what: str):
        raise EvsimError(f"{self.path}: {where}: {what}")

    def dataset(self, g, key: str, where: str):
        import h5py

        obj = g.get(key)
        if obj is None:
            self.fail(where, f"missing '{key}'")
        if not isinstance(obj, h5py.Dataset):
            self.fail(where, f"'{key}' is not a dataset")
        if obj.size > MAX_ELEMENTS:
            self.fail(where, f"'{key}' has {obj.size} elements (more than {MAX_ELEMENTS})")
        return obj[()]

    def text(self, g, key: str, where: str) -> str:
        value = self.dataset(g, key, where)
        if isinstance(value, np.ndarray):
            if value.size != 1:
                self.fail(where, f"'{key}' must hold one string, found shape {value.shape}")
            value = value.reshape(-1)[0]
        if isinstance(value, bytes):
            try:
                return value.decode("ascii")
            except UnicodeDecodeError:
                self.fail(where, f"'{key}' is not ASCII")
        if isinstance(value, str):
            return value
        self.fail(where, f"'{key}' must be a string, found {type(value).__name__}")

    def integers(self, g, key: str, where: str, ndim: tuple[int, ...] | None = None) -> np.ndarray:
        value = np.asarray(self.dataset(g, key, where))
        if value.dtype.kind not in "iufb":
            self.fail(where, f"'{key}' must be numeric, found dtype {value.dtype}")
        if ndim is not None and value.ndim not in ndim:
            self.fail(where, f"'{key}' has shape {value.shape} (expected {' or '.join(f'{d}-D' for d in ndim)})")
        if value.dtype.kind == "f":
            if not np.all(np.isfinite(value)):
                self.fail(where, f"'{key}' holds NaN or infinite values")
            if not np.all(value == np.round(value)):
                bad = int(np.count_nonzero(value != np.round(value)))
                self.fail(where, f"'{key}' holds {bad} non-integer value(s); netx reads integers (astype(int))")
        return value.astype(np.int64)

    def integer(self, g, key: str, where: str) -> int:
        value = self.integers(g, key, where)
        if value.size != 1:
            self.fail(where, f"'{key}' must be one integer, found shape {value.shape}")
        return int(value.reshape(-1)[0])


def _read_neuron(r: _Reader, g, where: str) -> NetxNeuron:
    import h5py

    where = f"{where} neuron"
    if not isinstance(g, h5py.Group):
        r.fail(where, "'neuron' is not a group")
    ntype = r.text(g, "type", where)
    if ntype not in NEURON_TYPES:
        r.fail(where, f"neuron type '{ntype}' is not supported (evsim imports {', '.join(NEURON_TYPES)}: Lava's CUBA LIF)")
    values = {k: r.integers(g, k, where, ndim=(0, 1)) for k in ("iDecay", "vDecay", "vThMant")}
    for k in ("iDecay", "vDecay"):
        if np.any((values[k] < 0) | (values[k] > 4096)):
            r.fail(where, f"{k} must lie in 0..4096 (a decay in 1/4096 per step), found {values[k].min()}..{values[k].max()}")
    # Lava's threshold is a 17-bit mantissa; netx itself writes 1 << 17 for a layer that never
    # spikes (its default neuron: 'vThMant': 1 << 18 - 1, which Python reads as 1 << 17)
    if np.any((values["vThMant"] < 0) | (values["vThMant"] > 1 << 17)):
        r.fail(where, f"vThMant must lie in 0..131072 (Lava's 17-bit threshold mantissa, or netx's never-spiking 1 << 17), found {values['vThMant'].min()}..{values['vThMant'].max()}")
    ref_delay = r.integer(g, "refDelay", where) if "refDelay" in g else 1
    graded = bool(r.integer(g, "gradedSpike", where)) if "gradedSpike" in g else False
    message_bits = r.integer(g, "messageBits", where) if "messageBits" in g else 0
    extra = {}
    for k in g:
        if k not in NEURON_FIELDS + ("type", "gradedSpike", "messageBits"):
            extra[k] = r.dataset(g, k, where)
    return NetxNeuron(
        type=ntype,
        i_decay=values["iDecay"],
        v_decay=values["vDecay"],
        vth_mant=values["vThMant"],
        ref_delay=ref_delay,
        graded_spike=graded,
        message_bits=message_bits,
        extra=extra,
    )


def read_netx(path: str | Path) -> NetxFile:
    """Every layer of a netx file as records; unsupported layer types are read with their type
    and shape only (a selection that includes them is refused by `select`)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise EvsimError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise EvsimError(f"{path}: not an HDF5 file (netx network files are HDF5)") from None
    with f:
        r = _Reader(f, str(path))
        root = f.get("layer")
        if not isinstance(root, h5py.Group) or len(root) == 0:
            r.fail("/", "no 'layer' group: not a netx network file")
        keys = sorted(root.keys(), key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
        if keys != [str(i) for i in range(len(keys))]:
            r.fail("layer", f"layers must be numbered 0..{len(keys) - 1}, found {', '.join(keys[:8])}")
        layers = [_read_layer(r, root[k], int(k)) for k in keys]
        sim = f.get("simulation")
        ts = t_sample = None
        if isinstance(sim, h5py.Group):
            ts = r.integer(sim, "Ts", "simulation") if "Ts" in sim else None
            t_sample = r.integer(sim, "tSample", "simulation") if "tSample" in sim else None
    return NetxFile(layers=layers, ts=ts, t_sample=t_sample, path=str(path))


def _read_layer(r: _Reader, g, index: int) -> NetxLayer:
    import h5py

    where = f"layer {index}"
    if not isinstance(g, h5py.Group):
        r.fail(where, "not a group")
    ltype = r.text(g, "type", where)
    shape = tuple(int(s) for s in r.integers(g, "shape", where, ndim=(1,)))
    if not shape or any(s <= 0 for s in shape):
        r.fail(where, f"shape must be positive sizes, found {shape}")
    layer = NetxLayer(index=index, type=ltype, shape=shape)
    where = layer.where
    if ltype not in SUPPORTED_LAYERS:
        return layer  # refused only if selected (select())
    if ltype == "input":
        if "neuron" in g:
            layer.neuron = _read_neuron(r, g["neuron"], where)
        for k in ("weight", "bias"):
            if k in g:
                layer.extra[k] = r.integer(g, k, where)
        return layer
    if ltype == "flatten":
        return layer
    # dense, dense_rec
    out = layer.size
    layer.neuron = _read_neuron(r, g["neuron"], where) if "neuron" in g else None
    w = r.integers(g, "weight", where, ndim=(1, 2))
    if w.ndim == 1:
        if w.size % out:
            r.fail(where, f"weight has {w.size} values, not a multiple of the layer's {out} neurons")
        w = w.reshape(out, -1)
    if w.shape[0] != out:
        r.fail(where, f"weight has shape {w.shape}, expected {out} rows (the layer's shape {shape})")
    layer.weight = w
    layer.out_features = r.integer(g, "outFeatures", where) if "outFeatures" in g else out
    layer.in_features = r.integer(g, "inFeatures", where) if "inFeatures" in g else w.shape[1]
    if layer.out_features != out or layer.in_features != w.shape[1]:
        r.fail(where, f"outFeatures/inFeatures {layer.out_features}/{layer.in_features} do not match weight {w.shape}")
    if ltype == "dense_rec":
        wr = r.integers(g, "weight_rec", where, ndim=(1, 2)).reshape(out, -1)
        if wr.shape != (out, out):
            r.fail(where, f"weight_rec has shape {wr.shape}, expected ({out}, {out})")
        layer.weight_rec = wr
    if "bias" in g:
        b = r.integers(g, "bias", where, ndim=(0, 1))
        if b.size not in (1, out):
            r.fail(where, f"bias has {b.size} values, expected 1 or {out}")
        layer.bias = np.broadcast_to(b.reshape(-1), (out,)).copy()
    if "delay" in g:
        layer.delay = r.integers(g, "delay", where)
    return layer


# ---- selecting the part evsim imports ------------------------------------------------------------


def parse_layers(spec: str | None, n_layers: int) -> tuple[int, int] | None:
    """`A:B` (netx layer indices, half-open like Python's and netx's skip_layers=A, num_layers=B)."""
    if spec is None:
        return None
    parts = spec.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        a = int(parts[0]) if parts[0] else 0
        b = int(parts[1]) if parts[1] else n_layers
    except ValueError:
        raise EvsimError(f"--layers must be A:B (netx layer indices, B excluded), got '{spec}'") from None
    if not 0 <= a < b <= n_layers:
        raise EvsimError(f"--layers {spec}: the file has layers 0..{n_layers - 1}; need 0 <= A < B <= {n_layers}")
    return a, b


def dense_indices(netx: NetxFile) -> list[int]:
    return [layer.index for layer in netx.layers if layer.type in ("dense", "dense_rec")]


def select(netx: NetxFile, layers: tuple[int, int] | None) -> tuple[list[NetxLayer], int]:
    """The layers to import and the number of input channels they read.

    Without a selection: the whole file, which must be input / flatten / dense layers.  With
    A:B: those layers, which must be dense (flatten allowed); their input is the output of
    layer A-1 (its size, in netx's flatten order when it is multi-dimensional).
    """
    a, b = layers if layers is not None else (0, len(netx.layers))
    chosen = netx.layers[a:b]
    hint = ""
    dense = dense_indices(netx)
    if dense:
        runs = _runs(dense)
        hint = f"; dense layers here: {', '.join(f'{x}..{y}' if x != y else str(x) for x, y in runs)} (use --layers A:B)"
    for layer in chosen:
        if layer.type not in SUPPORTED_LAYERS:
            kind = "is not a netx layer type" if layer.type not in KNOWN_LAYERS else "is not supported"
            raise EvsimError(
                f"{netx.path}: {layer.where} {kind}: evsim imports input, flatten, dense and dense_rec layers{hint}"
            )
        if layer.type == "input" and layer.index != 0:
            raise EvsimError(f"{netx.path}: {layer.where}: an input layer must come first")
        if layer.type in ("dense", "dense_rec"):
            _check_neuron(netx, layer)
    if not any(layer.type in ("dense", "dense_rec") for layer in chosen):
        raise EvsimError(f"{netx.path}: layers {a}..{b - 1} hold no dense layer to import{hint}")
    if a == 0:
        first = netx.layers[0]
        if first.type != "input":
            n_inputs = next(layer.in_features for layer in chosen if layer.in_features is not None)
        else:
            n_inputs = first.size
    else:
        n_inputs = netx.layers[a - 1].size
    return chosen, int(n_inputs)


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    runs = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _check_neuron(netx: NetxFile, layer: NetxLayer) -> None:
    n = layer.neuron
    where = f"{netx.path}: {layer.where}"
    if n is None:
        raise EvsimError(f"{where}: no neuron description (netx's default non-leaky integrator is not imported)")
    if n.graded_spike or n.message_bits:
        raise EvsimError(f"{where}: graded spikes (gradedSpike / messageBits) are not supported: evsim's Loihi neurons emit binary spikes")
    if n.ref_delay != 1:
        raise EvsimError(
            f"{where}: refDelay {n.ref_delay}: evsim models refDelay 1 only (netx and Lava's CPU model ignore it; "
            "a Loihi chip would hold the neuron refractory for refDelay steps)"
        )
    for what, arr in (("iDecay", n.i_decay), ("vDecay", n.v_decay), ("vThMant", n.vth_mant)):
        if arr.ndim == 1 and arr.size != layer.size:
            raise EvsimError(f"{where}: neuron {what} has {arr.size} values for {layer.size} neurons")


# ---- writing ---------------------------------------------------------------------------------


def _type(g, name: str) -> None:
    # slayer's export: handle.create_dataset('type', (1,), 'S10', [name.encode('ascii')])
    g.create_dataset("type", (1,), "S10", [name.encode("ascii")])


def write_netx(netx: NetxFile, path: str | Path) -> None:
    """Write records in the layout lava-dl's slayer exports and netx reads (overwrites path)."""
    import h5py

    with h5py.File(path, "w") as f:
        root = f.create_group("layer")
        for i, layer in enumerate(netx.layers):
            g = root.create_group(str(i))
            _type(g, layer.type)
            g.create_dataset("shape", data=np.asarray(layer.shape, dtype=np.int64))
            if layer.type in ("dense", "dense_rec"):
                g.create_dataset("inFeatures", data=np.int64(layer.in_features))
                g.create_dataset("outFeatures", data=np.int64(layer.out_features))
                g.create_dataset("weight", data=layer.weight.astype(np.float32))
                if layer.weight_rec is not None:
                    g.create_dataset("weight_rec", data=layer.weight_rec.astype(np.float32))
                if layer.bias is not None:
                    g.create_dataset("bias", data=layer.bias.astype(np.float32))
                if layer.delay is not None:
                    g.create_dataset("delay", data=layer.delay.astype(np.float32))
            if layer.neuron is not None:
                n = layer.neuron
                g.create_dataset("neuron/type", data=n.type)
                g.create_dataset("neuron/iDecay", data=np.asarray(n.i_decay, dtype=np.int64))
                g.create_dataset("neuron/vDecay", data=np.asarray(n.v_decay, dtype=np.int64))
                g.create_dataset("neuron/vThMant", data=np.asarray(n.vth_mant, dtype=np.int64))
                g.create_dataset("neuron/refDelay", data=np.int64(n.ref_delay))
                g.create_dataset("neuron/gradedSpike", data=np.bool_(n.graded_spike))
        sim = f.create_group("simulation")
        sim.create_dataset("Ts", data=np.int64(1 if netx.ts is None else netx.ts))
        if netx.t_sample is not None:
            sim.create_dataset("tSample", data=np.int64(netx.t_sample))


# ---- netx records <-> evsim's model ------------------------------------------------------------

ONE = 1 << 12  # Lava's decay_unity: iDecay and vDecay are decays in 1/4096 per step
WEIGHT_UNIT = 1.0 / 64  # slayer's units: a stored weight w adds w << 6 LSB of 1/4096 to u
NO_DECAY_TAU = 2.0**40  # a decay of 0 (no leak) as a time constant whose 12-bit code is exactly 4096
NEVER = 1 << 17  # vThMant of a layer that never spikes (vth << 6 = 2^23, above any 24-bit v)


def _tau(decay: np.ndarray) -> np.ndarray:
    """A netx decay (1/4096 per step) as the euler time constant (dt = 1) with that decay."""
    d = np.asarray(decay, dtype=np.float64)
    return np.where(d > 0, ONE / np.maximum(d, 1.0), NO_DECAY_TAU)


def _block_positions(netx: NetxFile) -> dict[int, int]:
    """Each layer's position among the blocks netx's Network generates from the whole file
    (input with a neuron, conv, dense, dense_rec): the base of its reset offset."""
    pos, out = 0, {}
    for layer in netx.layers:
        out[layer.index] = pos
        if layer.type in ("conv", "dense", "dense_rec", "dense_comp") or (layer.type == "input" and layer.neuron is not None):
            pos += 1
    return out


def _extra_delay(layer: NetxLayer, path: str) -> int:
    if layer.delay is None:
        return 0
    d = np.unique(layer.delay)
    if d.size != 1 or d[0] < 0:
        raise EvsimError(
            f"{path}: {layer.where}: per-synapse delays {d.min()}..{d.max()}: evsim projections have one delay each "
            "(a uniform 'delay' imports)"
        )
    return int(d[0])


def import_netx(path: str | Path, layers: str | None = None, reset_interval: int = 0, reset_offset: int = 0) -> Network:
    """A netx file (or its dense sub-stack `layers` = 'A:B') as an evsim network.

    Every dense layer becomes a `cuba-lif` layer (euler, dt = 1, zero reset at the spike, the
    membrane reading the new current; a last layer whose vThMant is netx's "never", 1 << 17, a
    `cuba-li`) whose float parameters are Lava's integers in slayer's units, so that the
    `loihi`/`loihi2` profiles get them back exactly (evsim/neurons/lava.py, convention `netx`):

        tau_syn = 4096 / iDecay, w_in = tau_syn     tau_mem = 4096 / vDecay, r = tau_mem
        (a decay of 0: tau = 2^40, whose 12-bit code is 4096 and whose float leak is 2^-40)
        v_threshold = vThMant / 64     weights = w / 64     v_leak = tau_mem * bias / 64
        each dense connection: delay 1 (Lava's Dense delivers at the next step) + the file's
        uniform `delay`; a dense_rec layer also feeds itself with delay 1.

    reset_interval (netx's Network argument, not in the file): layer i restarts when hardware
    time (t + 1) % reset_interval == 1 + reset_offset + its block position in the whole file.
    """
    netx = read_netx(path)
    chosen, n_inputs = select(netx, parse_layers(layers, len(netx.layers)))
    positions = _block_positions(netx)
    net_layers, projections, offsets = [], [], {}
    source, source_size = INPUT, n_inputs
    dense = [c for c in chosen if c.type in ("dense", "dense_rec")]
    for layer in dense:
        name = f"layer{layer.index}"
        if layer.in_features != source_size:
            raise EvsimError(
                f"{netx.path}: {layer.where}: inFeatures {layer.in_features}, but its input has {source_size} values"
            )
        n = layer.neuron
        tau_syn, tau_mem = _tau(n.i_decay), _tau(n.v_decay)
        bias = np.zeros(layer.size) if layer.bias is None else layer.bias.astype(np.float64)
        common = dict(tau_syn=tau_syn, w_in=tau_syn, tau_mem=tau_mem, r=tau_mem, v_leak=tau_mem * bias * WEIGHT_UNIT, update="sequential")
        if layer is dense[-1] and np.all(n.vth_mant == NEVER):  # netx's never-spiking output: no spikes at all
            net_layers.append(Layer(name, layer.size, "cuba-li", **common))
        else:
            net_layers.append(Layer(
                name, layer.size, "cuba-lif", **common,
                v_threshold=n.vth_mant.astype(np.float64) * WEIGHT_UNIT, v_reset=0.0, reset="zero", reset_at="same-step", max_spikes=1,
            ))  # fmt: skip
        delay = 1 + _extra_delay(layer, netx.path)
        zeros = np.zeros(layer.size)
        projections.append(Projection(source, name, layer.weight * WEIGHT_UNIT, zeros, delay))
        if layer.weight_rec is not None:
            projections.append(Projection(name, name, layer.weight_rec * WEIGHT_UNIT, zeros, delay))
        offsets[name] = 1 + reset_offset + positions[layer.index]
        source, source_size = name, layer.size
    last = dense[-1]
    never = bool(np.all(last.neuron.vth_mant >= NEVER - 1))
    readout = Readout(f"layer{last.index}", "mem" if never else "spike", "per_step" if never else "sum")
    span = f"{chosen[0].index}..{chosen[-1].index}"
    source_of_input = f"layer {chosen[0].index - 1}'s output" if chosen[0].index else "the input"
    notes = [
        f"each dense connection delivers one step late (Lava's Dense); input channel k is element k of {source_of_input} "
        "in netx's flatten order (the C-order flattening of its stored (C, H, W) shape)",
    ]
    if netx.layers[0].neuron is not None and chosen[0].index == 0:
        notes.append("the input layer's neurons (lava-dl drives them through their bias) are not simulated: the input events are their spikes")
    if any(c.neuron is not None and c.neuron.type == "LOIHI" and c.neuron.extra for c in chosen):
        notes.append("LOIHI neuron fields netx ignores (theta, wgtExp, scaleRho, tauRho) were ignored")
    return Network(
        name=Path(path).stem,
        n_inputs=n_inputs,
        layers=net_layers,
        projections=projections,
        readout=readout,
        dt=1.0,
        discretization="euler",
        reset_interval=reset_interval,
        reset_offsets=offsets if reset_interval else {},
        metadata={"netx_import": {"file": str(path), "layers": span, "reset_interval": reset_interval, "notes": notes}},
    )
