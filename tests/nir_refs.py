"""Independent reference computations for the NIR tests.

Nothing here imports evsim: the files are read with h5py directly, the equations are plain
NumPy transcriptions of NIR's definitions, and the snnTorch networks are built from snnTorch's
own modules.  The tests compare evsim against these.

Conventions, taken from the sources named beside each function:

- NIR's nodes are continuous-time.  Forward Euler with step dt (NIR's reference implementation
  `paper/03_rnn/nir_reference_impl.py`, and the snnTorch and Norse importers) turns
  `tau dv/dt = v_leak - v + r I` into `v += dt/tau * (v_leak - v + r I)`.
- NIR's reference CubaLIF integrates the membrane with the synaptic current of the *previous*
  step (`v += dt/tau_mem * (v_leak - v + r * I_last)`); snnTorch's `Synaptic` adds the *new*
  one (`syn = alpha*syn + x; mem = beta*mem + syn`).  evsim's `cuba-lif` has both
  (`update` simultaneous / sequential).
- A cycle in a NIR graph reads the previous step's output (nirtorch); other edges are
  instantaneous.
- Spikes: `z = v > v_threshold`; then the reset, in the same step: to `v_reset` (NIR's
  definition; "zero") or by subtracting the threshold ("subtract", what the reference script
  always does and what the `_subtract` Braille graph was trained with).  snnTorch resets at the
  next step unless reset_delay=False.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "nir-paper"
LIF_DIR = DATA / "01_lif"
RNN_DIR = DATA / "03_rnn"
BRAILLE = {"zero": RNN_DIR / "braille_noDelay_bias_zero.nir", "subtract": RNN_DIR / "braille_noDelay_noBias_subtract.nir"}
LIF_DT = 1e-4  # the paper's step for every platform (01_lif/README.md)


def lif_csv(platform: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input, voltage, spike) per step of `lif_<platform>.csv`."""
    d = np.loadtxt(LIF_DIR / f"lif_{platform}.csv", delimiter=",", dtype=np.float64)
    return d[:, 0], d[:, 1], d[:, 2]


def read_nodes(path: Path) -> tuple[dict[str, dict[str, np.ndarray | str]], list[tuple[str, str]]]:
    """A flat NIR file's nodes {name: {field: array, 'type': str}} and edges, by h5py alone."""
    with h5py.File(path, "r") as f:
        g = f["node"]
        edges = [(a.decode(), b.decode()) for a, b in g["edges"][()]]
        nodes = {}
        for name, node in g["nodes"].items():
            fields = {k: node[k][()] for k in node.keys() if k != "type"}
            fields["type"] = node["type"][()].decode()
            nodes[name] = {k: (np.asarray(v, dtype=np.float64) if k != "type" else v) for k, v in fields.items()}
    return nodes, edges


# ---- one LIF neuron (01_lif) ------------------------------------------------------------


@dataclass
class LifParams:
    weight: float
    bias: float
    tau: float
    r: float
    v_leak: float
    v_threshold: float
    v_reset: float = 0.0


def lif_norse_params() -> LifParams:
    nodes, _ = read_nodes(LIF_DIR / "lif_norse.nir")
    aff, lif = nodes["0"], nodes["1"]
    return LifParams(
        weight=float(aff["weight"][0, 0]),
        bias=float(aff["bias"][0]),
        tau=float(lif["tau"][0]),
        r=float(lif["r"][0]),
        v_leak=float(lif["v_leak"][0]),
        v_threshold=float(lif["v_threshold"][0]),
    )


def lif_run(p: LifParams, x: np.ndarray, dt: float, discretization: str, reset: str) -> tuple[np.ndarray, np.ndarray]:
    """One LIF neuron driven by current I_t = weight * x_t + bias, held over step t.

    euler: v += dt/tau * (v_leak - v + r I_t)                          (NIR reference, Norse)
    exact: v  = v_leak + r I_t + (v - v_leak - r I_t) * exp(-dt/tau)   (the exact solution for a
           current constant over the step, lif_exact_sim.py's `advance_by_delta_t`)
    then z = v > v_threshold and the reset: v = v_reset (zero) or v -= v_threshold (subtract).
    Returns (v after the reset, z) per step.
    """
    v = 0.0
    vs, zs = np.zeros(len(x)), np.zeros(len(x))
    decay = np.exp(-dt / p.tau)
    for t, xt in enumerate(x):
        current = p.weight * xt + p.bias
        if discretization == "euler":
            v = v + dt / p.tau * (p.v_leak - v + p.r * current)
        else:
            v = p.v_leak + p.r * current + (v - p.v_leak - p.r * current) * decay
        z = v > p.v_threshold
        if z:
            v = p.v_reset if reset == "zero" else v - p.v_threshold
        vs[t], zs[t] = v, z
    return vs, zs


# ---- the recurrent Braille networks (03_rnn) ---------------------------------------------


@dataclass
class CubaLayer:
    tau_syn: np.ndarray
    tau_mem: np.ndarray
    r: np.ndarray
    v_leak: np.ndarray
    v_threshold: np.ndarray
    w_in: np.ndarray


@dataclass
class Braille:
    """12 inputs -> fc1 -> lif1 (CubaLIF, recurrent through w_rec) -> fc2 -> lif2 (CubaLIF)."""

    fc1_w: np.ndarray
    fc1_b: np.ndarray
    rec_w: np.ndarray
    rec_b: np.ndarray
    fc2_w: np.ndarray
    fc2_b: np.ndarray
    lif1: CubaLayer
    lif2: CubaLayer


def read_braille(reset: str) -> Braille:
    nodes, edges = read_nodes(BRAILLE[reset])
    expected = {
        ("input", "fc1"), ("fc1", "lif1.lif"), ("lif1.lif", "lif1.w_rec"), ("lif1.w_rec", "lif1.lif"),
        ("lif1.lif", "fc2"), ("fc2", "lif2"), ("lif2", "output"),
    }  # fmt: skip
    assert set(edges) == expected, edges

    def affine(name):
        n = nodes[name]
        return n["weight"], n.get("bias", np.zeros(n["weight"].shape[0]))

    def cuba(name):
        n = nodes[name]
        assert n["type"] == "CubaLIF"
        return CubaLayer(**{k: n[k] for k in ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "w_in")})

    (w1, b1), (wr, br), (w2, b2) = affine("fc1"), affine("lif1.w_rec"), affine("fc2")
    return Braille(w1, b1, wr, br, w2, b2, cuba("lif1.lif"), cuba("lif2"))


def braille_nir_euler(net: Braille, x: np.ndarray, dt: float, reset: str) -> dict[str, np.ndarray]:
    """NIR's reference discretization (nir_reference_impl.py's CubaLIF) over the Braille graph.

    Per CubaLIF node and step, with u its input (the sum of its incoming edges):
        I_last = I
        I = I_last + dt/tau_syn * (-I_last + w_in * u)
        v = v + dt/tau_mem * (v_leak - v + r * I_last)
        z = v > v_threshold;  then reset (zero: v = 0, NIR's v_reset default; subtract: v -= v_threshold)
    Edges are instantaneous except the one closing the cycle lif1 -> w_rec -> lif1, which carries
    the previous step's spikes (nirtorch's convention: a recursive input reads the source's
    `_prev_output`).  So at step t: u1 = fc1 x_t + w_rec z1_{t-1}, u2 = fc2 z1_t.
    x: (steps, 12).  Returns spikes z1, z2, membranes v1, v2 and currents i1, i2 per step.
    """
    steps = x.shape[0]
    layers = (net.lif1, net.lif2)
    v = [np.zeros_like(p.v_threshold) for p in layers]
    current = [np.zeros_like(p.v_threshold) for p in layers]
    z1_prev = np.zeros_like(net.lif1.v_threshold)
    out = {f"{k}{i}": np.zeros((steps, len(p.v_threshold))) for i, p in enumerate(layers, 1) for k in ("z", "v", "i")}
    for t in range(steps):
        z = []
        for li, p in enumerate(layers):
            v[li] = v[li] + dt / p.tau_mem * (p.v_leak - v[li] + p.r * current[li])
            zi = v[li] > p.v_threshold
            v[li] = np.where(zi, 0.0, v[li]) if reset == "zero" else v[li] - zi * p.v_threshold
            z.append(zi.astype(np.float64))
        u1 = net.fc1_w @ x[t] + net.fc1_b + net.rec_w @ z1_prev + net.rec_b
        u2 = net.fc2_w @ z[0] + net.fc2_b
        z1_prev = z[0]
        for li, (p, u) in enumerate(zip(layers, (u1, u2))):
            current[li] = current[li] + dt / p.tau_syn * (-current[li] + p.w_in * u)
            out[f"z{li + 1}"][t], out[f"v{li + 1}"][t], out[f"i{li + 1}"][t] = z[li], v[li], current[li]
    return out


def heaviside(x):
    """snnTorch's forward spike (x > 0), keeping the dtype (its default casts to float32)."""
    return (x > 0).to(x.dtype)


def braille_snntorch(
    net: Braille, x: np.ndarray, dt: float, reset: str, reset_delay: bool, recurrent: str = "rsynaptic"
) -> dict[str, np.ndarray]:
    """The Braille network built directly from snnTorch modules, in float64.

    alpha = 1 - dt/tau_syn, beta = 1 - dt/tau_mem (what snnTorch's exporter inverts), threshold
    v_threshold, the given reset_mechanism and reset_delay.  snnTorch adds its input straight to
    `syn` and `syn` straight to `mem`, so NIR's gains dt/tau_syn * w_in and dt/tau_mem * r (both
    1 up to float32 rounding in these files) multiply the weight rows and biases of the layer's
    inputs; `mem` is then NIR's v and `syn` is dt/tau_mem * r * I.

    recurrent='rsynaptic': the hidden layer is `snn.RSynaptic` with the graph's w_rec.
    recurrent='explicit': a `snn.Synaptic` fed fc1(x_t) + w_rec(z_{t-1}) by hand.  The two are
    the same for reset_delay=True; for reset_delay=False they differ, because RSynaptic 1.0.0
    ignores it (its no-delay branch resets local variables, not the state) while Synaptic honours it.
    x: (samples, steps, 12).  Returns spikes z1, z2 and membranes v1, v2, (samples, steps, n).
    """
    import snntorch as snn
    import torch

    def gain(p: CubaLayer) -> np.ndarray:
        return (dt / p.tau_syn * p.w_in) * (dt / p.tau_mem * p.r)

    def linear(w, b, g):
        m = torch.nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(w * g[:, None]))
            m.bias.copy_(torch.from_numpy(b * g))
        return m

    def params(p: CubaLayer):
        alpha = torch.from_numpy(1.0 - dt / p.tau_syn)
        beta = torch.from_numpy(1.0 - dt / p.tau_mem)
        thr = np.unique(p.v_threshold)
        assert thr.size == 1
        return dict(alpha=alpha, beta=beta, threshold=float(thr[0]), reset_mechanism=reset, reset_delay=reset_delay,
                    spike_grad=heaviside)  # fmt: skip

    g1, g2 = gain(net.lif1), gain(net.lif2)
    fc1 = linear(net.fc1_w, net.fc1_b, g1)
    fc2 = linear(net.fc2_w, net.fc2_b, g2)
    rec = linear(net.rec_w, net.rec_b, g1)
    n1, n2 = len(g1), len(g2)
    if recurrent == "rsynaptic":
        lif1 = snn.RSynaptic(linear_features=n1, all_to_all=True, **params(net.lif1)).double()
        lif1.recurrent = rec
    else:
        lif1 = snn.Synaptic(**params(net.lif1)).double()
    lif2 = snn.Synaptic(**params(net.lif2)).double()

    xs = torch.from_numpy(np.asarray(x, dtype=np.float64))
    n, steps, _ = xs.shape
    zeros = lambda k: torch.zeros(n, k, dtype=torch.float64)  # noqa: E731
    s1, syn1, mem1, syn2, mem2 = zeros(n1), zeros(n1), zeros(n1), zeros(n2), zeros(n2)
    out = {k: np.zeros((n, steps, m)) for k, m in (("z1", n1), ("v1", n1), ("z2", n2), ("v2", n2))}
    with torch.no_grad():
        for t in range(steps):
            if recurrent == "rsynaptic":
                s1, syn1, mem1 = lif1(fc1(xs[:, t]), s1, syn1, mem1)
            else:
                s1, syn1, mem1 = lif1(fc1(xs[:, t]) + rec(s1), syn1, mem1)
            s2, syn2, mem2 = lif2(fc2(s1), syn2, mem2)
            for k, val in (("z1", s1), ("v1", mem1), ("z2", s2), ("v2", mem2)):
                out[k][:, t] = val.numpy()
    return out


def random_spike_inputs(n: int, steps: int, channels: int, density: float, seed: int) -> np.ndarray:
    """(n, steps, channels) binary inputs, Braille-like (the data set itself is not available)."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, steps, channels)) < density).astype(np.float64)
