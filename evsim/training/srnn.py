"""The paper's SRNN in PyTorch: input -> recurrent hidden (lif/alif) -> output (alif/lif/integrator).

Two interchangeable backends compute the same function and gradient:
- 'fused': one autograd node for the whole sequence, forward and backward-through-time in
  Numba (kernels.py).  Fast on a CPU: per-step work is a few hundred flops, so the per-op
  overhead of autograd would dominate.
- 'autograd': the equations written step by step in torch with the multi-Gaussian surrogate as
  an autograd.Function, exactly as the paper's scripts do.  Slow; the yardstick for 'fused'.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..model import (
    INPUT,
    GoldenRecord,
    InitialState,
    Layer,
    LayerInit,
    Network,
    Projection,
    Readout,
)
from ..neurons import legacy_layer
from . import kernels
from .config import TrainConfig

# ---- the multi-Gaussian surrogate -----------------------------------------------------------


def _gauss(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    return torch.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (math.sqrt(2 * math.pi) * sigma)


def surrogate_derivative(x: torch.Tensor, sigma=0.5, height=0.15, scale=6.0, gamma=0.5) -> torch.Tensor:
    """dS/dx = gamma * [(1+h) N(x;0,sigma) - h N(x;sigma,scale*sigma) - h N(x;-sigma,scale*sigma)]."""
    return gamma * (
        (1 + height) * _gauss(x, 0.0, sigma)
        - height * _gauss(x, sigma, scale * sigma)
        - height * _gauss(x, -sigma, scale * sigma)
    )


class MultiGaussianSpike(torch.autograd.Function):
    """Heaviside forward (x > 0), multi-Gaussian surrogate backward."""

    @staticmethod
    def forward(ctx, x, sigma=0.5, height=0.15, scale=6.0, gamma=0.5):
        ctx.save_for_backward(x)
        ctx.params = (sigma, height, scale, gamma)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * surrogate_derivative(x, *ctx.params), None, None, None, None


spike_fn = MultiGaussianSpike.apply


# ---- the fused sequence as one autograd node ------------------------------------------------


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy())


class _FusedSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w_in, b_in, w_hh, b_hh, w_ho, b_o, tau_m_h, tau_adp_h, tau_m_o, tau_adp_o,
                mh0, sh0, bh0, mo0, so0, bo0, consts):
        beta_h, b0_h, beta_o, b0_o, o_spiking, sg = consts
        dtype = w_in.dtype
        with torch.no_grad():
            ih = torch.matmul(x.to(dtype), w_in.t()) + (b_in + b_hh)
        ih = _np(ih)
        n, steps, nh = ih.shape
        no = w_ho.shape[0]
        nd = ih.dtype
        ah, rh = np.exp(-1.0 / _np(tau_m_h)), np.exp(-1.0 / _np(tau_adp_h))
        ao, ro = np.exp(-1.0 / _np(tau_m_o)), np.exp(-1.0 / _np(tau_adp_o))
        traces = [np.empty((n, steps, nh), nd) for _ in range(3)] + [np.empty((n, steps, no), nd) for _ in range(3)]
        i_h = np.empty((n, steps, nh), nd)
        i_o = np.empty((n, steps, no), nd)
        whh, who = _np(w_hh), _np(w_ho)
        init = [_np(v) for v in (mh0, sh0, bh0, mo0, so0, bo0)]
        vec = lambda v, size: np.ascontiguousarray(np.broadcast_to(np.asarray(v, nd), (size,)))  # noqa: E731
        coef = (ah, rh, vec(beta_h, nh), vec(b0_h, nh), ao, ro, vec(beta_o, no), vec(b0_o, no), bool(o_spiking))
        kernels.forward(ih, whh, who, _np(b_o), *coef, *init, *traces, i_h, i_o)
        ctx.saved = (x, ih, whh, who, coef, init, traces, i_h, i_o, sg, (ah, rh, ao, ro))
        ctx.save_for_backward(tau_m_h, tau_adp_h, tau_m_o, tau_adp_o)
        mem_o = torch.from_numpy(traces[3])
        s_h = torch.from_numpy(traces[1])
        s_o = torch.from_numpy(traces[4])
        ctx.mark_non_differentiable(s_h, s_o)
        return mem_o, s_h, s_o

    @staticmethod
    def backward(ctx, g_mem_o, _g_sh, _g_so):
        x, ih, whh, who, coef, init, traces, i_h, i_o, sg, (ah, rh, ao, ro) = ctx.saved
        tau_m_h, tau_adp_h, tau_m_o, tau_adp_o = ctx.saved_tensors
        n, steps, nh = ih.shape
        no = who.shape[0]
        nd = ih.dtype
        g = np.ascontiguousarray(_np(g_mem_o).astype(nd))
        g_ih = np.empty((n, steps, nh), nd)
        g_io = np.empty((n, steps, no), nd)
        g_ah, g_rh = np.zeros((n, nh), nd), np.zeros((n, nh), nd)
        g_ao, g_ro = np.zeros((n, no), nd), np.zeros((n, no), nd)
        kernels.backward(g, ih, whh, who, *coef, *init, *traces, i_h, i_o, *sg, g_ih, g_io, g_ah, g_rh, g_ao, g_ro)
        s_h = traces[1]
        xs = _np(x).astype(nd)
        gi2 = g_ih.reshape(-1, nh)
        g_w_in = gi2.T @ xs.reshape(-1, xs.shape[2])
        g_bias_h = gi2.sum(axis=0)
        s_prev = np.concatenate([init[1][:, None, :], s_h[:, :-1, :]], axis=1).reshape(-1, nh)
        g_w_hh = gi2.T @ s_prev
        go2 = g_io.reshape(-1, no)
        g_w_ho = go2.T @ s_h.reshape(-1, nh)
        g_b_o = go2.sum(axis=0)

        def tau_grad(g_decay, decay, tau):
            # decay = exp(-1/tau): d decay / d tau = decay / tau^2
            return torch.from_numpy(g_decay.sum(axis=0) * decay / _np(tau).astype(nd) ** 2).to(tau.dtype)

        t = torch.from_numpy
        return (
            None, t(g_w_in), t(g_bias_h), t(g_w_hh), t(g_bias_h.copy()), t(g_w_ho), t(g_b_o),
            tau_grad(g_ah, ah, tau_m_h), tau_grad(g_rh, rh, tau_adp_h),
            tau_grad(g_ao, ao, tau_m_o), tau_grad(g_ro, ro, tau_adp_o),
            None, None, None, None, None, None, None,
        )


# ---- the module ---------------------------------------------------------------------------------


class SRNN(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int, config: TrainConfig):
        super().__init__()
        c = config
        self.config = c
        self.n_inputs, self.n_outputs, self.hidden_size = n_inputs, n_outputs, c.hidden_size
        self.i2h = nn.Linear(n_inputs, c.hidden_size)
        self.h2h = nn.Linear(c.hidden_size, c.hidden_size)
        self.h2o = nn.Linear(c.hidden_size, n_outputs)
        # the paper's initialisation
        nn.init.xavier_uniform_(self.i2h.weight)
        nn.init.orthogonal_(self.h2h.weight)
        nn.init.xavier_uniform_(self.h2o.weight)
        for lin in (self.i2h, self.h2h, self.h2o):
            nn.init.zeros_(lin.bias)
        if not c.recurrent:
            nn.init.zeros_(self.h2h.weight)
            self.h2h.requires_grad_(False)
        taus = {
            "tau_m_h": torch.full((c.hidden_size,), float(c.hidden_tau_m)),
            "tau_adp_h": torch.full((c.hidden_size,), float(c.hidden_tau_adp)),
            "tau_m_o": torch.full((n_outputs,), float(c.output_tau_m)),
            "tau_adp_o": torch.full((n_outputs,), float(c.output_tau_adp)),
        }
        for name, value in taus.items():
            if c.learn_tau:
                setattr(self, name, nn.Parameter(value))
            else:
                self.register_buffer(name, value)

    # ---- state
    @property
    def o_spiking(self) -> bool:
        return self.config.output_neuron != "leaky-integrator"

    def initial_state(self, n: int, rule: str | None = None, generator: torch.Generator | None = None):
        """(mem_h, s_h, b_h, mem_o, s_o, b_o): zeros (mem = s = 0) or the paper's uniform rule
        (mem = U(0,1) * scale, spike = mem); b = b_j0 either way, as in the original code."""
        c = self.config
        rule = rule or c.init_state
        dt = self.i2h.weight.dtype
        h, o = self.hidden_size, self.n_outputs
        if rule == "uniform":
            mh = torch.rand(n, h, generator=generator, dtype=torch.float64).to(dt) * c.init_scale
            mo = torch.rand(n, o, generator=generator, dtype=torch.float64).to(dt) * c.init_scale
        else:
            mh, mo = torch.zeros(n, h, dtype=dt), torch.zeros(n, o, dtype=dt)
        so = mo.clone() if self.o_spiking else torch.zeros_like(mo)
        bh = torch.full((n, h), c.hidden_b_j0, dtype=dt)
        bo = torch.full((n, o), c.output_b_j0 if self.o_spiking else 0.0, dtype=dt)
        return mh, mh.clone(), bh, mo, so, bo

    # ---- forward
    def forward(self, x: torch.Tensor, state=None, backend: str | None = None):
        """x (samples, steps, inputs) -> (output membrane (samples, steps, outputs), hidden spikes, output spikes)."""
        backend = backend or self.config.backend
        if state is None:
            state = self.initial_state(x.shape[0])
        if backend == "fused":
            return self._forward_fused(x, state)
        return self._forward_autograd(x, state)

    def _consts(self):
        c = self.config
        sg = (c.sg_sigma, c.sg_height, c.sg_scale, c.sg_gamma)
        return (c.hidden_beta, c.hidden_b_j0, c.output_beta, c.output_b_j0, self.o_spiking, sg)

    def _forward_fused(self, x, state):
        w_hh = self.h2h.weight
        return _FusedSequence.apply(
            x, self.i2h.weight, self.i2h.bias, w_hh, self.h2h.bias, self.h2o.weight, self.h2o.bias,
            self.tau_m_h, self.tau_adp_h, self.tau_m_o, self.tau_adp_o, *state, self._consts(),
        )

    def _forward_autograd(self, x, state):
        c = self.config
        sg = (c.sg_sigma, c.sg_height, c.sg_scale, c.sg_gamma)
        mh, sh, bh, mo, so, bo = state
        ah, rh = torch.exp(-1.0 / self.tau_m_h), torch.exp(-1.0 / self.tau_adp_h)
        ao, ro = torch.exp(-1.0 / self.tau_m_o), torch.exp(-1.0 / self.tau_adp_o)
        ih = self.i2h(x.to(self.i2h.weight.dtype))  # delay 0, independent of the state: all steps at once
        mems, shs, sos = [], [], []
        for t in range(x.shape[1]):
            cur = ih[:, t] + self.h2h(sh)
            bh = rh * bh + (1 - rh) * sh
            thr = c.hidden_b_j0 + c.hidden_beta * bh
            mh = ah * mh + (1 - ah) * cur - thr * sh
            sh = spike_fn(mh - thr, *sg)
            cur_o = self.h2o(sh)
            if self.o_spiking:
                bo = ro * bo + (1 - ro) * so
                thr_o = c.output_b_j0 + c.output_beta * bo
                mo = ao * mo + (1 - ao) * cur_o - thr_o * so
                so = spike_fn(mo - thr_o, *sg)
            else:
                mo = ao * mo + (1 - ao) * cur_o
            mems.append(mo)
            shs.append(sh.detach())
            sos.append(so.detach())
        return torch.stack(mems, 1), torch.stack(shs, 1), torch.stack(sos, 1)

    # ---- export
    def to_network(self, name: str = "srnn", metadata: dict | None = None) -> Network:
        """The trained model as an evsim Network (float64 copies of the parameters)."""
        c = self.config
        a = lambda t: t.detach().cpu().double().numpy().copy()  # noqa: E731
        # the training equations are the SRNN family's (dt = R_m = 1): legacy_layer maps them
        # onto the registry's types bit for bit (lif: reset subtract at the next step)
        def layer(name, size, neuron, tau_m, tau_adp, beta, b_j0):
            kind, params, options = legacy_layer(neuron, size, tau_m, tau_adp, beta, b_j0, r_m=1.0, dt=1.0, where=f"layer '{name}'")
            return Layer(name, size, kind, params=params, options=options)

        h = layer("h", self.hidden_size, c.hidden_neuron, a(self.tau_m_h), a(self.tau_adp_h), c.hidden_beta, c.hidden_b_j0)
        if self.o_spiking:
            o = layer("o", self.n_outputs, c.output_neuron, a(self.tau_m_o), a(self.tau_adp_o), c.output_beta, c.output_b_j0)
        else:
            o = layer("o", self.n_outputs, "leaky-integrator", a(self.tau_m_o), None, None, None)
        projections = [
            Projection(INPUT, "h", a(self.i2h.weight), a(self.i2h.bias), delay=0),
            Projection("h", "h", a(self.h2h.weight), a(self.h2h.bias), delay=1),
            Projection("h", "o", a(self.h2o.weight), a(self.h2o.bias), delay=0),
        ]
        scale = float(c.init_scale)
        return Network(
            name=name,
            n_inputs=self.n_inputs,
            layers=[h, o],
            projections=projections,
            readout=Readout(layer="o", variable="mem", aggregate="per_step", from_step=c.from_step),
            # the paper's rule (mem = U(0,1), spike = mem), recorded for `--init paper`; evsim and
            # the hardware run from zeros by default
            initial_state=InitialState(default=LayerInit("uniform", scale)),
            metadata=dict(metadata or {}),
        )

    @torch.no_grad()
    def trace64(self, x: np.ndarray) -> np.ndarray:
        """Output membrane trace (samples, steps, outputs) in float64 from a zero state."""
        m = SRNN(self.n_inputs, self.n_outputs, self.config)
        m.load_state_dict(self.state_dict())
        m = m.double()
        xt = torch.from_numpy(np.asarray(x, dtype=np.float64))
        mem, _, _ = m._forward_fused(xt, m.initial_state(xt.shape[0], "zeros"))
        return mem.numpy()

    def golden_records(self, x: np.ndarray, labels: np.ndarray | None = None, tolerance: float = 1e-6):
        """Golden records: samples run in float64 from a zero state, for `evsim crosscheck`.

        Tolerance 1e-6: the trace is float64, so an engine evaluating the same equations in
        float64 agrees to ~1e-12; the margin only covers a spike flipping because a membrane sits
        within rounding of its threshold, which 1e-6 would still flag as a real mismatch."""
        out = self.trace64(x)
        recs = []
        for i in range(len(x)):
            lab = None
            recs.append(GoldenRecord(input=np.asarray(x[i], np.float64), output=out[i], init="zeros",
                                     label=lab, tolerance=tolerance))
        return recs


def sequence_loss(mem_o: torch.Tensor, labels: torch.Tensor, from_step: int) -> torch.Tensor:
    """The paper's loss: sum over steps >= from_step of the batch-mean NLL of log-softmax(mem)."""
    logp = F.log_softmax(mem_o[:, from_step:], dim=2)
    n = mem_o.shape[0]
    return F.nll_loss(logp.reshape(-1, logp.shape[2]), labels[:, from_step:].reshape(-1), reduction="sum") / n
