"""Fused forward and backward-through-time of the training network, in Numba (no torch here).

The network is a stack: input -> hidden layer 1 -> ... -> hidden layer L -> output, each hidden
layer optionally recurrent (delay 1).  Layers are updated in stack order each step.  A layer's
input current is

    I_l(t) = W_ff,l s_{l-1}(t - d_l) + W_rec,l s_l(t - 1) (+ bias, srnn kinds)

where s_0 is the input (its projection, delay 0, is computed outside as one matrix product for
all steps, `ih`, since it does not depend on the state) and d_l is the layer's feedforward delay
(0 in the paper's networks; 1 on Xylo, where every hidden-to-hidden and hidden-to-output weight
is applied from the previous step's spikes).  Neuron kinds, per neuron and step (dt = 1):

  KIND_SRNN (the paper's lif/alif; beta = 0 is lif), s_prev the layer's spikes of t-1:
      b   = rho * b + (1 - rho) * s_prev;   B = b_j0 + beta * b
      mem = alpha * mem + (1 - alpha) * I - B * s_prev;   s = H(mem - B)
  KIND_SRNN_LI (the paper's leaky-integrator readout): mem = alpha * mem + (1 - alpha) * I
  KIND_CUBA (Xylo's neuron, xylosim's XyloIAFNeuron in float; theta = b_j0, K = max_spikes):
      i = alpha_syn * (i + I)             (the step's input arrives, then the current decays)
      u = alpha * v + i + bias            (the bias reaches the membrane directly)
      n = number of k in 1..K with u >= k * theta;   v = u - theta * n   (reset at the spike)
  KIND_CUBA_LI (Xylo's readout membrane, never firing): i as above, v = alpha * v + i + bias

The surrogate derivative of a spike is the multi-Gaussian S'(x) (see surrogate_grad).  For the
multi-spike count n(u) it is S'(u - k0*theta) + S'(u - (k0+1)*theta), k0 = clamp(floor(u/theta),
1, K), the second term only when k0 < K: the two thresholds nearest u (K = 1: S'(u - theta)).

Autograd through 1301 small steps is dominated by per-operation overhead; here the whole
sequence is one call and the backward pass is written out by hand.  KIND_SRNN:

    gx   = gs * S'(x)                    x = mem - B
    gm   = carry_m (+ loss_m) + gx       (total adjoint of mem(t))
    gB   = -gx - gm * s_prev
    gbt  = carry_b + beta * gB           (total adjoint of b(t))
    gI   = (1 - alpha) * gm
    galpha += gm * (mem_prev - I);   grho += gbt * (b_prev - s_prev)
    carry_m = alpha * gm;  carry_b = rho * gbt;  carry_s = (1 - rho) * gbt - gm * B

KIND_CUBA (gs the adjoint of n(t), gv of v(t)):

    gv = carry_v (+ loss_v);   gu = gv + (gs - theta * gv) * n'(u);   gi = carry_i + gu
    gbias += gu;   galpha += gu * v_prev;   carry_v = alpha * gu
    gI = alpha_syn * gi;   galpha_syn += gi * (i_prev + I);   carry_i = alpha_syn * gi

and every layer's spike carry gets W^T gI of the layers its spikes feed (delay 0: this step's
gI, delay 1: added to the carry for the step before).  Samples are independent, so both passes
loop over samples outermost; the weight gradients are formed outside from the per-step current
adjoints gI with one product each.  tests/test_training.py checks all of it against plain
torch autograd.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

SQRT_2PI = math.sqrt(2.0 * math.pi)
KIND_SRNN, KIND_SRNN_LI, KIND_CUBA, KIND_CUBA_LI = 0, 1, 2, 3


class Stack(NamedTuple):
    """The network as flat arrays.  Per layer l (hidden layers, then the output):
    off[l]:off[l+1] its neurons in the concatenated state; kind, ff_delay (into l >= 1),
    max_spikes, has_rec; w_ff (target x source of l-1, flattened at ff_off[l]; unused for l = 0),
    w_rec (size x size at rec_off[l]).  Per neuron: alpha (membrane decay), rho (srnn adaptation
    decay, cuba synaptic decay), beta, b0 (srnn base threshold, cuba threshold), cur_bias (srnn:
    the projection biases of layers l >= 1, layer 0's are in ih; cuba: 0), bias (cuba: the
    membrane bias)."""

    kind: np.ndarray
    off: np.ndarray
    ff_delay: np.ndarray
    max_spikes: np.ndarray
    has_rec: np.ndarray
    w_ff: np.ndarray
    ff_off: np.ndarray
    w_rec: np.ndarray
    rec_off: np.ndarray
    cur_bias: np.ndarray
    alpha: np.ndarray
    rho: np.ndarray
    beta: np.ndarray
    b0: np.ndarray
    bias: np.ndarray


class Traces(NamedTuple):
    """Per sample, step and neuron (concatenated layers): mem (cuba: v after the reset), spk
    (spike counts), adp (srnn: b; cuba: the synaptic current i), cur (the input current I)."""

    mem: np.ndarray
    spk: np.ndarray
    adp: np.ndarray
    cur: np.ndarray


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
def spike_count(u, theta, k_max):
    """Spikes of a multi-spike neuron: k in 1..k_max with u >= k * theta (Xylo's >=)."""
    n = 0
    while n < k_max and u >= theta * (n + 1):
        n += 1
    return n


@nb.njit(cache=True)
def count_grad(u, theta, k_max, sigma, height, scale, gamma):
    """Surrogate dn/du: the multi-Gaussian at the two thresholds nearest u."""
    k0 = math.floor(u / theta)
    if k0 < 1:
        k0 = 1
    if k0 > k_max:
        k0 = k_max
    g = surrogate_grad(u - k0 * theta, sigma, height, scale, gamma)
    if k0 < k_max:
        g += surrogate_grad(u - (k0 + 1) * theta, sigma, height, scale, gamma)
    return g


@nb.njit(cache=True, inline="always")
def _matrix(flat, start, rows, cols):
    """A layer's weights (rows x cols) as a view of the flat weight array.  Kernels index
    views from 0 so that Numba can drop its negative-index checks in the inner loops."""
    return flat[start : start + rows * cols].reshape((rows, cols))


@nb.njit(cache=True)
def forward(ih, st, m0, s0, a0, tr):
    """Fill the traces (samples, steps, neurons) from the initial state (samples, neurons)."""
    n, steps, _ = ih.shape
    n_layers = len(st.kind)
    w_ff, w_rec, cur_bias, off, kinds = st.w_ff, st.w_rec, st.cur_bias, st.off, st.kind
    alpha, rho, beta, b0, bias = st.alpha, st.rho, st.beta, st.b0, st.bias
    mem, spk, adp, cur = tr.mem, tr.spk, tr.adp, tr.cur
    for k in range(n):
        for t in range(steps):
            now = spk[k, t]
            prev = spk[k, t - 1] if t > 0 else s0[k]
            for l in range(n_layers):
                lo, hi = off[l], off[l + 1]
                kind = kinds[l]
                # ---- input current
                src = now
                if l > 0 and st.ff_delay[l] == 1:
                    src = prev
                slo = off[l - 1] if l > 0 else 0
                shi = lo
                src_l = src[slo:shi]
                prev_l = prev[lo:hi]
                w_in = _matrix(w_ff, st.ff_off[l], hi - lo, shi - slo)
                w_r = _matrix(w_rec, st.rec_off[l], hi - lo, hi - lo) if st.has_rec[l] else w_in
                for j in range(hi - lo):
                    acc = ih[k, t, j] if l == 0 else cur_bias[lo + j]
                    if l > 0:
                        for i in range(shi - slo):
                            acc += w_in[j, i] * src_l[i]
                    if st.has_rec[l]:
                        for i in range(hi - lo):
                            acc += w_r[j, i] * prev_l[i]
                    cur[k, t, lo + j] = acc
                # ---- neuron update
                for j in range(lo, hi):
                    if t > 0:
                        mp, sp, bp = mem[k, t - 1, j], spk[k, t - 1, j], adp[k, t - 1, j]
                    else:
                        mp, sp, bp = m0[k, j], s0[k, j], a0[k, j]
                    a = alpha[j]
                    c = cur[k, t, j]
                    if kind == KIND_SRNN:
                        bb = rho[j] * bp + (1.0 - rho[j]) * sp
                        thr = b0[j] + beta[j] * bb
                        m = a * mp + (1.0 - a) * c - thr * sp
                        mem[k, t, j] = m
                        adp[k, t, j] = bb
                        spk[k, t, j] = 1.0 if m - thr > 0.0 else 0.0
                    elif kind == KIND_SRNN_LI:
                        mem[k, t, j] = a * mp + (1.0 - a) * c
                        adp[k, t, j] = 0.0
                        spk[k, t, j] = 0.0
                    else:
                        ii = rho[j] * (bp + c)
                        u = a * mp + ii + bias[j]
                        cnt = 0
                        if kind == KIND_CUBA:
                            cnt = spike_count(u, b0[j], st.max_spikes[l])
                        adp[k, t, j] = ii
                        mem[k, t, j] = u - b0[j] * cnt
                        spk[k, t, j] = cnt


@nb.njit(cache=True)
def backward(g_out, ih, st, m0, s0, a0, tr, sg_sigma, sg_height, sg_scale, sg_gamma, g_cur, g_alpha, g_rho, g_bias):
    """Adjoints of the input currents g_cur (samples, steps, neurons) and, per sample and
    neuron, of alpha, rho and the cuba bias, given the adjoint g_out of the output layer's
    membrane (samples, steps, outputs)."""
    n, steps, _ = ih.shape
    n_layers = len(st.kind)
    total = st.off[n_layers]
    dt = ih.dtype
    c_mem = np.zeros(total, dtype=dt)  # carried adjoints of mem(t), adp(t), spk(t) from step t+1
    c_adp = np.zeros(total, dtype=dt)
    c_spk = np.zeros(total, dtype=dt)
    gs = np.zeros(total, dtype=dt)
    o_lo = st.off[n_layers - 1]
    for k in range(n):
        c_mem[:] = 0.0
        c_adp[:] = 0.0
        c_spk[:] = 0.0
        for t in range(steps - 1, -1, -1):
            for l in range(n_layers - 1, -1, -1):
                lo, hi = st.off[l], st.off[l + 1]
                kind = st.kind[l]
                # spike adjoint: the carry, plus this step's current adjoint of the next layer (delay 0)
                if l + 1 < n_layers and st.ff_delay[l + 1] == 0:
                    nlo, nhi = st.off[l + 1], st.off[l + 2]
                    w = _matrix(st.w_ff, st.ff_off[l + 1], nhi - nlo, hi - lo)
                    g_next = g_cur[k, t, nlo:nhi]
                    for i in range(hi - lo):
                        acc = c_spk[lo + i]
                        for j in range(nhi - nlo):
                            acc += w[j, i] * g_next[j]
                        gs[lo + i] = acc
                else:
                    for i in range(lo, hi):
                        gs[i] = c_spk[i]
                for j in range(lo, hi):
                    if t > 0:
                        mp, sp, bp = tr.mem[k, t - 1, j], tr.spk[k, t - 1, j], tr.adp[k, t - 1, j]
                    else:
                        mp, sp, bp = m0[k, j], s0[k, j], a0[k, j]
                    a = st.alpha[j]
                    if l == n_layers - 1:
                        gm = c_mem[j] + g_out[k, t, j - o_lo]
                    else:
                        gm = c_mem[j]
                    if kind == KIND_SRNN:
                        thr = st.b0[j] + st.beta[j] * tr.adp[k, t, j]
                        gx = gs[j] * surrogate_grad(tr.mem[k, t, j] - thr, sg_sigma, sg_height, sg_scale, sg_gamma)
                        gm += gx
                        gb = c_adp[j] + st.beta[j] * (-gx - gm * sp)
                        g_cur[k, t, j] = (1.0 - a) * gm
                        g_alpha[k, j] += gm * (mp - tr.cur[k, t, j])
                        g_rho[k, j] += gb * (bp - sp)
                        c_mem[j] = a * gm
                        c_adp[j] = st.rho[j] * gb
                        c_spk[j] = (1.0 - st.rho[j]) * gb - gm * thr
                    elif kind == KIND_SRNN_LI:
                        g_cur[k, t, j] = (1.0 - a) * gm
                        g_alpha[k, j] += gm * (mp - tr.cur[k, t, j])
                        c_mem[j] = a * gm
                    else:
                        gu = gm
                        if kind == KIND_CUBA:
                            theta = st.b0[j]
                            u = tr.mem[k, t, j] + theta * tr.spk[k, t, j]
                            gu += (gs[j] - theta * gm) * count_grad(u, theta, st.max_spikes[l], sg_sigma, sg_height,
                                                                    sg_scale, sg_gamma)
                        gi = c_adp[j] + gu
                        g_bias[k, j] += gu
                        g_alpha[k, j] += gu * mp
                        c_mem[j] = a * gu
                        g_cur[k, t, j] = st.rho[j] * gi
                        g_rho[k, j] += gi * (bp + tr.cur[k, t, j])
                        c_adp[j] = st.rho[j] * gi
                        c_spk[j] = 0.0
            # the spikes of step t-1 reached this step's currents through delay-1 weights
            for l in range(n_layers):
                lo, hi = st.off[l], st.off[l + 1]
                g_l = g_cur[k, t, lo:hi]
                if st.has_rec[l]:
                    w = _matrix(st.w_rec, st.rec_off[l], hi - lo, hi - lo)
                    for i in range(hi - lo):
                        acc = 0.0
                        for j in range(hi - lo):
                            acc += w[j, i] * g_l[j]
                        c_spk[lo + i] += acc
                if l > 0 and st.ff_delay[l] == 1:
                    slo, shi = st.off[l - 1], st.off[l]
                    w = _matrix(st.w_ff, st.ff_off[l], hi - lo, shi - slo)
                    for i in range(shi - slo):
                        acc = 0.0
                        for j in range(hi - lo):
                            acc += w[j, i] * g_l[j]
                        c_spk[slo + i] += acc
