"""`lif`: leaky integrate-and-fire (NIR `LIF`), with a subtractive, zero or no reset.

Per neuron and step, with s the spikes of the previous step and I the input current (the
incoming projections' biases plus the events arriving now):

    alpha = exp(-dt / tau_mem)  (exact)   or   1 - dt / tau_mem  (euler)
    gain  = (1 - alpha) * r               leak = (1 - alpha) * v_leak

reset_at = same-step (default; NIR's reference, Norse, Lava and Xylo reset at the spike):

    v = alpha * v + gain * I + leak
    max_spikes = 1:   s = 1 if v - v_threshold > 0 else 0
                      subtract: v = v - v_threshold * s
                      zero:     v = v * (1 - s) + v_reset * s
                      none:     v unchanged
    max_spikes = k > 1 (reset subtract only; Xylo's hidden neurons):
                      s = 0; repeat k times: f = 1 if v >= v_threshold else 0;
                                             v = v - v_threshold * f;  s = s + f

reset_at = next-step (the SRNN papers and snnTorch reset at the following step, from s):

    zero:     v = v * (1 - s) + v_reset * s          (before the update below)
    v = alpha * v + gain * I + leak
    subtract: v = v - v_threshold * s                (after it)
    s = 1 if v - v_threshold > 0 else 0

The spikes s leave the neuron in that step.  Fixed point, with q the state unit, the weights and
biases scaled by gain / q, theta = round(v_threshold / q), leak_q = round(leak / q),
v_reset_q = round(v_reset / q) and bound() the profile's saturation or wrap:

    same-step:  v = bound(decay(v, alpha) + I + leak_q), then the spike and reset rules above
                with theta and v_reset_q (a subtraction is bound() again)
    next-step:  zero: v = v * (1 - s) + v_reset_q * s;  v = bound(decay(v, alpha) + I + leak_q);
                subtract: v = bound(v - theta * s);  s = 1 if v > theta else 0
"""

from __future__ import annotations

import numpy as np

from .base import (
    ARITH_MEM_HI,
    ARITH_MEM_LO,
    ARITH_MEM_WRAP,
    FixedLayer,
    N_COEF,
    N_OPT,
    NeuronType,
    Option,
    Param,
    bound,
    check_euler,
    columns,
    decay,
    decay_factor,
    kernel_function,
)
from ..errors import EvsimError

# coefficient columns (float and integer alike: the integer ALPHA is a decay code)
ALPHA, GAIN, LEAK, V_TH, V_RESET = range(5)
# option row: reset, reset timing, spikes per step, whether the membrane decays (if: no), and
# for current-based types how the membrane reads the current (cuba_lif.py)
O_RESET, O_RESET_AT, O_MAX_SPIKES, O_LEAKY, O_UPDATE = range(5)
SUBTRACT, ZERO, NONE = 0, 1, 2
SAME_STEP, NEXT_STEP = 0, 1
RESETS = ("subtract", "zero", "none")
RESET_AT = ("same-step", "next-step")


@kernel_function
def step(c, o, v, i, a, s, I):
    if o[O_RESET_AT] == NEXT_STEP:
        if o[O_RESET] == ZERO:
            v = v * (1.0 - s) + c[V_RESET] * s
        v = c[ALPHA] * v + c[GAIN] * I + c[LEAK]
        if o[O_RESET] == SUBTRACT:
            v = v - c[V_TH] * s
        s = (v - c[V_TH] > 0) * 1.0
        return v, i, a, s
    v = c[ALPHA] * v + c[GAIN] * I + c[LEAK]
    if o[O_MAX_SPIKES] > 1:
        s = v * 0.0
        for _ in range(o[O_MAX_SPIKES]):
            f = (v >= c[V_TH]) * 1.0
            v = v - c[V_TH] * f
            s = s + f
        return v, i, a, s
    s = (v - c[V_TH] > 0) * 1.0
    if o[O_RESET] == SUBTRACT:
        v = v - c[V_TH] * s
    elif o[O_RESET] == ZERO:
        v = v * (1.0 - s) + c[V_RESET] * s
    return v, i, a, s


@kernel_function
def step_fixed(c, o, d, v, i, a, s, I):
    lo, hi, wrap = d[ARITH_MEM_LO], d[ARITH_MEM_HI], d[ARITH_MEM_WRAP]
    if o[O_RESET_AT] == NEXT_STEP and o[O_RESET] == ZERO:
        v = v * (1 - s) + c[V_RESET] * s
    if o[O_LEAKY]:
        v = decay(v, c[ALPHA], d)
    v, o1 = bound(v + I + c[LEAK], lo, hi, wrap)
    o2 = o1 * 0
    if o[O_RESET_AT] == NEXT_STEP:
        if o[O_RESET] == SUBTRACT:
            v, o2 = bound(v - c[V_TH] * s, lo, hi, wrap)
        s = (v > c[V_TH]) * 1
        return v, i, a, s, o1 + o2, o2 * 0, o2 * 0, o2 * 0
    if o[O_MAX_SPIKES] > 1:  # theta > 0 and v >= theta: v - theta stays in range
        s = v * 0
        for _ in range(o[O_MAX_SPIKES]):
            f = (v >= c[V_TH]) * 1
            v = v - c[V_TH] * f
            s = s + f
        return v, i, a, s, o1, o1 * 0, o1 * 0, o1 * 0
    s = (v > c[V_TH]) * 1
    if o[O_RESET] == SUBTRACT:
        v, o2 = bound(v - c[V_TH] * s, lo, hi, wrap)
    elif o[O_RESET] == ZERO:
        v = v * (1 - s) + c[V_RESET] * s
    return v, i, a, s, o1 + o2, o2 * 0, o2 * 0, o2 * 0


def option_row(o, leaky: bool = True, update: int = 0) -> np.ndarray:
    row = np.zeros(N_OPT, dtype=np.int64)
    row[O_RESET] = RESETS.index(o["reset"])
    row[O_RESET_AT] = RESET_AT.index(o["reset_at"])
    row[O_MAX_SPIKES] = o["max_spikes"]
    row[O_LEAKY] = int(leaky)
    row[O_UPDATE] = update
    return row


def check_spiking(p, o, where):
    """Checks every type built on this membrane shares."""
    if o["max_spikes"] > 1:
        if o["reset"] != "subtract" or o["reset_at"] != "same-step":
            raise EvsimError(f"{where}: max_spikes > 1 needs reset 'subtract' at 'same-step' (several spikes subtract the threshold)")
        if np.any(p["v_threshold"] <= 0):
            raise EvsimError(f"{where}: max_spikes > 1 needs v_threshold > 0")


def fixed_membrane(p, alpha_hw, q, ctx, size):
    """Integer columns of the membrane (theta, v_reset, leak) in the state unit q."""
    theta, theta_clip = ctx.fit(p["v_threshold"] / q, "membrane")
    v_reset, reset_clip = ctx.fit(p["v_reset"] / q, "membrane")
    leak, leak_clip = ctx.fit((1.0 - alpha_hw) * p["v_leak"] / q, "membrane")
    coef = np.zeros((size, N_COEF), dtype=np.int64)
    coef[:, V_TH], coef[:, V_RESET], coef[:, LEAK] = theta, v_reset, leak
    return coef, {"theta": theta_clip, "v_reset": reset_clip, "leak": leak_clip}


def coefficients(p, o, dt, discretization):
    alpha = decay_factor(p["tau_mem"], dt, discretization)
    return columns(len(alpha), alpha, (1.0 - alpha) * p["r"], (1.0 - alpha) * p["v_leak"], p["v_threshold"], p["v_reset"])


def fixed(p, o, dt, discretization, ctx, extra_gain=1.0):
    """extra_gain: a factor between the input current and the membrane (cuba-lif's synapse)."""
    size = len(p["tau_mem"])
    alpha_c, alpha_hw = ctx.decay(decay_factor(p["tau_mem"], dt, discretization))
    q = ctx.unit((1.0 - alpha_hw) * p["r"] * extra_gain)
    coef, clipped = fixed_membrane(p, alpha_hw, q, ctx, size)
    coef[:, ALPHA] = alpha_c
    return FixedLayer(coef=coef, a0=np.zeros(size, np.int64),
                      decays_hw={"alpha": alpha_hw}, clipped=clipped)


def op_mix(p, o):
    """mul: alpha*v, gain*I; add: bias, membrane sum, (leak), reset; compare: threshold."""
    adds = 2 + (1 if np.any(p.get("v_leak", 0) != 0) else 0) + (1 if o["reset"] != "none" else 0)
    mul = 2 + (1 if o["reset"] == "zero" else 0)
    return {"mul": mul, "add": adds + max(o["max_spikes"] - 1, 0), "compare": o["max_spikes"]}


def check(p, o, dt, discretization, where):
    check_euler(p, ("tau_mem",), dt, discretization, where)
    check_spiking(p, o, where)


SPIKE_OPTIONS = (
    Option("reset", "after a spike: subtract the threshold, set to v_reset, or nothing", "subtract", RESETS),
    Option("reset_at", "same-step (at the spike) or next-step (the SRNN papers, snnTorch)", "same-step", RESET_AT),
    Option("max_spikes", "spikes per step: 1, or up to k while v >= v_threshold (Xylo)", 1, lo=1, hi=255),
)
P_V_THRESHOLD = Param("v_threshold", "voltage", "firing threshold", nir="v_threshold")
P_V_RESET = Param("v_reset", "voltage", "reset potential (reset 'zero')", default=0.0, nir="v_reset")
P_V_LEAK = Param("v_leak", "voltage", "leak (resting) potential", default=0.0, nir="v_leak")
P_R = Param("r", "resistance", "membrane resistance", default=1.0, nir="r")

TYPE = NeuronType(
    name="lif",
    kernel="lif",
    summary="leaky integrate-and-fire; reset subtract / zero / none, at the spike or at the next step",
    params=(Param("tau_mem", "time", "membrane time constant", positive=True, nir="tau"), P_V_THRESHOLD, P_V_RESET, P_V_LEAK, P_R),
    options=SPIKE_OPTIONS,
    spiking=True,
    has_current=False,
    coefficients=coefficients,
    step=step,
    step_fixed=step_fixed,
    fixed=fixed,
    op_mix=op_mix,
    threshold="v_threshold",
    nir_node="LIF",
    multi_spike="max_spikes",
    check=check,
    option_row=option_row,
)
