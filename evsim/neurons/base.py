"""What a neuron type declares, and the arithmetic its steps share.

A type module (alif.py, lif.py, ...) holds one `NeuronType`: its parameters (with units and
their NIR names), its options, how its per-neuron coefficients follow from the parameters and
the discretization, its float64 step, its fixed-point step (or why it has none) and the
arithmetic one update costs.

Steps are written once and run twice: on NumPy arrays by the dense reference engines (one
layer at a time) and on scalars inside the Numba kernels of the event engines (one neuron at a
time).  So a step uses arithmetic, comparisons and NumPy ufuncs only, branches only on the
layer's options `o` (scalars in both cases), and calls only other functions marked
`@kernel_function` (the engines hand those to Numba).  Signatures:

    float64:      step(c, o, v, i, a, s, I)        -> (v, i, a, s)
    fixed point:  step_fixed(c, o, d, v, i, a, s, I) -> (v, i, a, s, ovf_membrane, ovf_adaptation,
                                                         ovf_threshold, ovf_current)

c: the neuron's coefficients, indexed c[k] by a constant (a tuple of scalars in the kernels,
of per-neuron vectors in the reference engines; int64 in fixed point), o: the layer's integer
options, d: the fixed-point arithmetic (ARITH_* below), v the membrane, i the synaptic
current, a the adaptation state, s the spikes of the previous step (a count: 0, 1, or more for
types that fire several per step), I the input current of this step (bias + arriving events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import EvsimError

N_COEF = 8  # per-neuron coefficient columns a step may read (float and integer records alike)
N_OPT = 6  # per-layer integer options a step may read
DISCRETIZATIONS = ("exact", "euler")

# fixed-point arithmetic vector d (int64), filled by the quantizer from the profile
(ARITH_DECAY_KIND, ARITH_DECAY_BITS, ARITH_DECAY_ROUND, ARITH_MIN_STEP,
 ARITH_CUR_LO, ARITH_CUR_HI, ARITH_MEM_LO, ARITH_MEM_HI, ARITH_ADP_LO, ARITH_ADP_HI,
 ARITH_CUR_WRAP, ARITH_MEM_WRAP, ARITH_ADP_WRAP) = range(13)  # fmt: skip
N_ARITH = 13

_KERNEL_FUNCTIONS: list[Callable] = []


def kernel_function(fn: Callable) -> Callable:
    """Mark a step (or a helper a step calls) for Numba; it stays a plain Python function."""
    _KERNEL_FUNCTIONS.append(fn)
    return fn


def kernel_functions() -> list[Callable]:
    return list(_KERNEL_FUNCTIONS)


@dataclass(frozen=True)
class Param:
    """A per-neuron parameter (a float64 vector; a scalar is broadcast)."""

    name: str
    unit: str  # "time" is in dt's unit; "voltage", "current" and "resistance" are consistent
    doc: str
    default: float | None = None  # None: required
    positive: bool = False
    nir: str | None = None  # the field of the NIR node that holds it


@dataclass(frozen=True)
class Option:
    """A per-layer setting: one of `choices` (strings), or an integer in [lo, hi]."""

    name: str
    doc: str
    default: Any
    choices: tuple = ()
    lo: int = 0
    hi: int = 0

    def check(self, value, where: str):
        if self.choices:
            if value not in self.choices:
                raise EvsimError(f"{where}: option {self.name} must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not self.lo <= value <= self.hi:
            raise EvsimError(f"{where}: option {self.name} must be an integer in {self.lo}..{self.hi}, got {value!r}")
        return int(value)

    def code(self, value) -> int:
        return self.choices.index(value) if self.choices else int(value)


@dataclass(frozen=True)
class FixedContext:
    """What the quantizer gives a type to build its integer coefficients (hardware/quantize.py).

    decay(x) -> (codes, effective factors) for decay factors in [0, 1];
    unit(gain) -> q: quantizes the incoming weights and biases scaled by the per-neuron `gain`
    (the factor from input current to the state the weights add to, with the hardware decays)
    and returns the state unit q (size,), the real value of one LSB;
    fit(values, which) -> (values rounded to int64 and clipped to the state width `which`,
    one of 'membrane', 'current', 'adaptation'; the number clipped).
    mantissa(values, shift, lo, hi, rounding) -> (values rounded to multiples of 2^shift with
    mantissas clipped to [lo, hi]; the number clipped): a chip's constant held as a mantissa.
    take_bias() -> the incoming projections' summed bias (gain applied, real units), removed from
    the current, for a chip that adds its bias to another state.  A chip's integer step may
    also pass `unit` a unit fixed by the network's origin (evsim/neurons/lava.py).
    """

    decay: Callable
    unit: Callable
    fit: Callable
    mantissa: Callable | None = None
    take_bias: Callable | None = None  # () -> the projections' bias (gain applied, real units), out of the current


@dataclass(frozen=True)
class FixedLayer:
    """A layer's integer form: coefficients (size, N_COEF) int64, its initial adaptation state,
    the hardware decay factors (for reports) and what was clipped."""

    coef: np.ndarray
    a0: np.ndarray
    decays_hw: dict[str, np.ndarray] = field(default_factory=dict)
    clipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class NeuronType:
    name: str
    kernel: str  # which step family the kernels run (registry STEP_CODES); types may share one
    summary: str
    params: tuple[Param, ...]
    options: tuple[Option, ...]
    spiking: bool
    has_current: bool  # a synaptic current state i (recorded as the layer's `i`)
    coefficients: Callable  # (params, options, dt, discretization) -> (size, N_COEF) float64
    step: Callable
    op_mix: Callable  # (params, options) -> {"mul", "add", "compare"} per update
    step_fixed: Callable | None = None
    fixed: Callable | None = None  # (params, options, dt, discretization, FixedContext) -> FixedLayer
    no_fixed: str = ""  # why there is no fixed-point step, when there is none
    threshold: str | None = None  # the parameter the initial-state scale 'b_j0' refers to
    adaptation: str | None = None  # the parameter the adaptation state starts at (alif: b_j0)
    nir_node: str | None = None  # the NIR node this type is (None: no NIR primitive)
    multi_spike: str | None = None  # the option allowing several spikes per step, if any
    check: Callable | None = None  # (params, options, dt, discretization, where): cross-field checks
    option_row: Callable | None = None  # options -> (N_OPT,) int64 for the step; default: declared order
    input_gain: Callable | None = None  # coefficients -> (size,) factor from I to v; default: column 1

    @property
    def nir_names(self) -> dict[str, str]:
        return {p.name: p.nir for p in self.params if p.nir}

    def gain(self, coef: np.ndarray) -> np.ndarray:
        """The factor from the input current I to the membrane (ranks weights for pruning)."""
        return self.input_gain(coef) if self.input_gain is not None else coef[:, 1]

    def option_codes(self, options: dict[str, Any]) -> np.ndarray:
        if self.option_row is not None:
            return np.asarray(self.option_row(options), dtype=np.int64)
        row = np.zeros(N_OPT, dtype=np.int64)
        for k, opt in enumerate(self.options):
            row[k] = opt.code(options[opt.name])
        return row


def decay_factor(tau: np.ndarray, dt: float, discretization: str) -> np.ndarray:
    """Per-step decay of a time constant: exp(-dt/tau) (exact) or 1 - dt/tau (euler)."""
    if discretization == "exact":
        return np.exp(-dt / tau)
    return 1.0 - dt / tau


def check_euler(params: dict, names: tuple[str, ...], dt: float, discretization: str, where: str) -> None:
    if discretization != "euler":
        return
    for name in names:
        if np.any(params[name] < dt):
            raise EvsimError(
                f"{where}: euler discretization needs {name} >= dt ({dt:g}), min is {params[name].min():g} "
                "(1 - dt/tau would be negative: use the exact discretization)"
            )


def columns(size: int, *cols) -> np.ndarray:
    """Coefficient columns as a (size, N_COEF) float64 array, unused columns 0."""
    out = np.zeros((size, N_COEF))
    for k, col in enumerate(cols):
        out[:, k] = col
    return out


# ---- fixed-point arithmetic shared by the integer steps ----------------------------------------


@kernel_function
def bound(x, lo, hi, wrap):
    """(x saturated or wrapped to [lo, hi], 1 where x was outside it else 0)."""
    out = ((x < lo) | (x > hi)) * 1
    if wrap:
        return (x - lo) % (hi - lo + 1) + lo, out
    return np.minimum(np.maximum(x, lo), hi), out


@kernel_function
def decay(x, code, d):
    """One step of decay of an integer state x.

    Multiplier (d[ARITH_DECAY_KIND] = 0): x * code / 2^bits, rounded floor (0), nearest half up
    (1) or toward zero (2).  Shift (1): x - (x >> code); with min_step a positive x moves by at
    least 1 (Xylo).
    """
    bits = d[ARITH_DECAY_BITS]
    if d[ARITH_DECAY_KIND] == 0:
        p = x * code
        if d[ARITH_DECAY_ROUND] == 0:
            return p >> bits
        if d[ARITH_DECAY_ROUND] == 1:
            return (p + (1 << (bits - 1))) >> bits
        neg = (p < 0) * 1
        return (p >> bits) * (1 - neg) - ((-p) >> bits) * neg
    dv = x >> code
    if d[ARITH_MIN_STEP]:
        dv = dv + ((dv == 0) & (x > 0)) * 1
    return x - dv
