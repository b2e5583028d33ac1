"""`if`: integrate-and-fire without leak (NIR `IF`).  It runs on lif's step (kernel `lif`).

Per neuron and step, with s the spikes of the previous step and I the input current:

    v = v + (r * dt) * I
    then the spike and reset rules of `lif` (evsim/neurons/lif.py) with v_threshold and v_reset:
    reset subtract / zero / none, at the same step (default) or the next; max_spikes.

There is no time constant, so the discretization changes nothing.  Fixed point: the weights and
biases are scaled by r * dt / q and the membrane does not decay: v = bound(v + I), then lif's
integer spike and reset rules.
"""

from __future__ import annotations

import numpy as np

from . import lif
from .base import FixedLayer, NeuronType, columns


def coefficients(p, o, dt, discretization):
    size = len(p["r"])
    return columns(size, 1.0, p["r"] * dt, 0.0, p["v_threshold"], p["v_reset"])


def fixed(p, o, dt, discretization, ctx):
    size = len(p["r"])
    q = ctx.unit(p["r"] * dt)
    coef, clipped = lif.fixed_membrane({**p, "v_leak": np.zeros(size)}, np.zeros(size), q, ctx, size)
    return FixedLayer(coef=coef, a0=np.zeros(size, np.int64), clipped=clipped)


def op_mix(p, o):
    """mul: (r*dt)*I; add: bias, membrane sum, reset; compare: threshold (no decay)."""
    mix = lif.op_mix({}, o)
    return {**mix, "mul": mix["mul"] - 1}


TYPE = NeuronType(
    name="if",
    kernel="lif",
    summary="integrate-and-fire without leak; lif's resets and spike rules",
    params=(lif.P_V_THRESHOLD, lif.P_V_RESET, lif.P_R),
    options=lif.SPIKE_OPTIONS,
    spiking=True,
    has_current=False,
    coefficients=coefficients,
    step=lif.step,
    step_fixed=lif.step_fixed,
    fixed=fixed,
    op_mix=op_mix,
    threshold="v_threshold",
    nir_node="IF",
    multi_spike="max_spikes",
    check=lambda p, o, dt, disc, where: lif.check_spiking(p, o, where),
    option_row=lambda o: lif.option_row(o, leaky=False),
)
