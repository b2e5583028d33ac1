"""The training recipe as data: a dataclass, read from JSON and overridden by CLI flags."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EvsimError

NEURONS = ("lif", "alif", "leaky-integrator")
DYNAMICS = ("srnn", "xylo")
MAX_DASH = 15  # Xylo's bit-shift decays are 4-bit fields: tau = dt * 2^dash, dash <= 15


@dataclass
class TrainConfig:
    """Everything that defines a training run.  Defaults are the paper's ECG recipe."""

    # ---- data
    task: str = "ecg"
    split: str = "train"  # the task's split trained on (tasks with a 'split' option)
    val_fraction: float = 0.0  # held-out share of the training data, for model selection
    # ---- architecture: input -> hidden layer(s) (recurrent) -> output
    # 'srnn': the paper's neurons (lif/alif, reset one step late, (1 - alpha) input gain), layers
    # fed at delay 0.  'xylo': Xylo's current-based LIF (kernels.py: synaptic current, bias into
    # the membrane, threshold subtracted at the spike, up to max_spikes per step, decays
    # 1 - dt/tau with tau snapped to dt * 2^dash), every hidden-to-hidden and hidden-to-output
    # weight applied from the previous step's spikes, as Xylo's recurrent and readout matrices.
    dynamics: str = "srnn"
    hidden_size: int | list[int] = 36  # one size per hidden layer (an int: one layer)
    hidden_neuron: str = "lif"
    hidden_beta: float = 0.0
    hidden_b_j0: float = 0.01
    hidden_tau_m: float = 20.0
    hidden_tau_adp: float = 7.0
    hidden_tau_syn: float = 2.0  # xylo: synaptic current time constant
    max_spikes: int = 31  # xylo: spikes per hidden neuron per step (Xylo: 31)
    recurrent: bool = True
    output_neuron: str = "alif"
    output_beta: float = 1.8
    output_b_j0: float = 0.01
    output_tau_m: float = 20.0
    output_tau_adp: float = 100.0
    output_tau_syn: float = 2.0
    learn_tau: bool = True
    tau_snap_epoch: int = 0  # xylo: from this epoch on, time constants are dt * 2^dash and frozen
    dt: float = 1.0  # xylo: the time step in the exported model's time unit (QTDB: 0.004 s); training is in steps
    # ---- readout and loss: NLL of log-softmax(output membrane) at every step >= from_step
    from_step: int = 10
    # ---- surrogate gradient (multi-Gaussian)
    sg_sigma: float = 0.5
    sg_height: float = 0.15
    sg_scale: float = 6.0
    sg_gamma: float = 0.5
    # ---- optimisation
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-2
    lr_tau_hidden: float = 3.0  # multipliers of lr for the time constants (the paper's 3x / 2x)
    lr_tau_output: float = 2.0
    lr_step: int = 100  # StepLR: multiply lr by lr_gamma every lr_step epochs
    lr_gamma: float = 0.5
    grad_clip: float = 0.0  # max global grad norm, 0 = off
    init_state: str = "zeros"  # 'zeros' or 'uniform' (the paper's mem = U(0,1), spike = mem, b = b_j0)
    init_scale: float = 1.0
    dtype: str = "float32"  # training precision; export and golden records are always float64
    seed: int = 0
    threads: int = 2
    backend: str = "fused"  # 'fused' (Numba BPTT, fast) or 'autograd' (plain torch, slow reference)
    n_golden: int = 3
    task_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"n": 600} for ecg-synthetic

    def __post_init__(self) -> None:
        self.validate()

    @property
    def hidden_sizes(self) -> list[int]:
        return [self.hidden_size] if isinstance(self.hidden_size, int) else list(self.hidden_size)

    def validate(self) -> None:
        if self.dynamics not in DYNAMICS:
            raise EvsimError(f"config: dynamics must be one of {DYNAMICS}, got '{self.dynamics}'")
        sizes = [self.hidden_size] if not isinstance(self.hidden_size, (list, tuple)) else list(self.hidden_size)
        if not sizes or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in sizes):
            raise EvsimError(f"config: hidden_size must be a positive integer or a list of them, got {self.hidden_size}")
        if isinstance(self.hidden_size, tuple):
            self.hidden_size = list(self.hidden_size)
        if self.hidden_neuron not in ("lif", "alif"):
            raise EvsimError(f"config: hidden_neuron must be 'lif' or 'alif', got '{self.hidden_neuron}'")
        if self.output_neuron not in NEURONS:
            raise EvsimError(f"config: output_neuron must be one of {NEURONS}, got '{self.output_neuron}'")
        if self.hidden_neuron == "lif" and self.hidden_beta != 0:
            raise EvsimError("config: a lif hidden layer has no adaptation, so hidden_beta must be 0")
        if self.output_neuron == "lif" and self.output_beta != 0:
            raise EvsimError("config: a lif output layer has no adaptation, so output_beta must be 0")
        for key in ("epochs", "batch_size", "threads", "lr_step", "max_spikes"):
            if int(getattr(self, key)) <= 0:
                raise EvsimError(f"config: {key} must be a positive integer, got {getattr(self, key)}")
        for key in ("hidden_tau_m", "hidden_tau_adp", "hidden_tau_syn", "output_tau_m", "output_tau_adp", "output_tau_syn",
                    "lr", "sg_sigma"):
            if not float(getattr(self, key)) > 0:
                raise EvsimError(f"config: {key} must be positive, got {getattr(self, key)}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise EvsimError(f"config: val_fraction must lie in [0, 1), got {self.val_fraction}")
        if self.init_state not in ("zeros", "uniform"):
            raise EvsimError(f"config: init_state must be 'zeros' or 'uniform', got '{self.init_state}'")
        if self.dtype not in ("float32", "float64"):
            raise EvsimError(f"config: dtype must be 'float32' or 'float64', got '{self.dtype}'")
        if self.backend not in ("fused", "autograd"):
            raise EvsimError(f"config: backend must be 'fused' or 'autograd', got '{self.backend}'")
        if self.from_step < 0 or self.n_golden < 0:
            raise EvsimError("config: from_step and n_golden must be >= 0")
        if not float(self.dt) > 0 or (self.dynamics == "srnn" and self.dt != 1.0):
            raise EvsimError(f"config: dt must be positive, and 1 for dynamics 'srnn' (its time constants are in steps), got {self.dt}")
        if self.dynamics == "xylo":
            self._validate_xylo()

    def _validate_xylo(self) -> None:
        if self.hidden_neuron != "lif" or self.output_neuron not in ("lif", "leaky-integrator"):
            raise EvsimError("config: dynamics 'xylo' has lif hidden layers (hidden_neuron 'lif') and a lif or "
                             "leaky-integrator readout: Xylo has no threshold adaptation")
        if self.init_state != "zeros":
            raise EvsimError("config: dynamics 'xylo' trains from the zero state, the state Xylo starts from")
        if not self.hidden_b_j0 > 0 or (self.output_neuron == "lif" and not self.output_b_j0 > 0):
            raise EvsimError("config: dynamics 'xylo' needs positive thresholds (hidden_b_j0, output_b_j0)")
        if not 0 <= self.tau_snap_epoch < self.epochs:
            raise EvsimError(f"config: tau_snap_epoch must lie in [0, epochs) = [0, {self.epochs}) so that the "
                             f"exported time constants are Xylo's powers of two, got {self.tau_snap_epoch}")
        for key in ("hidden_tau_m", "output_tau_m"):
            if not 1.0 <= float(getattr(self, key)) <= 2.0**MAX_DASH:
                raise EvsimError(f"config: {key} must lie in [1, 2^{MAX_DASH}] steps for Xylo's decays, got {getattr(self, key)}")
        for key in ("hidden_tau_syn", "output_tau_syn"):
            if not 2.0 <= float(getattr(self, key)) <= 2.0**MAX_DASH:
                raise EvsimError(f"config: {key} must lie in [2, 2^{MAX_DASH}] steps (dash 0 would erase the input "
                                 f"on Xylo), got {getattr(self, key)}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise EvsimError(f"{where}: unknown key(s) {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise EvsimError(f"{where}: {exc}") from None

    @classmethod
    def from_json(cls, path: str | Path) -> "TrainConfig":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise EvsimError(f"{path}: cannot read the training config ({exc})") from None
        if not isinstance(data, dict):
            raise EvsimError(f"{path}: the training config must be a JSON object")
        return cls.from_dict(data, where=str(path))

    def replace(self, **changes) -> "TrainConfig":
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes)
