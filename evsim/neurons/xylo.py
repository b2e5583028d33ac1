"""`xylo`: the integer neuron of SynSense's Xylo SNN cores, as xylosim 0.1.3 computes it
(src/v2/cpp/XyloIAFNeuron.cpp, XyloLayer.cpp; bit-exact with the chips).  A chip's integer step,
not a neuron type: the Xylo profiles run `lif`, `cuba-lif`, `li` and `cuba-li` layers on it
(evsim.hardware.xylo), and it has no float step.

Two synaptic states per neuron, i (synapse 1) and a (synapse 2; 0 where unused), int16.  Unlike
the other integer steps, events add into the states themselves, each with saturation, in
delivery order (input channels, then the hidden neurons' spikes of the previous step, by
index; a count of c events of one source adds c * w at once, which saturation cannot tell from
c adds of w); the step receives the states after this step's deliveries and I = the bias.
With dec(x, d) = x >> d, or 1 where that is 0 and x > 0 (a negative x always moves by at least 1),
sat() saturating and wrap() wrapping to 16 bits:

    i = i - dec(i, dash_syn);  a = a - dec(a, dash_syn_2)
    dv = wrap(-dec(v, dash_mem))            (C++ int16 negation: v = -32768 with dash 0 stays)
    dv = sat(dv + i + a);  dv = sat(dv + I);  v = sat(v + dv)
    s = 0;  repeat max_spikes times: f = 1 if v >= threshold else 0;  v = wrap(v - threshold * f);  s = s + f

max_spikes is 31 for hidden neurons and 1 for readout neurons (XyloIAFNeuron.h).
"""

from __future__ import annotations

from .base import ARITH_MEM_HI, ARITH_MEM_LO, bound, kernel_function

# integer coefficient columns
DASH_MEM, DASH_SYN, DASH_SYN2, THRESHOLD = range(4)
# option row: spikes per step, in the column the lif family keeps it
O_MAX_SPIKES = 2
HIDDEN_MAX_SPIKES, READOUT_MAX_SPIKES = 31, 1


@kernel_function
def xylo_decay(x, dash):
    dv = x >> dash
    return dv + ((dv == 0) & (x > 0)) * 1


@kernel_function
def step_fixed(c, o, d, v, i, a, s, I):
    """The states are 16-bit on every Xylo; d's membrane bounds hold the profile's width."""
    lo, hi = d[ARITH_MEM_LO], d[ARITH_MEM_HI]
    i = i - xylo_decay(i, c[DASH_SYN])
    a = a - xylo_decay(a, c[DASH_SYN2])
    dv = bound(-xylo_decay(v, c[DASH_MEM]), lo, hi, True)[0]
    dv, o1 = bound(dv + i + a, lo, hi, False)
    dv, o2 = bound(dv + I, lo, hi, False)
    v, o3 = bound(v + dv, lo, hi, False)
    s = v * 0
    for _ in range(o[O_MAX_SPIKES]):
        f = (v >= c[THRESHOLD]) * 1
        v = bound(v - c[THRESHOLD] * f, lo, hi, True)[0]
        s = s + f
    return v, i, a, s, o1 + o2 + o3, o1 * 0, o1 * 0, o1 * 0
