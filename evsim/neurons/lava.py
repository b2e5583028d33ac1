"""Lava's CUBA LIF in integers: the integer step the `loihi` and `loihi2` profiles run for the
layers Lava's LIF process holds (lif, if, li, cuba-lif, cuba-li with Lava's zero reset).

Transcribed from Lava's bit-accurate model (lava-nc/lava `src/lava/proc/lif/models.py`,
`AbstractPyLifModelFixed.subthr_dynamics`, `PyLifModelBitAcc`); docs/hardware.md ("Loihi, bit for
bit") states it with the ground truth it reproduces.  Per neuron and step, u the current (the
layer's `i`), v the voltage, I the events arriving now (each weight already `<< 6`, Lava's
activation shift):

    u = wrap(trunc(u * DU / 4096) + I)          into [-2^23 + 1, 2^23]     DU = 4096 - du_eff
    v = clip(trunc(v * DV / 4096) + u + bias_v) into [-(2^23 - 1), 2^23 - 1]  DV = 4096 - dv
    s = 1 if v > vth else 0                     (never, for li and cuba-li)
    v = 0 where s

trunc rounds toward zero (the profile's truncating 12-bit multiplier decay, Lava's
sign(p) * (|p| >> 12)); bias_v = bias_mant << 6 (netx's bias_exp) and vth = vth_mant << 6.  The
widths come from the profile (24 bits on Loihi); the intervals are Lava's: u's is the profile's
current range moved up by one (Lava wraps values above 2^23 and at or below -2^23), v's is
symmetric.  Lava adds the bias to v, not to u: bias_v holds the leak and, for a lif, if or li
layer (whose u forgets everything each step: du_eff = 4096, so it makes no difference), its
projections' bias; a cuba layer's projections may carry none (`native`).

Three conventions turn a float layer into these integers (`fixed`):
- `evsim`: evsim's quantizer picks the state unit from the weights (docs/hardware.md); decays
  round to the nearest 1/4096, thresholds and biases to the nearest multiple of 64 LSB.
- `netx`: a network read from a netx file holds Lava's integers exactly (one LSB = 1/4096 of
  slayer's unit, weights as stored): the unit is fixed and every integer comes back as it was.
- `nir`: NIR's own Lava converter (neuromorphs/NIR `paper/nir_to_lava.py`): one voltage unit is
  256 weight units (q = 1/(256 * 64)), weights int(dt/tau * W * 256), dv = int(dt/tau * 4095),
  du = int(dt/tau_syn * 4095) (4095 for lif: no current memory), vth = int(v_th * 131071) >> 9,
  every int() truncating.
"""

from __future__ import annotations

import numpy as np

from .base import (
    ARITH_CUR_HI,
    ARITH_CUR_LO,
    ARITH_CUR_WRAP,
    ARITH_MEM_HI,
    ARITH_MEM_LO,
    ARITH_MEM_WRAP,
    N_COEF,
    N_OPT,
    FixedLayer,
    bound,
    decay,
    decay_factor,
    kernel_function,
)

DU, DV, BIAS_V, VTH = range(4)  # integer coefficient columns
O_SPIKING = 0  # option row: 1 for lif, if, cuba-lif; 0 for li, cuba-li
VTH_MANT = (0, (1 << 17) - 1)  # Lava: vth is an unsigned 17-bit mantissa
BIAS_MANT = (-(1 << 12), (1 << 12) - 1)  # Lava: bias_mant is a signed 13-bit mantissa
SHIFT = 6  # Lava: a_in << 6, vth << 6; netx: bias_exp = 6
ONE = 1 << 12  # decay_unity
NETX_UNIT = 1.0 / ONE  # one LSB in slayer's units (s_scale = 64 * 64)
NIR_UNIT = 1.0 / (256 * 64)  # nir_to_lava.py: weights and thresholds * 256, then Lava's << 6

NATIVE_TYPES = ("lif", "if", "li", "cuba-lif", "cuba-li")
SPIKING = ("lif", "if", "cuba-lif")
CURRENT = ("cuba-lif", "cuba-li")
MICROCODE = "Loihi 2 microcode (a neuron program of its own: Lava's LIF process cannot hold it)"


@kernel_function
def step_fixed(c, o, d, v, i, a, s, I):
    # Lava's intervals: u in [lo + 1, hi + 1] (its wrap), v symmetric in [lo + 1, hi]
    u, o_cur = bound(decay(i, c[DU], d) + I, d[ARITH_CUR_LO] + 1, d[ARITH_CUR_HI] + 1, d[ARITH_CUR_WRAP])
    v, o_mem = bound(decay(v, c[DV], d) + u + c[BIAS_V], d[ARITH_MEM_LO] + 1, d[ARITH_MEM_HI], d[ARITH_MEM_WRAP])
    s = (v > c[VTH]) * o[O_SPIKING]
    v = v * (1 - s)
    return v, u, a, s, o_mem, o_mem * 0, o_mem * 0, o_cur


def convention(metadata: dict) -> str:
    """The convention a network's origin asks for: a netx import keeps its integers, a NIR
    import maps the way NIR's Lava converter does, anything else is quantized by evsim."""
    if "netx_import" in metadata:
        return "netx"
    if "nir_import" in metadata:
        return "nir"
    return "evsim"


def native(layer, biased: bool) -> str | None:
    """None if Lava's LIF process computes `layer`; else why not and what it would take (the
    layer then runs its own type's integer step in the profile's widths: an emulation).

    biased: whether the layer's incoming projections carry a non-zero bias.
    """
    t, o, p = layer.neuron, layer.options, layer.params
    if t not in NATIVE_TYPES:
        return f"Lava's LIF has no {t} neuron: it would take {MICROCODE}"
    if t in SPIKING:
        if o["reset"] != "zero" or o["reset_at"] != "same-step" or o["max_spikes"] != 1:
            return (f"reset '{o['reset']}' at '{o['reset_at']}', up to {o['max_spikes']} spike(s) per step: Lava's LIF "
                    f"sets v to 0 at the spike, one spike per step; it would take {MICROCODE}")
        if np.any(p["v_reset"] != 0):
            return f"reset to v_reset != 0: Lava's LIF resets v to 0; it would take {MICROCODE}"
        if np.any(p["v_threshold"] < 0):
            return "a negative threshold: Lava's threshold is an unsigned mantissa"
    if t in CURRENT:
        if o["update"] != "sequential":
            return (f"update '{o['update']}' (the membrane reads the previous current): Lava's v reads the new u; "
                    f"it would take {MICROCODE}")
        if biased:
            return (f"a bias on the synaptic current: Lava's LIF adds its bias to v, not to u; it would take {MICROCODE} "
                    "(moving the bias to v changes the transient)")
    return None


def _truncating_codes(tau: np.ndarray, dt: float) -> np.ndarray:
    """nir_to_lava.py: d = int(dt / tau * 4095) (truncated), clipped to 0..4095."""
    return np.clip(np.trunc(dt / tau * (ONE - 1)), 0, ONE - 1).astype(np.int64)


def fixed(layer, dt: float, discretization: str, ctx, conv: str = "evsim") -> FixedLayer:
    """Lava's integer coefficients for a native layer, by convention `conv` (module docstring).

    ctx: the quantizer's FixedContext; `ctx.unit(gain, **fixed)` quantizes the incoming weights
    and biases for the gain from input current to v (with the hardware decays) and returns the
    unit q; `ctx.mantissa(x, shift, lo, hi)` rounds x to a multiple of 2^shift with its mantissa
    in [lo, hi].
    """
    p, t, size = layer.params, layer.neuron, layer.size
    leaky = "tau_mem" in p
    # the factor on the input current: evsim's quantizer uses the hardware decay (a DC gain of
    # exactly 1); a network that states Lava's integers uses its own float decay, so that a netx
    # vDecay of 0 (tau_mem 2^40: formats/netx.py) keeps its gain and bias
    alpha = decay_factor(p["tau_mem"], dt, discretization) if leaky else np.ones(size)
    if conv == "nir":
        dv = _truncating_codes(p["tau_mem"], dt) if leaky else np.zeros(size, np.int64)
        dv_code, alpha_hw = ONE - dv, (ONE - dv) / ONE
        one_minus = dt / p["tau_mem"] if leaky else None  # the converter's dt/tau correction
    elif leaky:
        dv_code, alpha_hw = ctx.decay(alpha)
        one_minus = 1.0 - (alpha if conv == "netx" else alpha_hw)
    else:  # if: no leak
        dv_code, alpha_hw, one_minus = np.full(size, ONE, np.int64), np.ones(size), None
    gain = p["r"] * dt if one_minus is None else one_minus * p["r"]
    if t in CURRENT:
        if conv == "nir":  # Lava LIF(du = int(dt/tau_syn * 4095)) decays u by du + 1 (its ds_offset)
            du_code = ONE - np.minimum(_truncating_codes(p["tau_syn"], dt) + 1, ONE)
            syn_gain = dt / p["tau_syn"] * p["w_in"]
        else:
            alpha_syn = decay_factor(p["tau_syn"], dt, discretization)
            du_code, syn_hw = ctx.decay(alpha_syn)
            syn_gain = (1.0 - (alpha_syn if conv == "netx" else syn_hw)) * p["w_in"]
        gain = gain * syn_gain
    else:
        du_code = np.zeros(size, np.int64)  # du_eff = 4096: u holds this step's input only
    fixed_unit = {"netx": {"q": NETX_UNIT, "rounding": "nearest"}, "nir": {"q": NIR_UNIT, "rounding": "truncate"}}.get(conv, {})
    q = ctx.unit(gain, **fixed_unit)
    clipped = {}
    # Lava adds one bias to v: the leak and (u being memoryless here, else `native` refuses)
    # the projections' bias, which therefore leaves the current
    leak = one_minus * p["v_leak"] if "v_leak" in p and leaky else np.zeros(size)
    rounding = "truncate" if conv == "nir" else "nearest"
    bias_v, clipped["bias_v"] = ctx.mantissa((leak + ctx.take_bias()) / q, SHIFT, *BIAS_MANT, rounding)
    coef = np.zeros((size, N_COEF), dtype=np.int64)
    coef[:, DU], coef[:, DV], coef[:, BIAS_V] = du_code, dv_code, bias_v
    if t in SPIKING:
        if conv == "nir":
            mant = np.right_shift(np.trunc(p["v_threshold"] * ((1 << 17) - 1)).astype(np.int64), 9)
            clipped["theta"] = int(np.count_nonzero((mant < VTH_MANT[0]) | (mant > VTH_MANT[1])))
            coef[:, VTH] = np.clip(mant, *VTH_MANT) << SHIFT
        else:
            coef[:, VTH], clipped["theta"] = ctx.mantissa(p["v_threshold"] / q, SHIFT, *VTH_MANT, rounding)
    decays = {"alpha": alpha_hw, "alpha_syn": du_code / ONE} if t in CURRENT else {"alpha": alpha_hw}
    return FixedLayer(coef=coef, a0=np.zeros(size, np.int64), decays_hw=decays, clipped=clipped)


def option_row(layer) -> np.ndarray:
    row = np.zeros(N_OPT, dtype=np.int64)
    row[O_SPIKING] = int(layer.neuron in SPIKING)
    return row
