"""`cuba-lif`: current-based LIF (NIR `CubaLIF`): a synaptic current with its own time constant
feeds the membrane.

Per neuron and step, with s the spikes of the previous step and I the input current (the
incoming projections' biases plus the events arriving now):

    alpha_syn = exp(-dt / tau_syn),  alpha = exp(-dt / tau_mem)   (euler: 1 - dt/tau)
    i_new = alpha_syn * i + (1 - alpha_syn) * w_in * I
    J = i      (update = simultaneous: both states from the previous step, explicit Euler;
                NIR's reference implementation, Norse)
    J = i_new  (update = sequential: the membrane reads the new current; Lava, snnTorch, Xylo)
    the membrane, spike and reset of `lif` (evsim/neurons/lif.py) driven by J:
        v = alpha * v + (1 - alpha) * r * J + (1 - alpha) * v_leak, then lif's spike/reset rules
    i = i_new

Fixed point: the current is held in the membrane's unit q, scaled by g_v = (1 - alpha_hw) * r
(so the membrane adds it as it is); weights and biases are scaled by
(1 - alpha_syn_hw) * w_in * g_v / q, and

    i_new = bound_current(decay(i, alpha_syn) + I);  J = i or i_new as above
    v = bound(decay(v, alpha) + J + leak_q), then lif's integer spike and reset rules.

(Chip variants — Lava's CUBA with its bias outside the synapse, Xylo's 16-bit neuron — are
integer steps of their own: docs/hardware.md, "adding an integer step".)
"""

from __future__ import annotations

from . import lif
from .base import ARITH_CUR_HI, ARITH_CUR_LO, ARITH_CUR_WRAP, FixedLayer, NeuronType, Option, Param, bound, check_euler, decay, decay_factor, kernel_function

ALPHA_SYN, GAIN_SYN = 5, 6
UPDATES = ("simultaneous", "sequential")
SIMULTANEOUS = 0


@kernel_function
def step(c, o, v, i, a, s, I):
    i_new = c[ALPHA_SYN] * i + c[GAIN_SYN] * I
    drive = i if o[lif.O_UPDATE] == SIMULTANEOUS else i_new
    v, _, a, s = lif.step(c, o, v, i, a, s, drive)
    return v, i_new, a, s


@kernel_function
def step_fixed(c, o, d, v, i, a, s, I):
    i_new, o_cur = bound(decay(i, c[ALPHA_SYN], d) + I, d[ARITH_CUR_LO], d[ARITH_CUR_HI], d[ARITH_CUR_WRAP])
    drive = i if o[lif.O_UPDATE] == SIMULTANEOUS else i_new
    v, _, a, s, o_mem, o_adp, o_thr, _ = lif.step_fixed(c, o, d, v, i, a, s, drive)
    return v, i_new, a, s, o_mem, o_adp, o_thr, o_cur


def synapse_coefficients(p, dt, discretization):
    alpha_syn = decay_factor(p["tau_syn"], dt, discretization)
    return alpha_syn, (1.0 - alpha_syn) * p["w_in"]


def coefficients(p, o, dt, discretization):
    c = lif.coefficients(p, o, dt, discretization)
    c[:, ALPHA_SYN], c[:, GAIN_SYN] = synapse_coefficients(p, dt, discretization)
    return c


def fixed(p, o, dt, discretization, ctx):
    syn_c, syn_hw = ctx.decay(decay_factor(p["tau_syn"], dt, discretization))
    m = lif.fixed(p, o, dt, discretization, ctx, extra_gain=(1.0 - syn_hw) * p["w_in"])
    coef = m.coef.copy()
    coef[:, ALPHA_SYN] = syn_c
    return FixedLayer(coef=coef, a0=m.a0, decays_hw={**m.decays_hw, "alpha_syn": syn_hw}, clipped=m.clipped)


def op_mix(p, o):
    """lif's membrane (its gain on J) plus the current: alpha_syn*i, gain_syn*I, one sum."""
    mix = lif.op_mix(p, o)
    return {**mix, "mul": mix["mul"] + 2, "add": mix["add"] + 1}


def option_row(o):
    return lif.option_row(o, leaky=True, update=UPDATES.index(o["update"]))


def check(p, o, dt, discretization, where):
    check_euler(p, ("tau_syn", "tau_mem"), dt, discretization, where)
    lif.check_spiking(p, o, where)


TAU_SYN = Param("tau_syn", "time", "synaptic current time constant", positive=True, nir="tau_syn")
TAU_MEM = Param("tau_mem", "time", "membrane time constant", positive=True, nir="tau_mem")
W_IN = Param("w_in", "1", "input weight of the current (elementwise)", default=1.0, nir="w_in")
UPDATE = Option("update", "simultaneous (membrane reads the previous current) or sequential (the new one)", "simultaneous", UPDATES)

TYPE = NeuronType(
    name="cuba-lif",
    kernel="cuba-lif",
    summary="current-based LIF: synaptic current (tau_syn) into a LIF membrane (tau_mem)",
    params=(TAU_SYN, TAU_MEM, lif.P_R, lif.P_V_LEAK, lif.P_V_THRESHOLD, lif.P_V_RESET, W_IN),
    options=lif.SPIKE_OPTIONS + (UPDATE,),
    spiking=True,
    has_current=True,
    coefficients=coefficients,
    step=step,
    step_fixed=step_fixed,
    fixed=fixed,
    op_mix=op_mix,
    threshold="v_threshold",
    nir_node="CubaLIF",
    multi_spike="max_spikes",
    check=check,
    input_gain=lambda c: c[:, 1] * c[:, GAIN_SYN],
    option_row=option_row,
)
