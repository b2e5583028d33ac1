"""`cuba-li`: current-based leaky integrator (NIR `CubaLI`): cuba-lif without spikes.

Per neuron and step, with I the input current:

    alpha_syn = exp(-dt / tau_syn),  alpha = exp(-dt / tau_mem)   (euler: 1 - dt/tau)
    i_new = alpha_syn * i + (1 - alpha_syn) * w_in * I
    J = i (update = simultaneous, default) or i_new (sequential)
    v = alpha * v + (1 - alpha) * r * J + (1 - alpha) * v_leak
    i = i_new

Fixed point as cuba-lif (the current in the membrane's unit): i_new = bound_current(decay(i,
alpha_syn) + I), v = bound(decay(v, alpha) + J + leak_q).
"""

from __future__ import annotations

from . import cuba_lif, li, lif
from .base import ARITH_CUR_HI, ARITH_CUR_LO, ARITH_CUR_WRAP, FixedLayer, NeuronType, bound, check_euler, decay, decay_factor, kernel_function


@kernel_function
def step(c, o, v, i, a, s, I):
    i_new = c[cuba_lif.ALPHA_SYN] * i + c[cuba_lif.GAIN_SYN] * I
    drive = i if o[lif.O_UPDATE] == cuba_lif.SIMULTANEOUS else i_new
    v, _, a, s = li.step(c, o, v, i, a, s, drive)
    return v, i_new, a, s


@kernel_function
def step_fixed(c, o, d, v, i, a, s, I):
    i_new, o_cur = bound(decay(i, c[cuba_lif.ALPHA_SYN], d) + I, d[ARITH_CUR_LO], d[ARITH_CUR_HI], d[ARITH_CUR_WRAP])
    drive = i if o[lif.O_UPDATE] == cuba_lif.SIMULTANEOUS else i_new
    v, _, a, s, o_mem, o_adp, o_thr, _ = li.step_fixed(c, o, d, v, i, a, s, drive)
    return v, i_new, a, s, o_mem, o_adp, o_thr, o_cur


def coefficients(p, o, dt, discretization):
    c = li.coefficients(p, o, dt, discretization)
    c[:, cuba_lif.ALPHA_SYN], c[:, cuba_lif.GAIN_SYN] = cuba_lif.synapse_coefficients(p, dt, discretization)
    return c


def fixed(p, o, dt, discretization, ctx):
    syn_c, syn_hw = ctx.decay(decay_factor(p["tau_syn"], dt, discretization))
    m = li.fixed(p, o, dt, discretization, ctx, extra_gain=(1.0 - syn_hw) * p["w_in"])
    coef = m.coef.copy()
    coef[:, cuba_lif.ALPHA_SYN] = syn_c
    return FixedLayer(coef=coef, a0=m.a0, decays_hw={**m.decays_hw, "alpha_syn": syn_hw}, clipped=m.clipped)


def op_mix(p, o):
    mix = li.op_mix(p, o)
    return {**mix, "mul": mix["mul"] + 2, "add": mix["add"] + 1}


TYPE = NeuronType(
    name="cuba-li",
    kernel="cuba-li",
    summary="current-based leaky integrator (no spikes)",
    params=(cuba_lif.TAU_SYN, cuba_lif.TAU_MEM, lif.P_R, lif.P_V_LEAK, cuba_lif.W_IN),
    options=(cuba_lif.UPDATE,),
    spiking=False,
    has_current=True,
    coefficients=coefficients,
    step=step,
    step_fixed=step_fixed,
    fixed=fixed,
    op_mix=op_mix,
    nir_node="CubaLI",
    check=lambda p, o, dt, disc, where: check_euler(p, ("tau_syn", "tau_mem"), dt, disc, where),
    input_gain=lambda c: c[:, 1] * c[:, cuba_lif.GAIN_SYN],
    option_row=lambda o: lif.option_row({"reset": "none", "reset_at": "same-step", "max_spikes": 1}, update=cuba_lif.UPDATES.index(o["update"])),
)
