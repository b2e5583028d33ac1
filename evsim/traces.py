"""Per-sample state traces on disk (`--record DIR`), in a form any peer simulator can compare.

One file per sample, `DIR/sample_<i>.npz` (i: the sample's index in the data set), holding per
layer, each of shape (steps, neurons):

    <layer>.spikes   uint8 spike counts per step (0/1 but for multi-spike types), spiking layers only
    <layer>.v        the membrane after the step's update (and reset): float64, or int64 under a
                     fixed-point profile (the integer state, in the profile's units)
    <layer>.i        the synaptic current, for neurons that have one
    <layer>.i2       Xylo's second synaptic state, on a Xylo profile
    input.spikes     (steps, channels) the input as the engine received it, under a fixed-point
                     profile: on Xylo what the chip receives (counts clipped to 15, negative
                     values dropped), to replay on the chip or its simulator

docs/format.md describes the files.  Nothing here runs a network: the engines return the
traces (SimResult.spikes / .mem / .syn), this writes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import EvsimError


def prepare_directory(directory: str | Path) -> Path:
    """The record directory, created if missing; an error if it cannot be."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise EvsimError(f"--record: {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvsimError(f"--record: cannot create {path} ({exc.strerror or exc})") from None
    return path


def write_batch(directory: Path, network, result, sample_ids: np.ndarray) -> None:
    """Write one file per sample of a batch's recorded result (see the module docstring)."""
    if result.mem is None or result.spikes is None:
        raise ValueError("write_batch needs a result recorded with spikes and membranes")
    currents = result.syn
    second = getattr(result, "syn2", None)
    inputs = getattr(result, "inputs", None)
    for b, sid in enumerate(np.asarray(sample_ids)):
        arrays = {}
        if inputs is not None:
            arrays["input.spikes"] = np.ascontiguousarray(inputs[b])
        for li, layer in enumerate(network.layers):
            if layer.spiking:
                arrays[f"{layer.name}.spikes"] = np.ascontiguousarray(result.spikes[li][b], dtype=np.uint8)
            arrays[f"{layer.name}.v"] = np.ascontiguousarray(result.mem[li][b])
            if currents is not None and currents[li] is not None:
                arrays[f"{layer.name}.i"] = np.ascontiguousarray(currents[li][b])
            if second is not None and second[li] is not None:
                arrays[f"{layer.name}.i2"] = np.ascontiguousarray(second[li][b])
        target = directory / f"sample_{int(sid)}.npz"
        try:
            np.savez(target, **arrays)
        except OSError as exc:
            raise EvsimError(f"--record: cannot write {target} ({exc.strerror or exc})") from None


def read_sample(path: str | Path) -> dict[str, np.ndarray]:
    """A written sample file as {'<layer>.<kind>': array}."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
