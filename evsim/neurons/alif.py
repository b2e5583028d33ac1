"""`alif`: the adaptive LIF of Yin, Corradi & Bohte's SRNNs (the paper's `mem_update_adp`).

Per neuron and step, with s the spikes of the previous step (0 or 1) and I the input current
(the incoming projections' biases plus the events arriving now):

    alpha = exp(-dt / tau_m)      rho = exp(-dt / tau_adp)        (euler: 1 - dt/tau)
    a = rho * a + (1 - rho) * s                    the adaptation state (the paper's b)
    B = b_j0 + beta * a                            the threshold
    v = alpha * v + (1 - alpha) * r * I - B * s * dt
    s = 1 if v - B > 0 else 0

The reset subtracts the threshold at the step after the spike (times dt, as the paper writes
it).  The adaptation state starts at b_j0 (the paper's code does so).  Fixed point
(docs/hardware.md), with q the state unit and bound() the profile's saturation or wrap:

    a = bound(decay(a, rho) + inc * s)             inc = round(beta * (1 - rho_hw) / q)
    B = bound(theta + a)                           theta = round(b_j0 / q)
    v = bound(decay(v, alpha) + I);  v = bound(v - B * s);  s = 1 if v > B else 0

with the adaptation starting at round(beta * b_j0 / q), the weights and biases scaled by
(1 - alpha_hw) * r.  NIR has no adaptive LIF: these names are evsim's (the paper's).
"""

from __future__ import annotations

import numpy as np

from .base import (
    ARITH_ADP_HI,
    ARITH_ADP_LO,
    ARITH_ADP_WRAP,
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

ALPHA, GAIN, RHO, ONE_MINUS_RHO, BETA, B_J0, DT = range(7)
F_ALPHA, F_RHO, F_THETA, F_INC = range(4)


def coefficients(p, o, dt, discretization):
    alpha = decay_factor(p["tau_m"], dt, discretization)
    rho = decay_factor(p["tau_adp"], dt, discretization)
    return columns(len(alpha), alpha, (1.0 - alpha) * p["r"], rho, 1.0 - rho, p["beta"], p["b_j0"], dt)


@kernel_function
def step(c, o, v, i, a, s, I):
    a = c[RHO] * a + c[ONE_MINUS_RHO] * s
    threshold = c[B_J0] + c[BETA] * a
    v = c[ALPHA] * v + c[GAIN] * I - threshold * s * c[DT]
    s = (v - threshold > 0) * 1.0
    return v, i, a, s


@kernel_function
def step_fixed(c, o, d, v, i, a, s, I):
    a, o_adp = bound(decay(a, c[F_RHO], d) + c[F_INC] * s, d[ARITH_ADP_LO], d[ARITH_ADP_HI], d[ARITH_ADP_WRAP])
    threshold, o_thr = bound(c[F_THETA] + a, d[ARITH_MEM_LO], d[ARITH_MEM_HI], d[ARITH_MEM_WRAP])
    v, o1 = bound(decay(v, c[F_ALPHA], d) + I, d[ARITH_MEM_LO], d[ARITH_MEM_HI], d[ARITH_MEM_WRAP])
    v, o2 = bound(v - threshold * s, d[ARITH_MEM_LO], d[ARITH_MEM_HI], d[ARITH_MEM_WRAP])
    s = (v > threshold) * 1
    return v, i, a, s, o1 + o2, o_adp, o_thr, o1 * 0


def fixed(p, o, dt, discretization, ctx):
    size = len(p["tau_m"])
    alpha_c, alpha_hw = ctx.decay(decay_factor(p["tau_m"], dt, discretization))
    rho_c, rho_hw = ctx.decay(decay_factor(p["tau_adp"], dt, discretization))
    q = ctx.unit((1.0 - alpha_hw) * p["r"])
    theta, theta_clip = ctx.fit(p["b_j0"] / q, "membrane")
    inc, inc_clip = ctx.fit(p["beta"] * (1.0 - rho_hw) / q, "adaptation")
    a0, _ = ctx.fit(p["beta"] * p["b_j0"] / q, "adaptation")
    coef = np.zeros((size, N_COEF), dtype=np.int64)
    coef[:, F_ALPHA], coef[:, F_RHO], coef[:, F_THETA], coef[:, F_INC] = alpha_c, rho_c, theta, inc
    return FixedLayer(coef=coef, a0=a0, decays_hw={"alpha": alpha_hw, "rho": rho_hw},
                      clipped={"theta": theta_clip, "adaptation_step": inc_clip})


def check(p, o, dt, discretization, where):
    check_euler(p, ("tau_m", "tau_adp"), dt, discretization, where)


TYPE = NeuronType(
    name="alif",
    kernel="alif",
    summary="adaptive LIF (Yin et al.): threshold b_j0 + beta*a, reset by subtracting it at the next step",
    params=(
        Param("tau_m", "time", "membrane time constant", positive=True),
        Param("tau_adp", "time", "adaptation time constant", positive=True),
        Param("beta", "1", "adaptation strength (0: a plain LIF)", default=0.0),
        Param("b_j0", "voltage", "base threshold"),
        Param("r", "resistance", "membrane resistance (the paper's R_m)", default=1.0),
    ),
    options=(),
    spiking=True,
    has_current=False,
    coefficients=coefficients,
    step=step,
    step_fixed=step_fixed,
    fixed=fixed,
    op_mix=lambda p, o: {"mul": 4, "add": 5, "compare": 1},
    threshold="b_j0",
    adaptation="b_j0",
    check=check,
)
