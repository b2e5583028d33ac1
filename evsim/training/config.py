"""The training recipe as data: a dataclass, read from JSON and overridden by CLI flags."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EvsimError

NEURONS = ("lif", "alif", "leaky-integrator")


@dataclass
class TrainConfig:
    """Everything that defines a training run.  Defaults are the paper's ECG recipe."""

    # ---- data
    task: str = "ecg"
    split: str = "train"  # the task's split trained on (tasks with a 'split' option)
    val_fraction: float = 0.0  # held-out share of the training data, for model selection
    # ---- architecture: input -> hidden (recurrent) -> output
    hidden_size: int = 36
    hidden_neuron: str = "lif"
    hidden_beta: float = 0.0
    hidden_b_j0: float = 0.01
    hidden_tau_m: float = 20.0
    hidden_tau_adp: float = 7.0
    recurrent: bool = True
    output_neuron: str = "alif"
    output_beta: float = 1.8
    output_b_j0: float = 0.01
    output_tau_m: float = 20.0
    output_tau_adp: float = 100.0
    learn_tau: bool = True
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

    def validate(self) -> None:
        if self.hidden_neuron not in ("lif", "alif"):
            raise EvsimError(f"config: hidden_neuron must be 'lif' or 'alif', got '{self.hidden_neuron}'")
        if self.output_neuron not in NEURONS:
            raise EvsimError(f"config: output_neuron must be one of {NEURONS}, got '{self.output_neuron}'")
        if self.hidden_neuron == "lif" and self.hidden_beta != 0:
            raise EvsimError("config: a lif hidden layer has no adaptation, so hidden_beta must be 0")
        if self.output_neuron == "lif" and self.output_beta != 0:
            raise EvsimError("config: a lif output layer has no adaptation, so output_beta must be 0")
        for key in ("hidden_size", "epochs", "batch_size", "threads", "lr_step"):
            if int(getattr(self, key)) <= 0:
                raise EvsimError(f"config: {key} must be a positive integer, got {getattr(self, key)}")
        for key in ("hidden_tau_m", "hidden_tau_adp", "output_tau_m", "output_tau_adp", "lr", "sg_sigma"):
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
