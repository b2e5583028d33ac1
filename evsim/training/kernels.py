"""Fused forward and backward-through-time of the training SRNN, in Numba (no torch here).

The network is the paper's: input -> hidden (recurrent, delay 1) -> output, hidden lif/alif,
output lif/alif or a leaky integrator.  Per layer, per step, per neuron (dt = R_m = 1):

    b   = rho * b + (1 - rho) * s_prev
    B   = b_j0 + beta * b
    mem = alpha * mem + (1 - alpha) * I - B * s_prev
    s   = H(mem - B)                     (surrogate derivative: multi-Gaussian, see surrogate.py)

with I_h(t) = Win x(t) + b_in + Whh s_h(t-1) + b_hh and I_o(t) = Who s_h(t) + b_o.
The input projection of all steps (`ih`) is computed outside as one matrix product, since it
does not depend on the state.

Autograd through 1301 small steps is dominated by per-operation overhead; here the whole
sequence is one call and the backward pass is written out by hand:

    gx   = gs * S'(x)                    x = mem - B
    gm   = carry_m + loss_m + gx         (total adjoint of mem(t))
    gB   = -gx - gm * s_prev
    gbt  = carry_b + beta * gB           (total adjoint of b(t))
    gI   = (1 - alpha) * gm
    galpha += gm * (mem_prev - I);   grho += gbt * (b_prev - s_prev)
    carry_m = alpha * gm;  carry_b = rho * gbt;  carry_s = (1 - rho) * gbt - gm * B  (+ W^T gI)

Samples are independent, so both passes loop over samples outermost; parameter gradients of
the matrices are formed outside from the per-step current adjoints (gI) with one product each.
tests/test_training.py checks these gradients against plain torch autograd.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

SQRT_2PI = math.sqrt(2.0 * math.pi)


@nb.njit(cache=True, inline="always")
def _gauss(x, mu, sigma):
    d = (x - mu) / sigma
    return math.exp(-0.5 * d * d) / (SQRT_2PI * sigma)


@nb.njit(cache=True)
def surrogate_grad(x, sigma, height, scale, gamma):
    """dS/dx = gamma * [(1+h) N(x;0,s) - h N(x;s,k s) - h N(x;-s,k s)]."""
    return gamma * (
        (1.0 + height) * _gauss(x, 0.0, sigma)
        - height * _gauss(x, sigma, scale * sigma)
        - height * _gauss(x, -sigma, scale * sigma)
    )


@nb.njit(cache=True)
def forward(ih, whh, who, bo, ah, rh, betah, b0h, ao, ro, betao, b0o, o_spiking,
            mh0, sh0, bh0, mo0, so0, bo0,
            mem_h, s_h, b_h, mem_o, s_o, b_o, i_h, i_o):
    """Fill the state traces (samples, steps, size) from the initial state (samples, size)."""
    n, steps, nh = ih.shape
    no = who.shape[0]
    for k in range(n):
        for t in range(steps):
            # ---- hidden layer
            for j in range(nh):
                acc = ih[k, t, j]
                if t > 0:
                    for i in range(nh):
                        acc += whh[j, i] * s_h[k, t - 1, i]
                else:
                    for i in range(nh):
                        acc += whh[j, i] * sh0[k, i]
                i_h[k, t, j] = acc
            for j in range(nh):
                if t > 0:
                    mp, sp, bp = mem_h[k, t - 1, j], s_h[k, t - 1, j], b_h[k, t - 1, j]
                else:
                    mp, sp, bp = mh0[k, j], sh0[k, j], bh0[k, j]
                bb = rh[j] * bp + (1.0 - rh[j]) * sp
                thr = b0h[j] + betah[j] * bb
                m = ah[j] * mp + (1.0 - ah[j]) * i_h[k, t, j] - thr * sp
                mem_h[k, t, j] = m
                b_h[k, t, j] = bb
                s_h[k, t, j] = 1.0 if m - thr > 0.0 else 0.0
            # ---- output layer
            for j in range(no):
                acc = bo[j]
                for i in range(nh):
                    acc += who[j, i] * s_h[k, t, i]
                i_o[k, t, j] = acc
                if t > 0:
                    mp, sp, bp = mem_o[k, t - 1, j], s_o[k, t - 1, j], b_o[k, t - 1, j]
                else:
                    mp, sp, bp = mo0[k, j], so0[k, j], bo0[k, j]
                if o_spiking:
                    bb = ro[j] * bp + (1.0 - ro[j]) * sp
                    thr = b0o[j] + betao[j] * bb
                    m = ao[j] * mp + (1.0 - ao[j]) * acc - thr * sp
                    mem_o[k, t, j] = m
                    b_o[k, t, j] = bb
                    s_o[k, t, j] = 1.0 if m - thr > 0.0 else 0.0
                else:
                    mem_o[k, t, j] = ao[j] * mp + (1.0 - ao[j]) * acc
                    b_o[k, t, j] = 0.0
                    s_o[k, t, j] = 0.0


@nb.njit(cache=True)
def backward(g_mem_o, ih, whh, who, ah, rh, betah, b0h, ao, ro, betao, b0o, o_spiking,
             mh0, sh0, bh0, mo0, so0, bo0,
             mem_h, s_h, b_h, mem_o, s_o, b_o, i_h, i_o,
             sg_sigma, sg_height, sg_scale, sg_gamma,
             g_ih, g_io, g_ah, g_rh, g_ao, g_ro):
    """Adjoints of the currents g_ih, g_io (samples, steps, size) and of the decays (samples, size)."""
    n, steps, nh = ih.shape
    no = who.shape[0]
    dt = ih.dtype
    cm_h = np.zeros(nh, dtype=dt)
    cs_h = np.zeros(nh, dtype=dt)
    cb_h = np.zeros(nh, dtype=dt)
    cm_o = np.zeros(no, dtype=dt)
    cs_o = np.zeros(no, dtype=dt)
    cb_o = np.zeros(no, dtype=dt)
    gs = np.zeros(nh, dtype=dt)
    for k in range(n):
        cm_h[:] = 0.0
        cs_h[:] = 0.0
        cb_h[:] = 0.0
        cm_o[:] = 0.0
        cs_o[:] = 0.0
        cb_o[:] = 0.0
        for t in range(steps - 1, -1, -1):
            # ---- output layer
            for j in range(no):
                if t > 0:
                    mp, sp, bp = mem_o[k, t - 1, j], s_o[k, t - 1, j], b_o[k, t - 1, j]
                else:
                    mp, sp, bp = mo0[k, j], so0[k, j], bo0[k, j]
                gm = cm_o[j] + g_mem_o[k, t, j]
                if o_spiking:
                    thr = b0o[j] + betao[j] * b_o[k, t, j]
                    gx = cs_o[j] * surrogate_grad(mem_o[k, t, j] - thr, sg_sigma, sg_height, sg_scale, sg_gamma)
                    gm += gx
                    gb = cb_o[j] + betao[j] * (-gx - gm * sp)
                    g_ro[k, j] += gb * (bp - sp)
                    cb_o[j] = ro[j] * gb
                    cs_o[j] = (1.0 - ro[j]) * gb - gm * thr
                g_io[k, t, j] = (1.0 - ao[j]) * gm
                g_ao[k, j] += gm * (mp - i_o[k, t, j])
                cm_o[j] = ao[j] * gm
            # ---- hidden layer: spikes feed the output now and the hidden layer next step
            for i in range(nh):
                acc = cs_h[i]
                for j in range(no):
                    acc += who[j, i] * g_io[k, t, j]
                gs[i] = acc
            for j in range(nh):
                if t > 0:
                    mp, sp, bp = mem_h[k, t - 1, j], s_h[k, t - 1, j], b_h[k, t - 1, j]
                else:
                    mp, sp, bp = mh0[k, j], sh0[k, j], bh0[k, j]
                thr = b0h[j] + betah[j] * b_h[k, t, j]
                gx = gs[j] * surrogate_grad(mem_h[k, t, j] - thr, sg_sigma, sg_height, sg_scale, sg_gamma)
                gm = cm_h[j] + gx
                gb = cb_h[j] + betah[j] * (-gx - gm * sp)
                gi = (1.0 - ah[j]) * gm
                g_ih[k, t, j] = gi
                g_ah[k, j] += gm * (mp - i_h[k, t, j])
                g_rh[k, j] += gb * (bp - sp)
                cm_h[j] = ah[j] * gm
                cb_h[j] = rh[j] * gb
                cs_h[j] = (1.0 - rh[j]) * gb - gm * thr
            for i in range(nh):
                acc = 0.0
                for j in range(nh):
                    acc += whh[j, i] * g_ih[k, t, j]
                cs_h[i] += acc
