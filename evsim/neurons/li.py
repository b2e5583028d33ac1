"""`li`: leaky integrator, the SRNN readout (NIR `LI`; files may still call it `leaky-integrator`).

Per neuron and step, with I the input current (biases plus the events arriving now):

    alpha = exp(-dt / tau_mem)  (exact)   or   1 - dt / tau_mem  (euler)
    v = alpha * v + (1 - alpha) * r * I + (1 - alpha) * v_leak

It never spikes.  Fixed point: weights and biases scaled by (1 - alpha_hw) * r / q,
leak_q = round((1 - alpha_hw) * v_leak / q), v = bound(decay(v, alpha) + I + leak_q).
"""

from __future__ import annotations

import numpy as np

from . import lif
from .base import (
    ARITH_MEM_HI,
    ARITH_MEM_LO,
    ARITH_MEM_WRAP,
    FixedLayer,
    N_COEF,
    NeuronType,
    Param,
    bound,
    check_euler,
    columns,
    decay,
    decay_factor,
    kernel_function,
)

ALPHA, GAIN, LEAK = lif.ALPHA, lif.GAIN, lif.LEAK


@kernel_function
def step(c, o, v, i, a, s, I):
    v = c[ALPHA] * v + c[GAIN] * I + c[LEAK]
    return v, i, a, s


@kernel_function
def step_fixed(c, o, d, v, i, a, s, I):
    v, o1 = bound(decay(v, c[ALPHA], d) + I + c[LEAK], d[ARITH_MEM_LO], d[ARITH_MEM_HI], d[ARITH_MEM_WRAP])
    return v, i, a, s, o1, o1 * 0, o1 * 0, o1 * 0


def coefficients(p, o, dt, discretization):
    alpha = decay_factor(p["tau_mem"], dt, discretization)
    return columns(len(alpha), alpha, (1.0 - alpha) * p["r"], (1.0 - alpha) * p["v_leak"])


def fixed(p, o, dt, discretization, ctx, extra_gain=1.0):
    """extra_gain: a factor between the input current and the membrane (cuba-li's synapse)."""
    size = len(p["tau_mem"])
    alpha_c, alpha_hw = ctx.decay(decay_factor(p["tau_mem"], dt, discretization))
    q = ctx.unit((1.0 - alpha_hw) * p["r"] * extra_gain)
    leak, leak_clip = ctx.fit((1.0 - alpha_hw) * p["v_leak"] / q, "membrane")
    coef = np.zeros((size, N_COEF), dtype=np.int64)
    coef[:, ALPHA], coef[:, LEAK] = alpha_c, leak
    return FixedLayer(coef=coef, a0=np.zeros(size, np.int64),
                      decays_hw={"alpha": alpha_hw}, clipped={"leak": leak_clip})


def op_mix(p, o):
    """mul: alpha*v, gain*I; add: bias, membrane sum, (leak)."""
    return {"mul": 2, "add": 2 + (1 if np.any(p.get("v_leak", 0) != 0) else 0), "compare": 0}


TYPE = NeuronType(
    name="li",
    kernel="li",
    summary="leaky integrator (no spikes): the SRNN readout",
    params=(Param("tau_mem", "time", "membrane time constant", positive=True, nir="tau"), lif.P_V_LEAK, lif.P_R),
    options=(),
    spiking=False,
    has_current=False,
    coefficients=coefficients,
    step=step,
    step_fixed=step_fixed,
    fixed=fixed,
    op_mix=op_mix,
    nir_node="LI",
    check=lambda p, o, dt, disc, where: check_euler(p, ("tau_mem",), dt, disc, where),
)
