"""The registry of neuron types: one module per type, one line per type below.

A type module holds a `TYPE` (base.NeuronType): parameters with units and NIR names, options,
coefficients, float64 step, fixed-point step (or why none), operation mix.  `kernel` names the
step family the engines' Numba kernels run; types may share one (`if` runs on `lif`'s step).
Adding a type: write its module and add it to TYPES.  A type with a step family of its own also
gets a code in STEP_CODES and one dispatch line in each kernel (evsim/engines/kernels.py and
fixed_kernels.py: `_neuron_step`, `_neuron_step_fixed`).  A chip's own integer step (no type of
its own: Lava's CUBA LIF, lava.py) is a module in CHIP_STEPS with a step code of its own.  Numba caches those kernels keyed on their own files only:
after editing a step here, delete evsim/engines/__pycache__ (or touch kernels.py) so they
recompile.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EvsimError
from . import alif, cuba_li, cuba_lif, integrate_fire, integrator, lava, li, lif, xylo
from .base import DISCRETIZATIONS, N_COEF, N_OPT, NeuronType, kernel_functions

TYPES: dict[str, NeuronType] = {t.name: t for t in (
    alif.TYPE,
    lif.TYPE,
    integrate_fire.TYPE,
    li.TYPE,
    cuba_lif.TYPE,
    cuba_li.TYPE,
    integrator.TYPE,
)}  # fmt: skip
ALIASES = {"leaky-integrator": "li"}  # names of version-1 model files
STEP_CODES = {"alif": 0, "lif": 1, "li": 2, "cuba-lif": 3, "cuba-li": 4}  # kernels dispatch on these
NEURON_TYPES = tuple(TYPES)
# the float64 and fixed-point step of each step family (what the dense reference engines call)
STEPS = {code: next((t.step, t.step_fixed) for t in TYPES.values() if t.kernel == kernel) for kernel, code in STEP_CODES.items()}
# chips' own integer steps (a profile's `integer_step`): fixed point only, no type of their own
CHIP_STEPS = {"lava": lava, "xylo": xylo}
STEP_CODES["lava"], STEP_CODES["xylo"] = 5, 6
for _chip, _module in CHIP_STEPS.items():
    STEPS[STEP_CODES[_chip]] = (None, _module.step_fixed)


def get(name: str, where: str = "layer") -> NeuronType:
    name = ALIASES.get(name, name)
    if name not in TYPES:
        raise EvsimError(f"{where}: unknown neuron type '{name}' (expected one of {', '.join(TYPES)})")
    return TYPES[name]


def step_code(t: NeuronType) -> int:
    return STEP_CODES[t.kernel]


def _vector(value, size: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise EvsimError(f"{what}: not a number or an array of numbers") from None
    if arr.ndim == 0:
        arr = np.full(size, float(arr))
    if arr.shape != (size,):
        raise EvsimError(f"{what}: expected {size} values, found shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise EvsimError(f"{what}: {bad} value(s) are NaN or infinite")
    return arr


def validate(t: NeuronType, size: int, params: dict[str, Any], options: dict[str, Any], where: str):
    """Checked per-neuron parameter vectors and per-layer options of a layer of type t."""
    known = {p.name for p in t.params}
    unknown = sorted(set(params) - known)
    if unknown:
        raise EvsimError(f"{where}: {t.name} has no parameter(s) {', '.join(unknown)} (it takes {', '.join(sorted(known)) or 'none'})")
    out_p = {}
    for p in t.params:
        value = params.get(p.name)
        if value is None:
            if p.default is None:
                raise EvsimError(f"{where}: a {t.name} layer needs {p.name} ({p.doc}, {p.unit})")
            value = p.default
        arr = _vector(value, size, f"{where}: {p.name}")
        if p.positive and np.any(arr <= 0):
            raise EvsimError(f"{where}: {p.name} must be positive (min is {arr.min():g})")
        out_p[p.name] = arr
    known_o = {o.name for o in t.options}
    unknown = sorted(set(options) - known_o)
    if unknown:
        raise EvsimError(f"{where}: {t.name} has no option(s) {', '.join(unknown)} (it takes {', '.join(sorted(known_o)) or 'none'})")
    out_o = {o.name: o.check(options.get(o.name, o.default), where) for o in t.options}
    return out_p, out_o


def legacy_layer(neuron: str, size: int, tau_m, tau_adp, beta, b_j0, r_m: float, dt: float, where: str):
    """A version-1 layer (the SRNN family: lif, alif, leaky-integrator over tau_m, tau_adp, beta,
    b_j0 and the network's r_m) as (type, params, options) that compute it bit for bit.

    Version 1's lif was the alif update with beta = 0: a subtractive reset by b_j0 * dt at the
    next step.  With dt = 1 that is `lif` (reset subtract, next-step); otherwise it stays `alif`.
    """
    if neuron in ("leaky-integrator", "li"):
        return "li", {"tau_mem": tau_m, "r": r_m}, {}
    if neuron == "alif" or (neuron == "lif" and dt != 1.0):
        if neuron == "lif" and np.any(np.asarray(beta if beta is not None else 0.0) != 0):
            raise EvsimError(f"{where}: a lif layer has no adaptation, so beta must be 0")
        return "alif", {"tau_m": tau_m, "tau_adp": tau_adp, "beta": 0.0 if beta is None else beta, "b_j0": b_j0, "r": r_m}, {}
    if neuron == "lif":
        if beta is not None and np.any(np.asarray(beta) != 0):
            raise EvsimError(f"{where}: a lif layer has no adaptation, so beta must be 0")
        if b_j0 is None:
            raise EvsimError(f"{where}: a lif layer needs b_j0 (the base threshold)")
        return "lif", {"tau_mem": tau_m, "v_threshold": b_j0, "r": r_m}, {"reset": "subtract", "reset_at": "next-step"}
    raise EvsimError(f"{where}: unknown neuron type '{neuron}' (version-1 files hold lif, alif or leaky-integrator)")


__all__ = ["TYPES", "ALIASES", "STEP_CODES", "STEPS", "NEURON_TYPES", "DISCRETIZATIONS", "N_COEF", "N_OPT", "get", "step_code",
           "validate", "legacy_layer", "kernel_functions", "NeuronType"]
