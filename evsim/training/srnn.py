"""Spiking RNNs in PyTorch: input -> recurrent hidden layer(s) -> output, with the paper's
neurons (lif/alif hidden, alif/lif/integrator output) or Xylo's current-based LIF (kernels.py).

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
from ..errors import EvsimError
from ..neurons import legacy_layer
from . import kernels
from .config import MAX_DASH, TrainConfig

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


# ---- the multi-spike count of Xylo's hidden neurons ------------------------------------------


class SpikeCount(torch.autograd.Function):
    """n = number of k in 1..K with u >= k * theta; surrogate dn/du: the multi-Gaussian at the
    two thresholds nearest u (kernels.count_grad)."""

    @staticmethod
    def forward(ctx, u, theta, k_max, sg):
        ctx.save_for_backward(u, theta)
        ctx.k_max, ctx.sg = k_max, sg
        ks = torch.arange(1, k_max + 1, dtype=u.dtype)
        return (u.unsqueeze(-1) >= theta.unsqueeze(-1) * ks).sum(-1).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        u, theta = ctx.saved_tensors
        k0 = torch.clamp(torch.floor(u / theta), 1, ctx.k_max)
        g = surrogate_derivative(u - k0 * theta, *ctx.sg)
        g = g + torch.where(k0 < ctx.k_max, surrogate_derivative(u - (k0 + 1) * theta, *ctx.sg), torch.zeros_like(u))
        return grad * g, None, None, None


# ---- the fused sequence as one autograd node ------------------------------------------------


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy())


PER_LAYER = 7  # tensors per layer handed to _FusedSequence: ff weight, ff bias, rec weight, rec bias, tau_m, tau_r, bias


class _FusedSequence(torch.autograd.Function):
    """The whole sequence through all layers as one autograd node (kernels.forward/backward)."""

    @staticmethod
    def forward(ctx, x, spec, m0, s0, a0, *params):
        dtype = params[0].dtype
        layers = [params[i : i + PER_LAYER] for i in range(0, len(params), PER_LAYER)]
        w0, b0, _, rb0 = layers[0][:4]
        with torch.no_grad():
            ih = torch.matmul(x.to(dtype), w0.t())
            if b0 is not None:
                ih = ih + (b0 + rb0) if rb0 is not None else ih + b0
        ih = _np(ih)
        nd = ih.dtype
        st, decays = spec.stack(layers, nd)
        n, steps, _ = ih.shape
        total = int(st.off[-1])
        tr = kernels.Traces(*(np.empty((n, steps, total), nd) for _ in range(4)))
        init = tuple(_np(v).astype(nd) for v in (m0, s0, a0))
        kernels.forward(ih, st, *init, tr)
        ctx.saved = (x, ih, st, init, tr, decays, spec)
        ctx.save_for_backward(*params)
        o = int(st.off[-2])
        mem_o = torch.from_numpy(np.ascontiguousarray(tr.mem[:, :, o:]))
        s_h = torch.from_numpy(np.ascontiguousarray(tr.spk[:, :, :o]))
        s_o = torch.from_numpy(np.ascontiguousarray(tr.spk[:, :, o:]))
        ctx.mark_non_differentiable(s_h, s_o)
        return mem_o, s_h, s_o

    @staticmethod
    def backward(ctx, g_mem_o, _g_sh, _g_so):
        x, ih, st, init, tr, decays, spec = ctx.saved
        params = ctx.saved_tensors
        n, steps, _ = ih.shape
        nd = ih.dtype
        total = int(st.off[-1])
        g_cur = np.empty((n, steps, total), nd)
        g_alpha, g_rho, g_bias = (np.zeros((n, total), nd) for _ in range(3))
        kernels.backward(np.ascontiguousarray(_np(g_mem_o).astype(nd)), ih, st, *init, tr, *spec.sg, g_cur, g_alpha, g_rho, g_bias)
        xs = _np(x).astype(nd)
        t = torch.from_numpy
        grads = []
        for l in range(len(st.kind)):
            lo, hi = int(st.off[l]), int(st.off[l + 1])
            w_ff, b_ff, w_rec, b_rec, tau_m, tau_r, bias = params[l * PER_LAYER : (l + 1) * PER_LAYER]
            gi = g_cur[:, :, lo:hi].reshape(-1, hi - lo)
            if l == 0:
                src = xs.reshape(-1, xs.shape[2])
            else:
                slo, shi = int(st.off[l - 1]), int(st.off[l])
                src = _delayed(tr.spk, init[1], slo, shi, int(st.ff_delay[l]))
            g_b = gi.sum(axis=0)
            alpha, rho = decays[l]
            grads += [
                t(gi.T @ src),
                None if b_ff is None else t(g_b),
                None if w_rec is None else t(gi.T @ _delayed(tr.spk, init[1], lo, hi, 1)),
                None if b_rec is None else t(g_b.copy()),
                spec.tau_grad(np.ascontiguousarray(g_alpha[:, lo:hi]), alpha, tau_m),
                None if tau_r is None else spec.tau_grad(np.ascontiguousarray(g_rho[:, lo:hi]), rho, tau_r),
                None if bias is None else t(g_bias[:, lo:hi].sum(axis=0)),
            ]
        return (None, None, None, None, None, *grads)


def _delayed(spk: np.ndarray, s0: np.ndarray, lo: int, hi: int, delay: int) -> np.ndarray:
    """A layer's spikes as a projection of that delay reads them, (samples * steps, size)."""
    if delay == 0:
        return spk[:, :, lo:hi].reshape(-1, hi - lo)
    return np.concatenate([s0[:, None, lo:hi], spk[:, :-1, lo:hi]], axis=1).reshape(-1, hi - lo)


class _Spec:
    """The non-learned layout of the network, and how learned tensors become a kernels.Stack."""

    def __init__(self, model: "SRNN"):
        c = model.config
        self.xylo = c.dynamics == "xylo"
        self.names = model.layer_names
        self.sizes = model.sizes
        self.sg = (c.sg_sigma, c.sg_height, c.sg_scale, c.sg_gamma)
        n_hidden = len(self.names) - 1
        hidden_kind = kernels.KIND_CUBA if self.xylo else kernels.KIND_SRNN
        if c.output_neuron == "leaky-integrator":
            out_kind = kernels.KIND_CUBA_LI if self.xylo else kernels.KIND_SRNN_LI
        else:
            out_kind = hidden_kind
        self.kinds = [hidden_kind] * n_hidden + [out_kind]
        self.beta = [c.hidden_beta] * n_hidden + [c.output_beta]
        self.b0 = [c.hidden_b_j0] * n_hidden + [c.output_b_j0 if out_kind != kernels.KIND_SRNN_LI else 0.0]
        self.max_spikes = [c.max_spikes if self.xylo else 1] * n_hidden + [1]
        self.has_rec = [int(c.recurrent)] * n_hidden + [0]
        self.ff_delay = [0] + [1 if self.xylo else 0] * n_hidden

    def decay(self, tau: np.ndarray) -> np.ndarray:
        """Per-step decay: exp(-1/tau) (srnn) or 1 - 1/tau (xylo: 1 - 2^-dash once snapped)."""
        return (1.0 - 1.0 / tau) if self.xylo else np.exp(-1.0 / tau)

    def tau_grad(self, g_decay: np.ndarray, decay: np.ndarray, tau: torch.Tensor) -> torch.Tensor:
        # exp(-1/tau): d/dtau = decay / tau^2;  1 - 1/tau: d/dtau = 1 / tau^2
        tau_np = _np(tau).astype(decay.dtype)
        factor = 1.0 / tau_np**2 if self.xylo else decay / tau_np**2
        return torch.from_numpy(g_decay.sum(axis=0) * factor).to(tau.dtype)

    def stack(self, layers, nd) -> tuple[kernels.Stack, list]:
        off = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        w_ff, w_rec, ff_off, rec_off = [], [], [0], [0]
        alpha, rho, cur_bias, bias, decays = [], [], [], [], []
        for l, (wf, bf, wr, br, tau_m, tau_r, nb) in enumerate(layers):
            size = self.sizes[l]
            w_ff.append(_np(wf).reshape(-1) if l > 0 else np.zeros(0, nd))
            w_rec.append(_np(wr).reshape(-1) if self.has_rec[l] else np.zeros(0, nd))
            ff_off.append(ff_off[-1] + w_ff[-1].size)
            rec_off.append(rec_off[-1] + w_rec[-1].size)
            a = self.decay(_np(tau_m))
            r = self.decay(_np(tau_r)) if tau_r is not None else np.zeros(size, nd)
            alpha.append(a)
            rho.append(r)
            decays.append((a, r))
            bias.append(_np(nb) if self.xylo else np.zeros(size, nd))
            if l == 0 or bf is None:
                cur_bias.append(np.zeros(size, nd))  # layer 0's biases are in ih; xylo's reach the membrane
            else:
                cur_bias.append(_np(bf) + _np(br) if br is not None else _np(bf))
        vec = lambda vals: np.concatenate([np.full(s, v, nd) for s, v in zip(self.sizes, vals)])  # noqa: E731
        i64 = lambda v: np.asarray(v, np.int64)  # noqa: E731
        st = kernels.Stack(
            kind=i64(self.kinds), off=off, ff_delay=i64(self.ff_delay), max_spikes=i64(self.max_spikes),
            has_rec=i64(self.has_rec), w_ff=np.concatenate(w_ff).astype(nd), ff_off=i64(ff_off[:-1]),
            w_rec=np.concatenate(w_rec).astype(nd), rec_off=i64(rec_off[:-1]), cur_bias=np.concatenate(cur_bias).astype(nd),
            alpha=np.concatenate(alpha).astype(nd), rho=np.concatenate(rho).astype(nd),
            beta=vec(self.beta), b0=vec(self.b0), bias=np.concatenate(bias).astype(nd),
        )
        return st, decays


# ---- the module ---------------------------------------------------------------------------------


class SRNN(nn.Module):
    """input -> hidden layers (recurrent) -> output, by `config.dynamics` ('srnn' or 'xylo').

    Layers are named 'h' (one hidden layer) or 'h1'..'hL', and 'o'.  Per layer: `ff[name]`
    (the projection from the layer before, or the input), `rec[name]` (hidden layers), time
    constants `tau_m[name]`, `tau_adp[name]` (srnn) or `tau_syn[name]` (xylo) and, for xylo, the
    membrane `bias[name]` (xylo projections have no bias: Xylo's biases reach the membrane)."""

    def __init__(self, n_inputs: int, n_outputs: int, config: TrainConfig):
        super().__init__()
        c = config
        self.config = c
        self.xylo = c.dynamics == "xylo"
        hidden = c.hidden_sizes
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        self.hidden_names = ["h"] if len(hidden) == 1 else [f"h{i + 1}" for i in range(len(hidden))]
        self.layer_names = self.hidden_names + ["o"]
        self.sizes = hidden + [n_outputs]
        ff, rec = {}, {}
        src = n_inputs
        for name, size in zip(self.hidden_names, hidden):  # creation order fixes the random initialisation
            ff[name] = nn.Linear(src, size, bias=not self.xylo)
            rec[name] = nn.Linear(size, size, bias=not self.xylo)
            src = size
        ff["o"] = nn.Linear(src, n_outputs, bias=not self.xylo)
        self.ff, self.rec = nn.ModuleDict(ff), nn.ModuleDict(rec)
        # the paper's initialisation
        for name in self.hidden_names:
            nn.init.xavier_uniform_(self.ff[name].weight)
            nn.init.orthogonal_(self.rec[name].weight)
        nn.init.xavier_uniform_(self.ff["o"].weight)
        for lin in list(self.ff.values()) + list(self.rec.values()):
            if lin.bias is not None:
                nn.init.zeros_(lin.bias)
        if not c.recurrent:
            for lin in self.rec.values():
                nn.init.zeros_(lin.weight)
                lin.requires_grad_(False)
        sizes = dict(zip(self.layer_names, self.sizes))
        full = lambda name, v: nn.Parameter(torch.full((sizes[name],), float(v)), requires_grad=c.learn_tau)  # noqa: E731
        per_layer = lambda hv, ov: nn.ParameterDict({n: full(n, ov if n == "o" else hv) for n in self.layer_names})  # noqa: E731
        self.tau_m = per_layer(c.hidden_tau_m, c.output_tau_m)
        if self.xylo:
            self.tau_syn = per_layer(c.hidden_tau_syn, c.output_tau_syn)
            self.bias = nn.ParameterDict({n: nn.Parameter(torch.zeros(sizes[n])) for n in self.layer_names})
        else:
            self.tau_adp = per_layer(c.hidden_tau_adp, c.output_tau_adp)

    # ---- parameters
    @property
    def dtype(self) -> torch.dtype:
        return self.ff["o"].weight.dtype

    @property
    def o_spiking(self) -> bool:
        return self.config.output_neuron != "leaky-integrator"

    def tau_r(self) -> nn.ParameterDict:
        """The second time constant of each layer: tau_syn (xylo) or tau_adp (srnn)."""
        return self.tau_syn if self.xylo else self.tau_adp

    def time_constants(self, layer: str) -> list[nn.Parameter]:
        return [self.tau_m[layer], self.tau_r()[layer]]

    def clamp_time_constants(self) -> None:
        """Keep time constants where the dynamics are defined: positive (srnn); for xylo,
        decays in Xylo's range (tau_m in [1, 2^15], tau_syn in [2, 2^15], in steps)."""
        with torch.no_grad():
            for name in self.layer_names:
                if self.xylo:
                    self.tau_m[name].clamp_(1.0, 2.0**MAX_DASH)
                    self.tau_syn[name].clamp_(2.0, 2.0**MAX_DASH)
                else:
                    for p in self.time_constants(name):
                        p.clamp_(min=1e-2)

    def snap_time_constants(self) -> None:
        """Xylo: tau = 2^dash with dash = round(log2(tau / dt)) (Rockpool's rule), then frozen."""
        with torch.no_grad():
            for name in self.layer_names:
                for p in self.time_constants(name):
                    p.copy_(torch.exp2(torch.round(torch.log2(p))))
                    p.requires_grad_(False)
        self.clamp_time_constants()

    def _layer_tensors(self) -> list:
        out = []
        for name in self.layer_names:
            ff = self.ff[name]
            rec = self.rec[name] if name in self.rec and self.config.recurrent else None
            out += [ff.weight, ff.bias, None if rec is None else rec.weight, None if rec is None else rec.bias,
                    self.tau_m[name], self.tau_r()[name] if (name != "o" or self.o_spiking or self.xylo) else None,
                    self.bias[name] if self.xylo else None]
        return out

    # ---- state
    def initial_state(self, n: int, rule: str | None = None, generator: torch.Generator | None = None):
        """(mem, spike, adp), each (samples, neurons of all layers in order): zeros (mem = s = 0)
        or the paper's uniform rule (mem = U(0,1) * scale, spike = mem); srnn adp = b = b_j0
        either way, as in the original code; xylo adp is the synaptic current, 0."""
        c = self.config
        rule = rule or c.init_state
        dt = self.dtype
        mems, spikes, adps = [], [], []
        for name, size in zip(self.layer_names, self.sizes):
            spiking = name != "o" or self.o_spiking
            if rule == "uniform":
                mem = torch.rand(n, size, generator=generator, dtype=torch.float64).to(dt) * c.init_scale
            else:
                mem = torch.zeros(n, size, dtype=dt)
            mems.append(mem)
            spikes.append(mem.clone() if spiking else torch.zeros_like(mem))
            b0 = c.output_b_j0 if name == "o" else c.hidden_b_j0
            adps.append(torch.full((n, size), b0 if spiking and not self.xylo else 0.0, dtype=dt))
        return torch.cat(mems, 1), torch.cat(spikes, 1), torch.cat(adps, 1)

    # ---- forward
    def forward(self, x: torch.Tensor, state=None, backend: str | None = None):
        """x (samples, steps, inputs) -> (output membrane (samples, steps, outputs), hidden
        spikes (samples, steps, hidden neurons of all layers), output spikes)."""
        backend = backend or self.config.backend
        if state is None:
            state = self.initial_state(x.shape[0])
        if backend == "fused":
            return _FusedSequence.apply(x, _Spec(self), *state, *self._layer_tensors())
        return self._forward_autograd(x, state)

    def _forward_autograd(self, x, state):
        """The same equations step by step in torch (kernels.py states them)."""
        spec = _Spec(self)
        sg = spec.sg
        split = lambda v: list(torch.split(v, self.sizes, dim=1))  # noqa: E731
        mem, spk, adp = split(state[0]), split(state[1]), split(state[2])
        taus = {n: (self.tau_m[n], self.tau_r()[n]) for n in self.layer_names}
        decay = (lambda tau: 1 - 1 / tau) if self.xylo else (lambda tau: torch.exp(-1.0 / tau))
        first = self.hidden_names[0]
        ih = self.ff[first](x.to(self.dtype))  # delay 0, independent of the state: all steps at once
        mems, shs, sos = [], [], []
        for t in range(x.shape[1]):
            prev = list(spk)
            for l, name in enumerate(self.layer_names):
                kind = spec.kinds[l]
                if l == 0:
                    cur = ih[:, t]
                else:
                    cur = self.ff[name](spk[l - 1] if spec.ff_delay[l] == 0 else prev[l - 1])
                if spec.has_rec[l]:
                    cur = cur + self.rec[name](prev[l])
                alpha = decay(taus[name][0])
                if kind == kernels.KIND_SRNN:
                    rho = decay(taus[name][1])
                    adp[l] = rho * adp[l] + (1 - rho) * prev[l]
                    thr = spec.b0[l] + spec.beta[l] * adp[l]
                    mem[l] = alpha * mem[l] + (1 - alpha) * cur - thr * prev[l]
                    spk[l] = spike_fn(mem[l] - thr, *sg)
                elif kind == kernels.KIND_SRNN_LI:
                    mem[l] = alpha * mem[l] + (1 - alpha) * cur
                else:
                    adp[l] = decay(taus[name][1]) * (adp[l] + cur)
                    u = alpha * mem[l] + adp[l] + self.bias[name]
                    if kind == kernels.KIND_CUBA:
                        theta = torch.full_like(u[0], spec.b0[l])
                        spk[l] = SpikeCount.apply(u, theta, spec.max_spikes[l], sg)
                        u = u - theta * spk[l]
                    mem[l] = u
            mems.append(mem[-1])
            shs.append(torch.cat(spk[:-1], 1).detach())
            sos.append(spk[-1].detach())
        return torch.stack(mems, 1), torch.stack(shs, 1), torch.stack(sos, 1)

    # ---- export
    def to_network(self, name: str = "srnn", metadata: dict | None = None) -> Network:
        """The trained model as an evsim Network (float64 copies of the parameters)."""
        if self.xylo:
            return self._xylo_network(name, metadata)
        c = self.config
        a = lambda t: t.detach().cpu().double().numpy().copy()  # noqa: E731

        # the training equations are the SRNN family's (dt = R_m = 1): legacy_layer maps them
        # onto the registry's types bit for bit (lif: reset subtract at the next step)
        def layer(name, size, neuron, tau_m, tau_adp, beta, b_j0):
            kind, params, options = legacy_layer(neuron, size, tau_m, tau_adp, beta, b_j0, r_m=1.0, dt=1.0, where=f"layer '{name}'")
            return Layer(name, size, kind, params=params, options=options)

        layers, projections = [], []
        src = INPUT
        for lname, size in zip(self.hidden_names, self.sizes):
            layers.append(layer(lname, size, c.hidden_neuron, a(self.tau_m[lname]), a(self.tau_adp[lname]), c.hidden_beta, c.hidden_b_j0))
            projections.append(Projection(src, lname, a(self.ff[lname].weight), a(self.ff[lname].bias), delay=0))
            projections.append(Projection(lname, lname, a(self.rec[lname].weight), a(self.rec[lname].bias), delay=1))
            src = lname
        if self.o_spiking:
            layers.append(layer("o", self.n_outputs, c.output_neuron, a(self.tau_m["o"]), a(self.tau_adp["o"]), c.output_beta, c.output_b_j0))
        else:
            layers.append(layer("o", self.n_outputs, "leaky-integrator", a(self.tau_m["o"]), None, None, None))
        projections.append(Projection(src, "o", a(self.ff["o"].weight), a(self.ff["o"].bias), delay=0))
        return Network(
            name=name,
            n_inputs=self.n_inputs,
            layers=layers,
            projections=projections,
            readout=Readout(layer="o", variable="mem", aggregate="per_step", from_step=c.from_step),
            # the paper's rule (mem = U(0,1), spike = mem), recorded for `--init paper`; evsim and
            # the hardware run from zeros by default
            initial_state=InitialState(default=LayerInit("uniform", float(c.init_scale))),
            metadata=dict(metadata or {}),
        )

    def _xylo_network(self, name: str, metadata: dict | None) -> Network:
        """Xylo's neurons as the registry's cuba-lif / cuba-li, exactly (euler decays, dt = the
        config's dt, time constants dt * 2^dash):

            alpha_syn = 1 - dt/tau_syn, alpha = 1 - dt/tau_mem  (1 - 2^-dash)
            w_in = tau_syn/dt - 1   so that (1 - alpha_syn) * w_in * I = alpha_syn * I
            r = tau_mem/dt          so that (1 - alpha) * r = 1: the current adds unscaled
            v_leak = bias * tau_mem/dt   so that (1 - alpha) * v_leak = the membrane bias

        with update 'sequential' (the membrane reads the new current), reset subtract at the
        spike, max_spikes as trained; projections without biases; the hidden-to-hidden and
        hidden-to-readout projections at delay 1 (Xylo's recurrent and readout matrices)."""
        c = self.config
        a = lambda t: t.detach().cpu().double().numpy().copy()  # noqa: E731
        dt = float(c.dt)
        layers, projections = [], []
        src = INPUT
        for lname, size in zip(self.layer_names, self.sizes):
            tau_m, tau_s, bias = a(self.tau_m[lname]), a(self.tau_syn[lname]), a(self.bias[lname])
            params = dict(tau_syn=tau_s * dt, tau_mem=tau_m * dt, r=tau_m, w_in=tau_s - 1.0, v_leak=bias * tau_m)
            options = dict(update="sequential")
            if lname != "o" or self.o_spiking:
                params["v_threshold"] = c.output_b_j0 if lname == "o" else c.hidden_b_j0
                options.update(reset="subtract", reset_at="same-step", max_spikes=1 if lname == "o" else c.max_spikes)
            kind = "cuba-lif" if "v_threshold" in params else "cuba-li"
            layers.append(Layer(lname, size, kind, params=params, options=options))
            ff = a(self.ff[lname].weight)
            projections.append(Projection(src, lname, ff, np.zeros(size), delay=0 if src == INPUT else 1))
            if lname in self.rec and c.recurrent:
                projections.append(Projection(lname, lname, a(self.rec[lname].weight), np.zeros(size), delay=1))
            src = lname
        return Network(
            name=name,
            n_inputs=self.n_inputs,
            layers=layers,
            projections=projections,
            readout=Readout(layer="o", variable="mem", aggregate="per_step", from_step=c.from_step),
            initial_state=InitialState(),  # Xylo starts from zeros
            dt=dt,
            discretization="euler",
            metadata=dict(metadata or {}),
        )

    @torch.no_grad()
    def trace64(self, x: np.ndarray) -> np.ndarray:
        """Output membrane trace (samples, steps, outputs) in float64 from a zero state."""
        m = SRNN(self.n_inputs, self.n_outputs, self.config)
        m.load_state_dict(self.state_dict())
        m = m.double()
        xt = torch.from_numpy(np.asarray(x, dtype=np.float64))
        mem, _, _ = m(xt, m.initial_state(xt.shape[0], "zeros"), backend="fused")
        return mem.numpy()

    def golden_records(self, x: np.ndarray, tolerance: float = 1e-6):
        """Golden records: samples run in float64 from a zero state, for `evsim crosscheck`.

        Tolerance 1e-6: the trace is float64, so an engine evaluating the same equations in
        float64 agrees to ~1e-12; the margin only covers a spike flipping because a membrane sits
        within rounding of its threshold, which 1e-6 would still flag as a real mismatch."""
        out = self.trace64(x)
        return [GoldenRecord(input=np.asarray(x[i], np.float64), output=out[i], init="zeros", label=None, tolerance=tolerance)
                for i in range(len(x))]


def sequence_loss(mem_o: torch.Tensor, labels: torch.Tensor, from_step: int) -> torch.Tensor:
    """The paper's loss: sum over steps >= from_step of the batch-mean NLL of log-softmax(mem)."""
    logp = F.log_softmax(mem_o[:, from_step:], dim=2)
    n = mem_o.shape[0]
    return F.nll_loss(logp.reshape(-1, logp.shape[2]), labels[:, from_step:].reshape(-1), reduction="sum") / n
