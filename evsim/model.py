"""The one model description every part of evsim speaks.

A network is a list of layers (updated in list order each time step), a list of projections
between them, a readout rule and an initial-state rule.  Plain dataclasses over NumPy arrays,
in the spirit of NIR's `nir/ir`: formats convert into this at the edge, engines read it, the
hardware mapper and the energy model read it.  Nothing here knows about files.

Neuron equations (dt = 1 step unless the model says otherwise), per neuron, per step:

    alpha = exp(-dt / tau_m)        rho = exp(-dt / tau_adp)
    b     = rho * b + (1 - rho) * s_prev
    B     = b_j0 + beta * b                     (lif: beta = 0, so B = b_j0)
    mem   = alpha * mem + (1 - alpha) * r_m * I - B * s_prev * dt
    s     = 1 if mem - B > 0 else 0
    leaky-integrator:  mem = alpha * mem + (1 - alpha) * r_m * I   (no spikes, no reset)

with I = sum over the layer's incoming projections of (W @ s_src(t - delay) + bias).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import EvsimError

NEURON_TYPES = ("lif", "alif", "leaky-integrator")
AGGREGATES = ("per_step", "sum_softmax", "mean", "sum")
READOUT_VARIABLES = ("mem", "spike")
INIT_MEM_RULES = ("zeros", "uniform")
INPUT = "input"  # the name a projection uses for the network's input channels

# Arithmetic of one neuron update, per neuron type (docs/counting.md explains each figure).
NEURON_UPDATE_OPS = {
    "lif": {"mul": 2, "add": 3, "compare": 1},
    "alif": {"mul": 4, "add": 5, "compare": 1},
    "leaky-integrator": {"mul": 2, "add": 2, "compare": 0},
}


def _as_vector(value, size: int, what: str) -> np.ndarray:
    """A per-neuron float64 vector from a scalar or an array of that size."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(size, float(arr))
    if arr.shape != (size,):
        raise EvsimError(f"{what}: expected {size} values, found shape {arr.shape}")
    return arr


def _check_finite(arr: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise EvsimError(f"{what}: {bad} value(s) are NaN or infinite")


@dataclass
class Layer:
    """A population of neurons of one type with per-neuron parameters (float64 vectors)."""

    name: str
    size: int
    neuron: str
    tau_m: np.ndarray
    tau_adp: np.ndarray | None = None  # None for leaky integrators (no adaptation)
    beta: np.ndarray | None = None
    b_j0: np.ndarray | None = None

    def __post_init__(self) -> None:
        where = f"layer '{self.name}'"
        if not isinstance(self.name, str) or not self.name or self.name == INPUT or "/" in self.name:
            raise EvsimError(f"{where}: a layer name must be a non-empty string other than '{INPUT}' without '/'")
        if self.neuron not in NEURON_TYPES:
            raise EvsimError(f"{where}: unknown neuron type '{self.neuron}' (expected one of {', '.join(NEURON_TYPES)})")
        if int(self.size) != self.size or self.size <= 0:
            raise EvsimError(f"{where}: size must be a positive integer, got {self.size}")
        self.size = int(self.size)
        self.tau_m = _as_vector(self.tau_m, self.size, f"{where}: tau_m")
        _check_finite(self.tau_m, f"{where}: tau_m")
        if np.any(self.tau_m <= 0):
            raise EvsimError(f"{where}: tau_m must be positive (min is {self.tau_m.min():g})")
        if self.spiking:
            if self.tau_adp is None:
                raise EvsimError(f"{where}: a {self.neuron} layer needs tau_adp")
            self.tau_adp = _as_vector(self.tau_adp, self.size, f"{where}: tau_adp")
            _check_finite(self.tau_adp, f"{where}: tau_adp")
            if np.any(self.tau_adp <= 0):
                raise EvsimError(f"{where}: tau_adp must be positive (min is {self.tau_adp.min():g})")
            if self.b_j0 is None:
                raise EvsimError(f"{where}: a {self.neuron} layer needs b_j0 (the base threshold)")
            self.b_j0 = _as_vector(self.b_j0, self.size, f"{where}: b_j0")
            _check_finite(self.b_j0, f"{where}: b_j0")
            beta = 0.0 if self.beta is None else self.beta
            self.beta = _as_vector(beta, self.size, f"{where}: beta")
            _check_finite(self.beta, f"{where}: beta")
            if self.neuron == "lif" and np.any(self.beta != 0):
                raise EvsimError(f"{where}: a lif layer has no adaptation, so beta must be 0")
        else:
            # An integrator has no threshold and no adaptation: the fields are kept empty so
            # that nothing downstream can use a meaningless number.
            self.tau_adp = None
            self.beta = None
            self.b_j0 = None

    @property
    def spiking(self) -> bool:
        return self.neuron != "leaky-integrator"

    def alpha(self, dt: float) -> np.ndarray:
        """Membrane decay per step; tau_m far below dt underflows to 0, which is allowed."""
        return np.exp(-dt / self.tau_m)

    def rho(self, dt: float) -> np.ndarray:
        """Adaptation decay per step (zeros for integrators, which have none)."""
        if self.tau_adp is None:
            return np.zeros(self.size)
        return np.exp(-dt / self.tau_adp)


@dataclass
class Projection:
    """All-to-all synapses from `source` (a layer name or 'input') to `target`.

    `weight` has shape (target size, source size) as in PyTorch's Linear; `bias` reaches every
    target neuron every step.  `delay` is in steps: 1 reads the source's spikes of the previous
    step (recurrence), 0 the same step's spikes of a layer updated earlier in the step.
    """

    source: str
    target: str
    weight: np.ndarray
    bias: np.ndarray
    delay: int = 0

    def __post_init__(self) -> None:
        self.weight = np.ascontiguousarray(np.asarray(self.weight, dtype=np.float64))
        self.bias = np.asarray(self.bias, dtype=np.float64)
        if self.weight.ndim != 2:
            raise EvsimError(f"{self.label}: weight must be a matrix, found shape {self.weight.shape}")
        if self.bias.shape != (self.weight.shape[0],):
            raise EvsimError(
                f"{self.label}: bias has shape {self.bias.shape}, expected ({self.weight.shape[0]},) "
                "to match the weight's rows"
            )
        _check_finite(self.weight, f"{self.label}: weight")
        _check_finite(self.bias, f"{self.label}: bias")
        if isinstance(self.delay, bool) or int(self.delay) != self.delay or self.delay < 0:
            raise EvsimError(f"{self.label}: delay must be an integer >= 0, got {self.delay!r}")
        self.delay = int(self.delay)

    @property
    def label(self) -> str:
        return f"projection {self.source}->{self.target}"


@dataclass
class Readout:
    """How the prediction is read from a layer.

    per_step: argmax of the variable at every step >= from_step (one prediction per step);
    sum_softmax: argmax of sum_{t >= from_step} softmax(variable_t);
    mean: argmax of the mean over t >= from_step; sum: argmax of the sum over t >= from_step.
    """

    layer: str
    variable: str = "mem"
    aggregate: str = "per_step"
    from_step: int = 0

    def __post_init__(self) -> None:
        if self.variable not in READOUT_VARIABLES:
            raise EvsimError(f"readout: variable must be one of {READOUT_VARIABLES}, got '{self.variable}'")
        if self.aggregate not in AGGREGATES:
            raise EvsimError(f"readout: aggregate must be one of {AGGREGATES}, got '{self.aggregate}'")
        if isinstance(self.from_step, bool) or int(self.from_step) != self.from_step or self.from_step < 0:
            raise EvsimError(f"readout: from_step must be an integer >= 0, got {self.from_step!r}")
        self.from_step = int(self.from_step)


@dataclass
class LayerInit:
    """Initial membrane rule of one layer: zeros, or U(0,1) * scale (scale a number or 'b_j0')."""

    mem: str = "zeros"
    scale: float | str = 1.0

    def __post_init__(self) -> None:
        if self.mem not in INIT_MEM_RULES:
            raise EvsimError(f"initial state: mem must be one of {INIT_MEM_RULES}, got '{self.mem}'")
        if isinstance(self.scale, str):
            if self.scale != "b_j0":
                raise EvsimError(f"initial state: scale must be a number or 'b_j0', got '{self.scale}'")
        else:
            self.scale = float(self.scale)
            if not np.isfinite(self.scale):
                raise EvsimError("initial state: scale must be finite")


@dataclass
class InitialState:
    """The paper's (trained-with) initial-state rule: a default plus per-layer overrides.

    evsim runs from zeros unless the user asks for this rule (`--init paper`), because hardware
    starts from a deterministic state.
    """

    default: LayerInit = field(default_factory=LayerInit)
    layers: dict[str, LayerInit] = field(default_factory=dict)

    def for_layer(self, name: str) -> LayerInit:
        return self.layers.get(name, self.default)


@dataclass
class GoldenRecord:
    """One input sample with the readout trace the training framework produced for it."""

    input: np.ndarray  # (steps, n_inputs) float64
    output: np.ndarray  # (steps, readout size): the readout variable per step
    init: str = "zeros"  # the initial state the framework ran from ('zeros' only is reproducible)
    label: int | None = None
    tolerance: float = 1e-4  # max |output difference| accepted (the framework ran in float32)

    def __post_init__(self) -> None:
        self.input = np.asarray(self.input, dtype=np.float64)
        self.output = np.asarray(self.output, dtype=np.float64)
        if self.input.ndim != 2 or self.output.ndim != 2 or self.input.shape[0] != self.output.shape[0]:
            raise EvsimError(
                f"golden record: input {self.input.shape} and output {self.output.shape} must be "
                "(steps, channels) with the same number of steps"
            )
        _check_finite(self.input, "golden record: input")
        _check_finite(self.output, "golden record: output")
        if self.init != "zeros":
            raise EvsimError(f"golden record: only a zeros initial state is reproducible, got '{self.init}'")


@dataclass
class Network:
    """A whole SRNN: the unit every importer produces and every engine runs."""

    name: str
    n_inputs: int
    layers: list[Layer]
    projections: list[Projection]
    readout: Readout
    initial_state: InitialState = field(default_factory=InitialState)
    dt: float = 1.0
    r_m: float = 1.0
    metadata: dict[str, Any] = field(default_factory=dict)
    golden: list[GoldenRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.validate()

    # ---- structure -------------------------------------------------------------------
    def validate(self) -> None:
        if int(self.n_inputs) != self.n_inputs or self.n_inputs <= 0:
            raise EvsimError(f"network: n_inputs must be a positive integer, got {self.n_inputs}")
        self.n_inputs = int(self.n_inputs)
        for what, value in (("dt", self.dt), ("r_m", self.r_m)):
            if not np.isfinite(value) or value <= 0:
                raise EvsimError(f"network: {what} must be a positive finite number, got {value}")
        if not self.layers:
            raise EvsimError("network: no layers")
        order = {}
        for i, layer in enumerate(self.layers):
            if layer.name in order:
                raise EvsimError(f"network: two layers are named '{layer.name}'")
            order[layer.name] = i
        for p in self.projections:
            if p.target not in order:
                raise EvsimError(f"{p.label}: target layer '{p.target}' does not exist")
            n_tgt = self.layers[order[p.target]].size
            if p.source == INPUT:
                n_src = self.n_inputs
            elif p.source in order:
                src = self.layers[order[p.source]]
                if not src.spiking:
                    raise EvsimError(f"{p.label}: source '{p.source}' is a leaky integrator and emits no spikes")
                n_src = src.size
                if p.delay == 0 and order[p.source] >= order[p.target]:
                    raise EvsimError(
                        f"{p.label}: delay 0 needs a source updated earlier in the step than the target "
                        "(use delay >= 1 for recurrence)"
                    )
            else:
                raise EvsimError(f"{p.label}: source '{p.source}' is neither 'input' nor a layer")
            if p.weight.shape != (n_tgt, n_src):
                raise EvsimError(f"{p.label}: weight has shape {p.weight.shape}, expected ({n_tgt}, {n_src})")
        for layer in self.layers:
            if not any(p.target == layer.name for p in self.projections):
                raise EvsimError(f"layer '{layer.name}': no projection reaches it")
        if self.readout.layer not in order:
            raise EvsimError(f"readout: layer '{self.readout.layer}' does not exist")
        ro_layer = self.layers[order[self.readout.layer]]
        if self.readout.variable == "spike" and not ro_layer.spiking:
            raise EvsimError(f"readout: layer '{ro_layer.name}' is a leaky integrator and has no spikes")
        for name in self.initial_state.layers:
            if name not in order:
                raise EvsimError(f"initial state: layer '{name}' does not exist")
        for g in self.golden:
            if g.input.shape[1] != self.n_inputs or g.output.shape[1] != ro_layer.size:
                raise EvsimError(
                    f"golden record: input width {g.input.shape[1]} / output width {g.output.shape[1]} "
                    f"do not fit the network ({self.n_inputs} inputs, readout size {ro_layer.size})"
                )

    def layer_index(self, name: str) -> int:
        for i, layer in enumerate(self.layers):
            if layer.name == name:
                return i
        raise KeyError(name)

    def layer(self, name: str) -> Layer:
        return self.layers[self.layer_index(name)]

    def incoming(self, name: str) -> list[Projection]:
        """Projections into a layer, in the order their currents are summed."""
        return [p for p in self.projections if p.target == name]

    def source_size(self, p: Projection) -> int:
        return self.n_inputs if p.source == INPUT else self.layer(p.source).size

    @property
    def max_delay(self) -> int:
        return max(p.delay for p in self.projections)

    @property
    def n_neurons(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def readout_size(self) -> int:
        return self.layer(self.readout.layer).size

    def replace(self, **changes) -> "Network":
        return dataclasses.replace(self, **changes)


# ---- initial state --------------------------------------------------------------------


@dataclass
class State:
    """Per-sample state arrays of one layer, shape (samples, size)."""

    mem: np.ndarray
    spike: np.ndarray  # the spike "emitted at step -1": fractional when mem starts random
    b: np.ndarray


def initial_state(network: Network, sample_ids: np.ndarray, rule: str = "zeros", seed: int = 0) -> list[State]:
    """The state every engine starts from, one `State` per layer.

    rule 'zeros': mem = 0, spike = 0, b = b_j0.  rule 'paper': the network's stored rule, where a
    uniform layer gets mem = U(0,1) * scale and (as the original code does) spike = mem, a
    fractional first spike.  Random numbers come from a generator seeded by (seed, sample id), so
    a sample's state does not depend on batching, ordering or the number of threads.
    """
    if rule not in ("zeros", "paper"):
        raise EvsimError(f"initial state: rule must be 'zeros' or 'paper', got '{rule}'")
    sample_ids = np.asarray(sample_ids, dtype=np.int64)
    n = len(sample_ids)
    states = []
    draws = []
    if rule == "paper":
        # One stream per sample covering all layers in order, so adding a layer's zeros rule does
        # not shift another layer's numbers.
        draws = [np.random.default_rng([int(seed), int(s)]).random(network.n_neurons) for s in sample_ids]
    offset = 0
    for layer in network.layers:
        mem = np.zeros((n, layer.size))
        init = network.initial_state.for_layer(layer.name)
        if rule == "paper" and init.mem == "uniform":
            scale = layer.b_j0 if init.scale == "b_j0" else init.scale
            if scale is None:
                raise EvsimError(f"initial state: layer '{layer.name}' is an integrator and has no b_j0 to scale by")
            for i, u in enumerate(draws):
                mem[i] = u[offset : offset + layer.size] * scale
        offset += layer.size
        spike = mem.copy() if layer.spiking else np.zeros_like(mem)
        b = np.broadcast_to(layer.b_j0, mem.shape).copy() if layer.spiking else np.zeros_like(mem)
        states.append(State(mem=mem, spike=spike, b=b))
    return states


# ---- readout decisions ----------------------------------------------------------------


def decide(readout: Readout, trace: np.ndarray) -> np.ndarray:
    """Predictions from a readout trace of shape (samples, steps, classes).

    per_step returns (samples, steps) with -1 before from_step; the others return (samples,).
    Ties go to the lowest class index (NumPy's argmax), identically for every engine.
    """
    trace = np.asarray(trace, dtype=np.float64)
    start = readout.from_step
    if trace.shape[1] <= start:
        raise EvsimError(f"readout: the run has {trace.shape[1]} steps but scoring starts at step {start}")
    window = trace[:, start:, :]
    if readout.aggregate == "per_step":
        pred = np.full(trace.shape[:2], -1, dtype=np.int64)
        pred[:, start:] = np.argmax(window, axis=2)
        return pred
    if readout.aggregate == "sum_softmax":
        z = window - window.max(axis=2, keepdims=True)
        e = np.exp(z)
        return np.argmax((e / e.sum(axis=2, keepdims=True)).sum(axis=1), axis=1)
    if readout.aggregate == "mean":
        return np.argmax(window.mean(axis=1), axis=1)
    return np.argmax(window.sum(axis=1), axis=1)


@dataclass
class NeuronCoefficients:
    """Per-neuron constants of one layer's update, computed once, identically for every engine.

    Both engines evaluate the same expressions on these arrays in the same order, so that the
    neuron update itself never makes them differ; only the summation order of I may.
    """

    alpha: np.ndarray  # exp(-dt / tau_m)
    gain: np.ndarray  # (1 - alpha) * r_m: the factor on the input current
    rho: np.ndarray  # exp(-dt / tau_adp) (0 for integrators)
    one_minus_rho: np.ndarray
    beta: np.ndarray  # 0 for lif and integrators
    b_j0: np.ndarray  # 0 for integrators (never used: they do not spike)
    bias: np.ndarray  # the sum of the incoming projections' biases, in projection order


def coefficients(network: Network, layer: Layer) -> NeuronCoefficients:
    alpha = layer.alpha(network.dt)
    rho = layer.rho(network.dt)
    bias = np.zeros(layer.size)
    for p in network.incoming(layer.name):
        bias = bias + p.bias
    zeros = np.zeros(layer.size)
    return NeuronCoefficients(
        alpha=alpha,
        gain=(1.0 - alpha) * network.r_m,
        rho=rho,
        one_minus_rho=1.0 - rho,
        beta=zeros if layer.beta is None else layer.beta,
        b_j0=zeros if layer.b_j0 is None else layer.b_j0,
        bias=bias,
    )
