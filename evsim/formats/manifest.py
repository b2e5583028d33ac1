"""Importers for checkpoints described by a manifest (the layout of ../shared/paper-models).

A manifest (`NAME.json`) says how named tensors form the network; the tensors come from a
`.npz` next to it, or from a PyTorch `state_dict` (`.pth`, needs the optional torch extra).
Every manifest field is honoured generically: a parameter is a tensor name or a constant
number, `initial_state` may scale by a layer's `b_j0`, and there are no per-model cases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import EvsimError
from .h5 import MAX_ELEMENTS
from ..model import InitialState, Layer, LayerInit, Network, Projection, Readout
from ..neurons import legacy_layer

NEURON_ALIASES = {"lif": "lif", "alif": "alif", "leaky-integrator": "leaky-integrator", "li": "leaky-integrator"}
# A manifest describes the SRNN family over tau_m, tau_adp, beta, b_j0 and R_m (version 1's
# vocabulary): evsim.neurons.legacy_layer maps it onto the registry's types bit for bit.


def read_manifest(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise EvsimError(f"{path}: manifest not found")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvsimError(f"{path}: not a valid JSON manifest ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
        raise EvsimError(f"{path}: a manifest needs a 'layers' list")
    return manifest


def load_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise EvsimError(f"{path}: tensor file not found (expected next to the manifest)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:
        raise EvsimError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None


def import_manifest(manifest_path: str | Path, tensors_path: str | Path | None = None) -> Network:
    """A Network from a manifest and its tensors (`.npz` by default, `.pth` when given)."""
    manifest_path = Path(manifest_path)
    manifest = read_manifest(manifest_path)
    if tensors_path is None:
        tensors_path = manifest_path.with_suffix(".npz")
    tensors_path = Path(tensors_path)
    if tensors_path.suffix in (".pth", ".pt"):
        from .torch_state import load_state_dict

        tensors = load_state_dict(tensors_path)
    else:
        tensors = load_npz(tensors_path)
    return network_from_manifest(manifest, tensors, where=str(manifest_path))


def network_from_manifest(manifest: Mapping[str, Any], tensors: Mapping[str, np.ndarray], where: str) -> Network:
    def fail(msg: str) -> EvsimError:
        return EvsimError(f"{where}: {msg}")

    def real(name: str, field: str) -> np.ndarray:
        """A checkpoint tensor as float64; complex, string or object tensors are refused."""
        arr = np.asarray(tensors[name])
        if arr.dtype.kind not in "biuf":
            raise fail(f"{field}: tensor '{name}' has dtype {arr.dtype}, expected real numbers")
        if arr.size > MAX_ELEMENTS:
            raise fail(f"{field}: tensor '{name}' has {arr.size} values, more than evsim's limit of {MAX_ELEMENTS}")
        return arr.astype(np.float64)

    def tensor(name: str, shape: tuple[int, ...], field: str) -> np.ndarray:
        if name not in tensors:
            raise fail(f"{field}: tensor '{name}' is not in the checkpoint")
        arr = real(name, field)
        if arr.shape != shape:
            raise fail(f"{field}: tensor '{name}' has shape {arr.shape}, expected {shape}")
        return arr

    def param(value: Any, size: int, field: str) -> np.ndarray | float | None:
        """A per-neuron parameter: a tensor name, a number, or null."""
        if value is None:
            return None
        if isinstance(value, str):
            return tensor(value, (size,), field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise fail(f"{field}: expected a tensor name or a number, found {value!r}")

    def get(d: Mapping[str, Any], key: str, field: str, kinds: tuple[type, ...]) -> Any:
        if key not in d:
            raise fail(f"{field}: '{key}' is missing")
        value = d[key]
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise fail(f"{field}: '{key}' has the wrong type ({type(value).__name__})")
        return value

    layers_in = manifest["layers"]
    dt, r_m = manifest.get("dt", 1.0), manifest.get("R_m", 1.0)
    for key, value in (("dt", dt), ("R_m", r_m)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
            raise fail(f"{key} must be a positive number, found {value!r}")
    dt, r_m = float(dt), float(r_m)
    sizes: dict[str, int] = {}
    n_inputs = None
    layers: list[Layer] = []
    projections: list[Projection] = []
    for i, spec in enumerate(layers_in):
        if not isinstance(spec, dict):
            raise fail(f"layers[{i}]: expected an object")
        name = get(spec, "name", f"layers[{i}]", (str,))
        field = f"layer '{name}'"
        size = get(spec, "size", field, (int,))
        neuron = NEURON_ALIASES.get(get(spec, "neuron", field, (str,)))
        if neuron is None:
            raise fail(f"{field}: unknown neuron '{spec['neuron']}'")
        spiking = neuron != "leaky-integrator"
        try:
            kind, params, options = legacy_layer(
                neuron,
                size,
                tau_m=param(spec.get("tau_m"), size, f"{field}: tau_m"),
                # An integrator's tau_adp/beta/b_j0 may be present in the checkpoint but are unused.
                tau_adp=param(spec.get("tau_adp"), size, f"{field}: tau_adp") if spiking else None,
                beta=param(spec.get("beta"), size, f"{field}: beta") if spiking else None,
                b_j0=param(spec.get("b_j0"), size, f"{field}: b_j0") if spiking else None,
                r_m=r_m,
                dt=dt,
                where=field,
            )
            layers.append(Layer(name=name, size=size, neuron=kind, params=params, options=options))
        except EvsimError as exc:
            raise fail(str(exc)) from None
        sizes[name] = size
        for j, inp in enumerate(get(spec, "inputs", field, (list,))):
            pfield = f"{field}: inputs[{j}]"
            if not isinstance(inp, dict):
                raise fail(f"{pfield}: expected an object")
            source = get(inp, "from", pfield, (str,))
            w_name = get(inp, "weight", pfield, (str,))
            if w_name not in tensors:
                raise fail(f"{pfield}: tensor '{w_name}' is not in the checkpoint")
            w = real(w_name, f"{pfield}: weight")
            if w.ndim != 2 or w.shape[0] != size:
                raise fail(f"{pfield}: weight '{w_name}' has shape {w.shape}, expected ({size}, source size)")
            if source == "input":
                if n_inputs is not None and n_inputs != w.shape[1]:
                    raise fail(f"{pfield}: input width {w.shape[1]} differs from an earlier {n_inputs}")
                n_inputs = w.shape[1]
            b_name = inp.get("bias")
            bias = np.zeros(size) if b_name is None else tensor(b_name, (size,), f"{pfield}: bias")
            projections.append(
                Projection(source=source, target=name, weight=w, bias=bias, delay=get(inp, "delay", pfield, (int,)))
            )
    if n_inputs is None:
        raise fail("no layer reads from 'input'")

    ro = manifest.get("readout")
    if not isinstance(ro, dict):
        raise fail("'readout' is missing")
    readout = Readout(
        layer=get(ro, "layer", "readout", (str,)),
        variable=ro.get("variable", "mem"),
        aggregate=ro.get("aggregate", "per_step"),
        from_step=ro.get("from_step", 0),
    )
    initial = InitialState()
    rules = manifest.get("initial_state") or {}
    if not isinstance(rules, dict):
        raise fail(f"'initial_state' must be an object, found {type(rules).__name__}")
    for key, rule in rules.items():
        if not isinstance(rule, dict):
            raise fail(f"initial_state['{key}']: expected an object")
        layer_init = LayerInit(mem=rule.get("mem", "zeros"), scale=rule.get("scale", 1.0))
        if key == "*":
            initial.default = layer_init
        else:
            initial.layers[key] = layer_init

    metadata = {
        "source": manifest.get("source"),
        "task": manifest.get("task"),
        "claimed_accuracy": manifest.get("claimed_accuracy"),
        "notes": manifest.get("notes"),
        "imported_from": where,
        "importer": "manifest",
    }
    try:
        return Network(
            name=str(manifest.get("name", Path(where).stem)),
            n_inputs=n_inputs,
            layers=layers,
            projections=projections,
            readout=readout,
            initial_state=initial,
            dt=dt,
            metadata={k: v for k, v in metadata.items() if v is not None},
        )
    except EvsimError as exc:
        raise fail(str(exc)) from None

