"""`i`: integrator without leak and without spikes (NIR `I`).  It runs on li's step (kernel `li`).

Per neuron and step, with I the input current (biases plus the events arriving now):

    v = v + (r * dt) * I

(li's step with alpha = 1, gain = r * dt, no leak.)  There is no time constant, so the
discretization changes nothing.  Fixed point: the weights and biases are scaled by r * dt / q and
v = bound(decay(v, 1) + I); a multiplier decay holds the factor 1 exactly, a shift decay
(x - (x >> dash)) cannot, and uses its largest dash (the report lists the factor).
"""

from __future__ import annotations

import numpy as np

from . import li
from .base import FixedLayer, NeuronType, Param, columns


def coefficients(p, o, dt, discretization):
    size = len(p["r"])
    return columns(size, 1.0, p["r"] * dt, 0.0)


def fixed(p, o, dt, discretization, ctx):
    size = len(p["r"])
    alpha_c, alpha_hw = ctx.decay(np.ones(size))
    q = ctx.unit(p["r"] * dt)
    coef = np.zeros((size, 8), dtype=np.int64)
    coef[:, li.ALPHA] = alpha_c
    return FixedLayer(coef=coef, a0=np.zeros(size, np.int64), decays_hw={"alpha": alpha_hw}, clipped={})


def op_mix(p, o):
    """mul: (r*dt)*I; add: bias, membrane sum (the factor 1 on v is no multiplication)."""
    return {"mul": 1, "add": 2, "compare": 0}


TYPE = NeuronType(
    name="i",
    kernel="li",
    summary="integrator without leak (no spikes)",
    params=(Param("r", "resistance", "input resistance", default=1.0, nir="r"),),
    options=(),
    spiking=False,
    has_current=False,
    coefficients=coefficients,
    step=li.step,
    step_fixed=li.step_fixed,
    fixed=fixed,
    op_mix=op_mix,
    nir_node="I",
)
