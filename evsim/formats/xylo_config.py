"""A Xylo SNN-core configuration: the integer specification Rockpool's
`XyloSim.from_specification` takes (rockpool.devices.xylo.syns61201 / syns63300), and its `.npz` file.

Fields, as from_specification names them (N_in inputs, N_hid hidden neurons, N_out readout
neurons, S = 1 or 2 synaptic states per hidden neuron):

    weights_in      (N_in, N_ien[, S]) int8    onto the first N_ien hidden neurons
    weights_rec     (N_hid, N_hid[, S]) int8   hidden -> hidden, delivered one step later
    weights_out     (N_oen, N_out) int8        from the last N_oen hidden neurons, one step later
    dash_mem, dash_syn, dash_syn_2 (N_hid,)    bit-shift decays 0..15 (dash_syn_2: synapse 2)
    dash_mem_out, dash_syn_out (N_out,)
    threshold (N_hid,), threshold_out (N_out,) int16
    bias (N_hid,), bias_out (N_out,)           int16, added to the membrane every step
    weight_shift_in, weight_shift_rec, weight_shift_out   left shift of each matrix's weights
    dt                                         seconds per step

evsim writes no aliases (no evsim model has one) and reads none.  docs/hardware.md shows how to
replay a file on XyloSim.  This module only holds and checks the data; evsim.hardware.xylo makes
it from a quantized network and turns it into the integer engines' record.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from pathlib import Path

import numpy as np

from ..errors import EvsimError

INT8 = (-128, 127)
INT16 = (-(1 << 15), (1 << 15) - 1)
DASH = (0, 15)  # a 4-bit field (Rockpool, "Xylo in numbers")
SHIFT = (0, 15)  # any shift xylosim applies without overflowing int8 << shift in int16 arithmetic is 0..8;
# the chips' range is narrower and is the profiles' business (weights.exponent)


@dataclass
class XyloConfig:
    weights_in: np.ndarray
    weights_rec: np.ndarray
    weights_out: np.ndarray
    dash_mem: np.ndarray
    dash_mem_out: np.ndarray
    dash_syn: np.ndarray
    dash_syn_2: np.ndarray
    dash_syn_out: np.ndarray
    threshold: np.ndarray
    threshold_out: np.ndarray
    bias: np.ndarray
    bias_out: np.ndarray
    weight_shift_in: int = 0
    weight_shift_rec: int = 0
    weight_shift_out: int = 0
    dt: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("weights_in", "weights_rec", "weights_out", "dash_mem", "dash_mem_out", "dash_syn", "dash_syn_2",
                     "dash_syn_out", "threshold", "threshold_out", "bias", "bias_out"):
            value = np.asarray(getattr(self, name))
            if value.size and not np.all(value == np.round(value)):
                raise EvsimError(f"xylo config: {name} holds non-integer values")
            setattr(self, name, np.ascontiguousarray(value, dtype=np.int64))
        for name in ("weight_shift_in", "weight_shift_rec", "weight_shift_out"):
            value = np.asarray(getattr(self, name))
            if value.ndim != 0 or value != np.round(value):
                raise EvsimError(f"xylo config: {name} must be one integer, got {value!r}")
            setattr(self, name, int(value))
        self.dt = float(self.dt)
        if not np.isfinite(self.dt) or self.dt <= 0:
            raise EvsimError(f"xylo config: dt must be a positive number of seconds, got {self.dt}")
        w_in, w_rec, w_out = self.weights_in, self.weights_rec, self.weights_out
        if w_in.ndim not in (2, 3) or w_rec.ndim not in (2, 3) or w_out.ndim != 2:
            raise EvsimError(
                f"xylo config: weights_in {w_in.shape} and weights_rec {w_rec.shape} must be 2-D or 3-D, weights_out {w_out.shape} 2-D"
            )
        n_hid = w_rec.shape[0]
        if w_rec.shape[1] != n_hid:
            raise EvsimError(f"xylo config: weights_rec must be square, got {w_rec.shape}")
        if w_in.shape[1] > n_hid or w_out.shape[0] > n_hid:
            raise EvsimError(f"xylo config: weights_in {w_in.shape} and weights_out {w_out.shape} reach more than the {n_hid} hidden neurons")
        if any(w.ndim == 3 and w.shape[2] not in (1, 2) for w in (w_in, w_rec)):
            raise EvsimError(f"xylo config: the synapse axis of weights_in {w_in.shape} and weights_rec {w_rec.shape} holds 1 or 2 synapses")
        n_out = w_out.shape[1]
        for name, size in (("dash_mem", n_hid), ("dash_syn", n_hid), ("dash_syn_2", n_hid), ("threshold", n_hid), ("bias", n_hid),
                           ("dash_mem_out", n_out), ("dash_syn_out", n_out), ("threshold_out", n_out), ("bias_out", n_out)):
            if getattr(self, name).shape != (size,):
                raise EvsimError(f"xylo config: {name} has shape {getattr(self, name).shape}, expected ({size},)")
        for names, (lo, hi), what in (
            (("weights_in", "weights_rec", "weights_out"), INT8, "8-bit weights"),
            (("dash_mem", "dash_mem_out", "dash_syn", "dash_syn_2", "dash_syn_out"), DASH, "4-bit dash fields"),
            (("threshold", "threshold_out", "bias", "bias_out"), INT16, "16-bit values"),
        ):
            for name in names:
                value = getattr(self, name)
                if value.size and (value.min() < lo or value.max() > hi):
                    raise EvsimError(f"xylo config: {name} must lie in {lo}..{hi} ({what}), found {value.min()}..{value.max()}")
        for name in ("weight_shift_in", "weight_shift_rec", "weight_shift_out"):
            if not SHIFT[0] <= getattr(self, name) <= SHIFT[1]:
                raise EvsimError(f"xylo config: {name} must lie in {SHIFT[0]}..{SHIFT[1]}, got {getattr(self, name)}")

    @property
    def n_inputs(self) -> int:
        return self.weights_in.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.weights_rec.shape[0]

    @property
    def n_outputs(self) -> int:
        return self.weights_out.shape[1]

    @property
    def synapses(self) -> int:
        """Synaptic states the hidden neurons use (1 or 2)."""
        return max(w.shape[2] if w.ndim == 3 else 1 for w in (self.weights_in, self.weights_rec))

    def weights3(self, name: str) -> np.ndarray:
        """weights_in / weights_rec as (pre, post, synapse) with both synapse planes (zeros where unused)."""
        w = getattr(self, name)
        out = np.zeros((w.shape[0], w.shape[1], 2), dtype=np.int64)
        out[:, :, : (w.shape[2] if w.ndim == 3 else 1)] = w if w.ndim == 3 else w[:, :, None]
        return out

    def to_dict(self) -> dict[str, np.ndarray | int | float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def save_xylo_config(config: XyloConfig, path: str | Path) -> None:
    """Write the configuration as an uncompressed .npz, one array per field (scalars 0-d)."""
    path = Path(path)
    try:
        with open(path, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in config.to_dict().items()})
    except OSError as exc:
        raise EvsimError(f"{path}: cannot write the Xylo configuration ({exc.strerror})") from None


def load_xylo_config(path: str | Path) -> XyloConfig:
    path = Path(path)
    if not path.is_file():
        raise EvsimError(f"{path}: Xylo configuration not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:
        raise EvsimError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    known = {f.name for f in fields(XyloConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise EvsimError(f"{path}: unknown field(s) {', '.join(unknown)} (aliases are not supported)")
    missing = sorted(f.name for f in fields(XyloConfig) if f.name not in data and f.default is MISSING)
    if missing:
        raise EvsimError(f"{path}: missing field(s) {', '.join(missing)}")
    try:
        return XyloConfig(**{k: (v.item() if v.ndim == 0 else v) for k, v in data.items()})
    except EvsimError as exc:
        raise EvsimError(f"{path}: {exc}") from None
