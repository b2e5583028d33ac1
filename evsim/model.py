"""The one model description every part of evsim speaks.

A network is a list of layers (updated in list order each time step), a list of projections
between them, a readout rule and an initial-state rule.  Plain dataclasses over NumPy arrays,
in the spirit of NIR's `nir/ir`: formats convert into this at the edge, engines read it, the
hardware mapper and the energy model read it.  Nothing here knows about files.

A layer's neurons are of one registered type (evsim/neurons: alif, lif, if, li, cuba-lif,
cuba-li); each type's module states its update equations, parameters and options.  Every type
sees, per neuron and step, the input current

    I = sum over the layer's incoming projections of (W @ s_src(t - delay) + bias)

and the network's `dt` and `discretization` (`exact`: decay exp(-dt/tau); `euler`: 1 - dt/tau).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import neurons
from .errors import EvsimError
from .neurons import DISCRETIZATIONS, NEURON_TYPES, NeuronType  # noqa: F401  (NEURON_TYPES: the registry's names, re-exported)

AGGREGATES = ("per_step", "sum_softmax", "mean", "sum", "last", "max")
READOUT_VARIABLES = ("mem", "spike")
INIT_MEM_RULES = ("zeros", "uniform")
INPUT = "input"  # the name a projection uses for the network's input channels

# Bounds on integers a model may hold, so that a hostile file cannot make an engine allocate
# without limit: a delay sizes the event ring buffer (max_delay + 1 slots per source neuron), a
# layer size every state array.  Real hardware delays are far shorter (Loihi: up to 62 steps).
MAX_DELAY = 1 << 12
MAX_SIZE = 1 << 24
MAX_STEP = 1 << 31  # from_step and the like: an int32 step index


def check_int(value, lo: int, hi: int, what: str) -> int:
    """An integer in [lo, hi] from an int or an integral float; anything else is an EvsimError.

    Takes NaN, infinities, booleans, strings and huge values without raising anything else.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise EvsimError(f"{what} must be an integer in {lo}..{hi}, got {value!r}")
    if isinstance(value, (float, np.floating)) and not (np.isfinite(value) and float(value).is_integer()):
        raise EvsimError(f"{what} must be an integer in {lo}..{hi}, got {value!r}")
    if not lo <= value <= hi:
        raise EvsimError(f"{what} must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


def _check_finite(arr: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise EvsimError(f"{what}: {bad} value(s) are NaN or infinite")


@dataclass(init=False, eq=False)
class Layer:
    """A population of neurons of one registered type.

    params: per-neuron float64 vectors, named as the type names them (a scalar is broadcast;
    defaults fill what is left out); options: per-layer settings of the type.  Keyword
    arguments are sorted into the two by name:

        Layer("h", 40, "cuba-lif", tau_syn=5.0, tau_mem=10.0, v_threshold=1.0, reset="zero")

    A parameter reads as an attribute (`layer.tau_mem`).
    """

    name: str
    size: int
    neuron: str
    params: dict[str, np.ndarray]
    options: dict[str, Any]

    def __init__(self, name: str, size: int, neuron: str, params: dict | None = None, options: dict | None = None, **kwargs):
        where = f"layer '{name}'"
        if not isinstance(name, str) or not name or name == INPUT or "/" in name:
            raise EvsimError(f"{where}: a layer name must be a non-empty string other than '{INPUT}' without '/'")
        size = check_int(size, 1, MAX_SIZE, f"{where}: size")
        if not isinstance(neuron, str):
            raise EvsimError(f"{where}: the neuron type must be a name, got {neuron!r}")
        t = neurons.get(neuron, where)
        params, options = dict(params or {}), dict(options or {})
        option_names = {o.name for o in t.options}
        for key, value in kwargs.items():
            (options if key in option_names else params)[key] = value
        self.name, self.size, self.neuron = name, int(size), t.name
        self.params, self.options = neurons.validate(t, self.size, params, options, where)

    def __getattr__(self, key: str):
        params = self.__dict__.get("params")
        if params is not None and key in params:
            return params[key]
        raise AttributeError(f"layer has no attribute or parameter '{key}'")

    @property
    def type(self) -> NeuronType:
        return neurons.TYPES[self.neuron]

    @property
    def spiking(self) -> bool:
        return self.type.spiking

    @property
    def has_current(self) -> bool:
        return self.type.has_current

    @property
    def op_mix(self) -> dict[str, int]:
        """Arithmetic of one neuron update (docs/counting.md)."""
        return self.type.op_mix(self.params, self.options)

    def coefficients(self, dt: float, discretization: str) -> np.ndarray:
        """(size, N_COEF) per-neuron coefficients of the type's step."""
        return np.ascontiguousarray(self.type.coefficients(self.params, self.options, dt, discretization), dtype=np.float64)


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
        self.delay = check_int(self.delay, 0, MAX_DELAY, f"{self.label}: delay")

    @property
    def label(self) -> str:
        return f"projection {self.source}->{self.target}"


@dataclass
class Readout:
    """How the prediction is read from a layer.

    per_step: argmax of the variable at every step >= from_step (one prediction per step);
    sum_softmax: argmax of sum_{t >= from_step} softmax(variable_t);
    mean: argmax of the mean over t >= from_step; sum: argmax of the sum over t >= from_step
    (of spikes: the spike count); last: argmax at the last step; max: argmax of the maximum
    over t >= from_step.
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
        self.from_step = check_int(self.from_step, 0, MAX_STEP, "readout: from_step")


@dataclass
class LayerInit:
    """Initial membrane rule of one layer: zeros, or U(0,1) * scale (scale a number or 'b_j0')."""

    mem: str = "zeros"
    scale: float | str = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.mem, str) or self.mem not in INIT_MEM_RULES:
            raise EvsimError(f"initial state: mem must be one of {INIT_MEM_RULES}, got '{self.mem}'")
        if isinstance(self.scale, str):
            if self.scale != "b_j0":
                raise EvsimError(f"initial state: scale must be a number or 'b_j0', got '{self.scale}'")
        elif isinstance(self.scale, bool) or not isinstance(self.scale, (int, float, np.integer, np.floating)):
            raise EvsimError(f"initial state: scale must be a number or 'b_j0', got {self.scale!r}")
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
        if isinstance(self.tolerance, bool) or not isinstance(self.tolerance, (int, float, np.integer, np.floating)) or not (
            np.isfinite(self.tolerance) and self.tolerance >= 0
        ):
            # An infinite tolerance would switch the golden check off without a word.
            raise EvsimError(f"golden record: tolerance must be a finite number >= 0, got {self.tolerance!r}")
        self.tolerance = float(self.tolerance)
        if self.label is not None:
            self.label = check_int(self.label, 0, MAX_SIZE, "golden record: label")


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
    discretization: str = "exact"  # "exact": exp(-dt/tau); "euler": 1 - dt/tau
    metadata: dict[str, Any] = field(default_factory=dict)
    golden: list[GoldenRecord] = field(default_factory=list)
    # Periodic restarts (lava-dl netx's reset_interval): before its update at step t (0-based), a
    # layer's membrane v and synaptic current i are set to 0 when (t + 1) % reset_interval ==
    # reset_offsets[layer] % reset_interval (hardware time counts from 1).  0: never.
    reset_interval: int = 0
    reset_offsets: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    # ---- structure -------------------------------------------------------------------
    def validate(self) -> None:
        self.n_inputs = check_int(self.n_inputs, 1, MAX_SIZE, "network: n_inputs")
        if isinstance(self.dt, bool) or not isinstance(self.dt, (int, float, np.number)) or not np.isfinite(self.dt) or self.dt <= 0:
            raise EvsimError(f"network: dt must be a positive finite number, got {self.dt!r}")
        self.dt = float(self.dt)
        if self.discretization not in DISCRETIZATIONS:
            raise EvsimError(f"network: discretization must be one of {', '.join(DISCRETIZATIONS)}, got {self.discretization!r}")
        if not isinstance(self.metadata, dict) or not all(isinstance(k, str) for k in self.metadata):
            raise EvsimError(f"network: metadata must be a mapping of names to values, got {type(self.metadata).__name__}")
        if not self.layers:
            raise EvsimError("network: no layers")
        if isinstance(self.reset_interval, bool) or int(self.reset_interval) != self.reset_interval or self.reset_interval < 0:
            raise EvsimError(f"network: reset_interval must be an integer >= 0 (0: never), got {self.reset_interval!r}")
        self.reset_interval = int(self.reset_interval)
        names = {layer.name for layer in self.layers}
        for name, off in self.reset_offsets.items():
            if name not in names:
                raise EvsimError(f"network: reset offset for '{name}', which is not a layer")
            if isinstance(off, bool) or int(off) != off or off < 0:
                raise EvsimError(f"network: reset offset of layer '{name}' must be an integer >= 0, got {off!r}")
        self.reset_offsets = {k: int(v) for k, v in self.reset_offsets.items()}
        order = {}
        for i, layer in enumerate(self.layers):
            if layer.name in order:
                raise EvsimError(f"network: two layers are named '{layer.name}'")
            order[layer.name] = i
            if layer.type.check is not None:
                layer.type.check(layer.params, layer.options, self.dt, self.discretization, f"layer '{layer.name}'")
        for p in self.projections:
            if p.target not in order:
                raise EvsimError(f"{p.label}: target layer '{p.target}' does not exist")
            n_tgt = self.layers[order[p.target]].size
            if p.source == INPUT:
                n_src = self.n_inputs
            elif p.source in order:
                src = self.layers[order[p.source]]
                if not src.spiking:
                    raise EvsimError(f"{p.label}: source '{p.source}' is a non-spiking ({src.neuron}) layer and emits no spikes")
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
            raise EvsimError(f"readout: layer '{ro_layer.name}' is a non-spiking ({ro_layer.neuron}) layer and has no spikes")
        for name in self.initial_state.layers:
            if name not in order:
                raise EvsimError(f"initial state: layer '{name}' does not exist")
        for g in self.golden:
            if g.input.shape[1] != self.n_inputs or g.output.shape[1] != ro_layer.size:
                raise EvsimError(
                    f"golden record: input width {g.input.shape[1]} / output width {g.output.shape[1]} "
                    f"do not fit the network ({self.n_inputs} inputs, readout size {ro_layer.size})"
                )

    def reset_phases(self) -> np.ndarray:
        """(layers,) int64: the (t + 1) % reset_interval at which each layer restarts (0 when
        reset_interval is 0, where nothing restarts)."""
        n = self.reset_interval
        return np.array([self.reset_offsets.get(layer.name, 0) % n if n else 0 for layer in self.layers], dtype=np.int64)

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

    mem: np.ndarray  # the membrane v
    spike: np.ndarray  # the spike "emitted at step -1": fractional when mem starts random
    b: np.ndarray  # the adaptation state a (alif's b; zeros for types without one)
    syn: np.ndarray  # the synaptic current i (zeros for types without one)


def initial_state(network: Network, sample_ids: np.ndarray, rule: str = "zeros", seed: int = 0) -> list[State]:
    """The state every engine starts from, one `State` per layer.

    rule 'zeros': mem = 0, spike = 0, syn = 0, b = the type's starting adaptation (alif: b_j0).
    rule 'paper': the network's stored rule, where a uniform layer gets mem = U(0,1) * scale
    (scale 'b_j0' means the layer's threshold parameter) and, as the original code does,
    spike = mem: a fractional first spike.  Random numbers come from a generator seeded by (seed, sample id), so
    a sample's state does not depend on batching, ordering or the number of threads.
    """
    if rule not in ("zeros", "paper"):
        raise EvsimError(f"initial state: rule must be 'zeros' or 'paper', got '{rule}'")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise EvsimError(f"--seed must be an integer >= 0, got {seed!r}")
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
            if init.scale == "b_j0":
                if layer.type.threshold is None:
                    raise EvsimError(f"initial state: layer '{layer.name}' ({layer.neuron}) has no threshold to scale by")
                scale = layer.params[layer.type.threshold]
            else:
                scale = init.scale
            for i, u in enumerate(draws):
                mem[i] = u[offset : offset + layer.size] * scale
        offset += layer.size
        spike = mem.copy() if layer.spiking else np.zeros_like(mem)
        start = layer.type.adaptation
        b = np.broadcast_to(layer.params[start], mem.shape).copy() if start else np.zeros_like(mem)
        states.append(State(mem=mem, spike=spike, b=b, syn=np.zeros_like(mem)))
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
    if readout.aggregate == "last":
        return np.argmax(window[:, -1, :], axis=1)
    if readout.aggregate == "max":
        return np.argmax(window.max(axis=1), axis=1)
    return np.argmax(window.sum(axis=1), axis=1)
