"""The neuron registry: each new type against a plain-Python transcription of its docstring
equations (written here from the docstrings, not from the modules' code), and the event engines
against the dense references bit for bit, float64 and fixed point, on a network that mixes every
type with delays of 0 to 3 (a ring buffer of four slots) and a neuron firing several spikes per
step.  Weights and biases are multiples of 1/8, so every sum of them is exact in any order and
the engines must agree to the last bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evsim import neurons
from evsim.engines import event, fixed, reference
from evsim.events import EventBatch
from evsim.hardware.profile import load_profile, profile_from_dict
from evsim.hardware.quantize import quantize
from evsim.model import Layer, Network, Projection, Readout, initial_state

STEPS = 70


def mixed_network(discretization: str = "exact", dt: float = 1.0, **layer_options) -> Network:
    rng = np.random.default_rng(11)
    d8 = lambda *shape: rng.integers(-6, 13, size=shape) / 8.0  # noqa: E731  exact sums
    layers = [
        Layer("A", 4, "lif", tau_mem=[4.0, 6.0, 9.0, 20.0], v_threshold=1.0, v_leak=0.125, r=1.5, **layer_options.get("A", {})),
        Layer("B", 3, "cuba-lif", tau_syn=[2.0, 3.0, 5.0], tau_mem=[5.0, 8.0, 12.0], v_threshold=0.5, v_reset=-0.25,
              w_in=[1.0, 2.0, 0.5], reset="zero", **layer_options.get("B", {"update": "sequential"})),
        Layer("C", 3, "if", v_threshold=[0.5, 0.75, 1.0], r=0.5, max_spikes=3),
        Layer("D", 2, "lif", tau_mem=[3.0, 7.0], v_threshold=0.75, v_reset=0.125, reset="zero", reset_at="next-step"),
        Layer("G", 2, "alif", tau_m=[5.0, 10.0], tau_adp=[30.0, 60.0], beta=0.5, b_j0=0.1, r=3.0),
        Layer("F", 2, "li", tau_mem=[3.0, 6.0], v_leak=0.5, r=2.0),
        Layer("E", 3, "cuba-li", tau_syn=[2.0, 4.0, 6.0], tau_mem=[3.0, 5.0, 9.0], w_in=1.5, v_leak=-0.125),
    ]
    size = {layer.name: layer.size for layer in layers} | {"input": 3}
    wiring = [("input", "A", 0), ("input", "C", 2), ("A", "B", 0), ("A", "A", 1), ("B", "C", 0), ("C", "D", 3),
              ("D", "B", 2), ("C", "C", 1), ("A", "G", 2), ("G", "E", 0), ("B", "E", 1), ("D", "E", 0), ("C", "F", 0)]
    projections = [Projection(s, t, d8(size[t], size[s]) + (0.5 if s == "input" else 0.0), d8(size[t]) / 4, d) for s, t, d in wiring]
    return Network("mixed", 3, layers, projections, Readout("E", "mem", "sum"), dt=dt, discretization=discretization)


def inputs(n: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.random((n, STEPS, 3)) < 0.35).astype(np.float64)
    x[0, 4, 1] = -1.0
    x[0, 9, 2] = 2.0  # a graded input value: multiply-accumulates
    return x


# ---- plain-Python transcription of the docstrings (evsim/neurons/*.py) ------------------------


def transcribe(net: Network, x: np.ndarray):
    """One sample, one neuron at a time, Python floats; returns per layer (v, i, spikes)."""
    dt = net.dt

    def decay(tau):
        return float(np.exp(-dt / tau)) if net.discretization == "exact" else 1.0 - dt / tau

    state = {}
    for layer in net.layers:
        n = layer.size
        state[layer.name] = {"v": [0.0] * n, "i": [0.0] * n, "a": list(layer.params.get("b_j0", [0.0] * n)),
                             "s": [0.0] * n, "hist": {}}
    out = {layer.name: (np.zeros((STEPS, layer.size)), np.zeros((STEPS, layer.size)), np.zeros((STEPS, layer.size))) for layer in net.layers}
    for t in range(STEPS):
        for layer in net.layers:
            st, P, O = state[layer.name], layer.params, layer.options
            inc = net.incoming(layer.name)
            current = [0.0] * layer.size
            for p in inc:
                current = [current[k] + p.bias[k] for k in range(layer.size)]
            for p in inc:
                ts = t - p.delay
                src = (list(x[ts]) if ts >= 0 else None) if p.source == "input" else state[p.source]["hist"].get(ts)
                if src is None:
                    continue
                for j, val in enumerate(src):
                    if val != 0:
                        for k in range(layer.size):
                            current[k] = current[k] + val * p.weight[k, j]
            for k in range(layer.size):
                v, i, a, s, I = st["v"][k], st["i"][k], st["a"][k], st["s"][k], current[k]
                if layer.neuron in ("lif", "if", "cuba-lif"):
                    if layer.neuron == "cuba-lif":
                        asyn = decay(P["tau_syn"][k])
                        i_new = asyn * i + (1 - asyn) * P["w_in"][k] * I
                        J = i if O["update"] == "simultaneous" else i_new
                    else:
                        J, i_new = I, i
                    th, vr = P["v_threshold"][k], P["v_reset"][k]
                    if layer.neuron == "if":
                        integrate = lambda v: v + (P["r"][k] * dt) * J  # noqa: E731
                    else:
                        al = decay(P["tau_mem"][k])
                        integrate = lambda v: al * v + (1 - al) * P["r"][k] * J + (1 - al) * P["v_leak"][k]  # noqa: E731
                    if O["reset_at"] == "next-step":
                        if O["reset"] == "zero":
                            v = v * (1 - s) + vr * s
                        v = integrate(v)
                        if O["reset"] == "subtract":
                            v = v - th * s
                        s = 1.0 if v - th > 0 else 0.0
                    elif O["max_spikes"] > 1:
                        v, s = integrate(v), 0.0
                        for _ in range(O["max_spikes"]):
                            f = 1.0 if v >= th else 0.0
                            v, s = v - th * f, s + f
                    else:
                        v = integrate(v)
                        s = 1.0 if v - th > 0 else 0.0
                        if O["reset"] == "subtract":
                            v = v - th * s
                        elif O["reset"] == "zero":
                            v = v * (1 - s) + vr * s
                    i = i_new
                elif layer.neuron in ("li", "cuba-li"):
                    if layer.neuron == "cuba-li":
                        asyn = decay(P["tau_syn"][k])
                        i_new = asyn * i + (1 - asyn) * P["w_in"][k] * I
                        J = i if O["update"] == "simultaneous" else i_new
                    else:
                        J, i_new = I, i
                    al = decay(P["tau_mem"][k])
                    v = al * v + (1 - al) * P["r"][k] * J + (1 - al) * P["v_leak"][k]
                    i = i_new
                else:  # alif
                    al, rho = decay(P["tau_m"][k]), decay(P["tau_adp"][k])
                    a = rho * a + (1 - rho) * s
                    B = P["b_j0"][k] + P["beta"][k] * a
                    v = al * v + (1 - al) * P["r"][k] * I - B * s * dt
                    s = 1.0 if v - B > 0 else 0.0
                st["v"][k], st["i"][k], st["a"][k], st["s"][k] = v, i, a, s
            st["hist"][t] = list(st["s"])
            out[layer.name][0][t], out[layer.name][1][t], out[layer.name][2][t] = st["v"], st["i"], st["s"]
    return out


def run_float(net, x, engine):
    state = initial_state(net, np.arange(len(x)), "zeros")
    if engine == "event":
        return event.simulate(net, EventBatch.from_dense(x), state, record_spikes=True, record_mem=True)
    return reference.simulate(net, x, state, record_spikes=True, record_mem=True)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
@pytest.mark.parametrize("variant", ["default", "next-step-subtract", "simultaneous"])
def test_every_type_matches_its_docstring_equations_bit_for_bit(discretization, variant):
    options = {
        "default": {},
        "next-step-subtract": {"A": {"reset_at": "next-step"}},
        "simultaneous": {"B": {"update": "simultaneous"}, "A": {"reset": "none"}},
    }[variant]
    net = mixed_network(discretization, **options)
    x = inputs(1)
    ev = run_float(net, x, "event")
    want = transcribe(net, x[0])
    for li, layer in enumerate(net.layers):
        v, i, s = want[layer.name]
        np.testing.assert_array_equal(ev.mem[li][0], v, err_msg=layer.name)
        np.testing.assert_array_equal(ev.spikes[li][0], s, err_msg=layer.name)
        if layer.has_current:
            np.testing.assert_array_equal(ev.syn[li][0], i, err_msg=layer.name)
        else:
            assert ev.syn[li] is None
    spiking = {layer.name: ev.spikes[li].sum() for li, layer in enumerate(net.layers) if layer.spiking}
    assert all(n > 3 for n in spiking.values()), f"every spiking layer must fire to test anything: {spiking}"
    assert ev.spikes[2].max() >= 2, "the if layer must fire several spikes in a step"


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_event_engine_matches_reference_bit_for_bit_on_mixed_types_and_long_delays(discretization):
    net = mixed_network(discretization)
    assert net.max_delay == 3
    x = inputs(3)
    ev, ref = run_float(net, x, "event"), run_float(net, x, "reference")
    for li in range(len(net.layers)):
        assert np.array_equal(ev.spikes[li], ref.spikes[li])
        assert np.array_equal(ev.mem[li], ref.mem[li])
        assert (ev.syn[li] is None) == (ref.syn[li] is None)
        if ev.syn[li] is not None:
            assert np.array_equal(ev.syn[li], ref.syn[li])
    assert np.array_equal(ev.trace, ref.trace)
    assert ev.counts.equals(ref.counts)


def test_several_spikes_per_step_are_counted_as_that_many_events():
    """Counts recomputed here from the spike trains: a count of k is k events of +1, k x nnz ac."""
    net = mixed_network()
    x = inputs(1)
    ev = run_float(net, x, "event")
    names = [layer.name for layer in net.layers]
    for pi, p in enumerate(net.projections):
        if p.source == "input":
            continue
        spikes = ev.spikes[names.index(p.source)][0].astype(np.int64)
        window = spikes[: max(STEPS - p.delay, 0)]
        nnz = np.count_nonzero(p.weight, axis=0)
        assert ev.counts.events[0, pi] == window.sum()
        assert ev.counts.ac[0, pi] == (window * nnz).sum()
        assert ev.counts.ac_structural[0, pi] == window.sum() * p.weight.shape[0]
        assert ev.counts.mac[0, pi] == 0
    assert ev.counts.spikes[0, 2] == ev.spikes[2].sum() > ev.spikes[2].astype(bool).sum()


# ---- fixed point ---------------------------------------------------------------------------------


def _profile(kind: str, overflow: str = "saturate", bits: int = 14):
    decay = {"kind": "multiplier", "bits": 10, "rounding": "nearest"} if kind == "multiplier" else {"kind": "shift", "min_step": True}
    state = {f"{k}_bits": bits for k in ("membrane", "current", "adaptation")} | {f"{k}_overflow": overflow for k in ("membrane", "current", "adaptation")}
    return profile_from_dict({"name": "t", "arithmetic": "fixed", "weights": {"bits": 8, "granularity": "neuron"}, "state": state, "decay": decay})


def _xylo_widths():
    """Xylo Audio 2's widths and shift decays on each type's own integer step (Xylo's own neuron
    cannot hold this mix of types: tests/test_xylo_*.py test it)."""
    import dataclasses

    p = load_profile("xylo-audio2")
    return dataclasses.replace(p, dynamics=dataclasses.replace(p.dynamics, integer_step=""), weights=dataclasses.replace(p.weights, granularity="projection"))


@pytest.mark.parametrize("profile", ["multiplier", "shift", "narrow-wrap", "loihi", "xylo"])
def test_fixed_point_engines_agree_bit_for_bit_on_mixed_types(profile):
    net = mixed_network("euler")
    p = {"narrow-wrap": lambda: _profile("multiplier", "wrap", bits=10), "loihi": lambda: load_profile("loihi"),
         "xylo": _xylo_widths}.get(profile, lambda: _profile(profile))()
    rec = quantize(net, p).record
    x = np.clip(inputs(3), -1, 1)
    ev = fixed.simulate(rec, EventBatch.from_dense(x), record_spikes=True, record_mem=True)
    ref = fixed.simulate_reference(rec, x, record_spikes=True, record_mem=True)
    for li, layer in enumerate(net.layers):
        assert np.array_equal(ev.spikes[li], ref.spikes[li]), layer.name
        assert ev.mem[li].dtype == np.int64 and np.array_equal(ev.mem[li], ref.mem[li]), layer.name
        if layer.has_current:
            assert np.array_equal(ev.syn[li], ref.syn[li]), layer.name
    assert ev.counts.equals(ref.counts) and np.array_equal(ev.overflow, ref.overflow)
    assert np.array_equal(ev.trace_int, ref.trace_int)
    fired = [int(ev.spikes[li].sum()) for li, layer in enumerate(net.layers) if layer.spiking]
    assert sum(f > 0 for f in fired) >= 3, f"the integer network must spike to test anything: {fired}"
    if profile == "narrow-wrap":
        assert ev.overflow.sum() > 0


def test_integer_lif_and_cuba_lif_against_their_docstring_equations():
    """lif (same-step subtract, leak) and cuba-lif (sequential, zero reset) in integers, by hand:
    v = bound(decay(v) + J + leak_q), reset rules; the current i = bound(decay(i) + I)."""
    net = Network("two", 1, [
        Layer("a", 1, "lif", tau_mem=4.0, v_threshold=1.0, v_leak=0.25),
        Layer("b", 1, "cuba-lif", tau_syn=3.0, tau_mem=5.0, v_threshold=0.3, reset="zero", v_reset=-0.125, update="sequential"),
    ], [Projection("input", "a", [[3.0]], [0.0]), Projection("a", "b", [[2.0]], [0.0])], Readout("b", "spike", "sum"))
    q = quantize(net, _profile("multiplier"))
    rec = q.record
    x = np.zeros((1, 40, 1))
    x[0, ::2, 0] = 1.0
    ev = fixed.simulate(rec, EventBatch.from_dense(x), record_spikes=True, record_mem=True)
    lo, hi = -(1 << 13), (1 << 13) - 1
    dec = lambda v, c: (v * c + (1 << 9)) >> 10  # noqa: E731  multiplier, 10 bits, nearest
    ca, cb = rec.coef[0], rec.coef[1]
    wa, wb = int(rec.w[0]), int(rec.w[1])
    va = vb = ib = 0
    sa_prev = 0
    for t in range(40):
        va = min(max(dec(va, ca[0]) + wa * int(x[0, t, 0]) + int(ca[2]), lo), hi)
        sa = int(va > ca[3])
        va = va - int(ca[3]) * sa
        ib = min(max(dec(ib, cb[5]) + wb * sa, lo), hi)
        vb = min(max(dec(vb, cb[0]) + ib + int(cb[2]), lo), hi)
        sb = int(vb > cb[3])
        vb = vb * (1 - sb) + int(cb[4]) * sb
        assert (ev.mem[0][0, t, 0], ev.spikes[0][0, t, 0]) == (va, sa), t
        assert (ev.mem[1][0, t, 0], ev.syn[1][0, t, 0], ev.spikes[1][0, t, 0]) == (vb, ib, sb), t
    assert ev.spikes[0].sum() > 2 and ev.spikes[1].sum() > 0


# ---- the registry ---------------------------------------------------------------------------------


def test_every_registered_type_declares_what_the_issue_asks():
    for name, t in neurons.TYPES.items():
        module = t.step.__module__
        assert t.name == name and t.kernel in neurons.STEP_CODES
        assert all(p.unit and p.doc for p in t.params), name
        assert (t.step_fixed is not None and t.fixed is not None) or t.no_fixed, f"{name}: a fixed-point step or a reason"
        layer_kw = {p.name: 1.0 for p in t.params if p.default is None}
        layer = Layer("x", 2, name, **layer_kw)
        assert set(layer.op_mix) == {"mul", "add", "compare"}
        assert t.nir_node is None or t.nir_names, name
        assert neurons.get(name) is t and module.startswith("evsim.neurons.")
    assert neurons.get("leaky-integrator") is neurons.TYPES["li"]


def test_version_one_lif_with_dt_other_than_one_stays_the_alif_update():
    kind, params, options = neurons.legacy_layer("lif", 2, 5.0, 10.0, 0.0, 0.3, r_m=1.0, dt=0.5, where="x")
    assert kind == "alif" and float(params["beta"]) == 0.0
    kind, params, options = neurons.legacy_layer("lif", 2, 5.0, 10.0, 0.0, 0.3, r_m=2.0, dt=1.0, where="x")
    assert kind == "lif" and options["reset_at"] == "next-step" and params["r"] == 2.0
