"""The two engines against each other, against a scalar transcription of the equations, and
the event engine's operation counts against counts made here from spike trains."""

from __future__ import annotations

import numpy as np
import pytest

from evsim import api
from evsim.engines import event, reference
from evsim.events import EventBatch
from evsim.model import initial_state
from evsim.tasks import open_task

from conftest import tiny_network


def scalar_simulation(net, x, init_spike=None, init_mem=None):
    """The README's equations in plain Python floats, one neuron at a time.

    Currents are summed as the event engine sums them: bias first, then each projection's
    events in source-index order, so the event engine must match this bit for bit.
    """
    steps = x.shape[0]
    names = [layer.name for layer in net.layers]
    mem = {l.name: [0.0] * l.size if init_mem is None else list(init_mem[l.name]) for l in net.layers}
    b = {l.name: (list(l.b_j0) if l.neuron == "alif" else [0.0] * l.size) for l in net.layers}
    spikes = {l.name: {-1: [0.0] * l.size if init_spike is None else list(init_spike[l.name])} for l in net.layers}
    out_mem = {n: np.zeros((steps, net.layer(n).size)) for n in names}
    out_spk = {n: np.zeros((steps, net.layer(n).size)) for n in names}
    for t in range(steps):
        for layer in net.layers:
            incoming = net.incoming(layer.name)
            bias = [0.0] * layer.size
            for p in incoming:
                bias = [bias[i] + p.bias[i] for i in range(layer.size)]
            current = list(bias)
            for p in incoming:
                ts = t - p.delay
                if p.source == "input":
                    src = list(x[ts]) if ts >= 0 else None
                else:
                    src = spikes[p.source].get(ts)
                if src is None:
                    continue
                for j, v in enumerate(src):
                    if v == 0:
                        continue
                    for i in range(layer.size):
                        w = p.weight[i, j]
                        current[i] = current[i] + w if v == 1 else (current[i] - w if v == -1 else current[i] + v * w)
            new = [0.0] * layer.size
            assert layer.neuron in ("alif", "li"), "this transcription covers the SRNN types (new types: test_neurons.py)"
            for i in range(layer.size):
                # NumPy's exp, not math.exp: the two libraries may round exp differently in
                # the last bit, which is not what this test is about.
                alpha = float(np.exp(-net.dt / (layer.tau_m[i] if layer.spiking else layer.tau_mem[i])))
                gain = (1.0 - alpha) * layer.r[i]
                if layer.spiking:
                    rho = float(np.exp(-net.dt / layer.tau_adp[i]))
                    sp = spikes[layer.name][t - 1][i]
                    b[layer.name][i] = rho * b[layer.name][i] + (1.0 - rho) * sp
                    threshold = layer.b_j0[i] + layer.beta[i] * b[layer.name][i]
                    mem[layer.name][i] = alpha * mem[layer.name][i] + gain * current[i] - threshold * sp * net.dt
                    new[i] = 1.0 if mem[layer.name][i] - threshold > 0 else 0.0
                else:
                    mem[layer.name][i] = alpha * mem[layer.name][i] + gain * current[i]
            spikes[layer.name][t] = new
            out_mem[layer.name][t] = mem[layer.name]
            out_spk[layer.name][t] = new
    return out_mem, out_spk


def independent_counts(net, x, spikes, init_spike):
    """ac / ac_structural / mac per projection for one sample, by walking spike trains."""
    steps = x.shape[0]
    result = []
    for p in net.projections:
        ac = acs = mac = events = 0
        for t in range(steps):
            ts = t - p.delay
            if ts < -1 or (p.source == "input" and ts < 0):
                continue
            if p.source == "input":
                src = x[ts]
            elif ts == -1:
                src = init_spike[p.source]
            else:
                src = spikes[p.source][ts]
            for j, v in enumerate(src):
                if v == 0:
                    continue
                events += 1
                nz = int(np.count_nonzero(p.weight[:, j]))
                if v in (1.0, -1.0):
                    ac += nz
                    acs += p.weight.shape[0]
                else:
                    mac += nz
        result.append((events, ac, acs, mac))
    return result


def test_tiny_network_matches_scalar_equations_bit_for_bit():
    net = tiny_network()
    rng = np.random.default_rng(1)
    x = (rng.random((1, 60, 2)) < 0.3).astype(float)
    x[0, 5, 1] = -1.0  # a -1 input event, as in QTDB
    x[0, 9, 0] = 0.5  # an analog input value: a MAC
    state = initial_state(net, np.array([0]), "zeros")
    ev = event.simulate(net, EventBatch.from_dense(x), state, record_spikes=True, record_mem=True)
    mem, spk = scalar_simulation(net, x[0])
    assert spk["h"].sum() > 5, "the test network must spike to test anything"
    for li, layer in enumerate(net.layers):
        np.testing.assert_array_equal(ev.mem[li][0], mem[layer.name])
        np.testing.assert_array_equal(ev.spikes[li][0], spk[layer.name] if layer.spiking else 0)
    counts = independent_counts(net, x[0], spk, {"h": [0.0] * 3})
    c = ev.counts
    assert [tuple(int(v) for v in row) for row in zip(c.events[0], c.ac[0], c.ac_structural[0], c.mac[0])] == counts
    assert c.mac[0, 0] == 3, "the 0.5 input reaches 3 non-zero weights"


def test_paper_initial_state_fractional_spike_is_delivered_once_as_mac():
    from evsim.model import InitialState, LayerInit

    net = tiny_network(initial_state=InitialState(default=LayerInit("uniform", 1.0)))
    x = np.zeros((1, 20, 2))
    state = initial_state(net, np.array([4]), "paper", seed=3)
    h0 = state[0].spike[0]
    assert np.all((h0 > 0) & (h0 < 1)), "paper rule: spike = mem = U(0,1)"
    ev = event.simulate(net, EventBatch.from_dense(x), state, record_spikes=True, record_mem=True)
    mem, spk = scalar_simulation(net, x[0], init_spike={"h": h0, "o": [0, 0]}, init_mem={"h": h0, "o": state[1].mem[0]})
    np.testing.assert_array_equal(ev.mem[0][0], mem["h"])
    pi = 1  # h->h, delay 1: the step -1 spike arrives at step 0
    assert ev.counts.events[0, pi] >= 3 and ev.counts.mac[0, pi] == 9


@pytest.mark.parametrize("init", ["zeros", "paper"])
def test_ecg_engines_agree_on_the_whole_test_set(paper_network, ecg_test, init):
    net = paper_network("ecg_icons2020")
    report = api.crosscheck(net, ecg_test, init=init, seed=0, batch_size=48)
    assert report.samples == 141
    assert report.spike_agreement == 1.0 and report.samples_identical == 141
    assert report.prediction_agreement == 1.0
    assert report.sops_agree
    assert report.max_abs_mem_diff < 1e-12  # summation order only (docs/counting.md)
    assert report.passed


@pytest.mark.parametrize("name", ["shd_nmi2021", "ssc_nmi2021"])
@pytest.mark.parametrize("init", ["zeros", "paper"])
def test_shd_ssc_engines_agree_on_random_inputs(paper_network, name, init):
    net = paper_network(name)
    data = open_task("random", None, n=6, channels=700, steps=250, density=0.05, seed=11)
    report = api.crosscheck(net, data, init=init, seed=5)
    assert report.spike_agreement == 1.0 and report.samples_identical == 6
    assert report.prediction_agreement == 1.0 and report.sops_agree
    assert report.max_abs_mem_diff < 1e-10
    assert report.sops_event["ac"] > 1e5, "the hidden layers must be active for the check to mean anything"


def test_event_ac_matches_independent_count_on_ecg(paper_network, ecg_test):
    net = paper_network("ecg_icons2020")
    batch = next(ecg_test.batches(3))
    x = batch.inputs.to_dense()
    state = initial_state(net, batch.sample_ids, "paper", seed=2)
    ref = reference.simulate(net, x, state, record_spikes=True)
    ev = event.simulate(net, batch.inputs, state)
    for s in range(3):
        spikes = {layer.name: ref.spikes[li][s] for li, layer in enumerate(net.layers)}
        init = {layer.name: state[li].spike[s] for li, layer in enumerate(net.layers)}
        expected = independent_counts(net, x[s], spikes, init)
        got = list(zip(ev.counts.events[s], ev.counts.ac[s], ev.counts.ac_structural[s], ev.counts.mac[s]))
        assert [tuple(int(v) for v in row) for row in got] == expected
    # QTDB's -1 artefact at the last step is an input event, counted as an accumulate
    assert x[:, -1, 0].tolist() == [-1, -1, -1]


def test_results_do_not_depend_on_batching_or_threads(paper_network):
    import numba

    net = paper_network("shd_nmi2021")
    data = open_task("random", None, n=4, channels=700, steps=100, density=0.05, seed=1)
    whole = next(data.batches(4))
    full = api.simulate(net, whole.inputs, whole.sample_ids, "event", "paper", seed=9)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        for b in data.batches(1):
            one = api.simulate(net, b.inputs, b.sample_ids, "event", "paper", seed=9)
            i = int(b.sample_ids[0])
            np.testing.assert_array_equal(one.trace[0], full.trace[i])
            np.testing.assert_array_equal(one.counts.ac[0], full.counts.ac[i])
    finally:
        numba.set_num_threads(previous)


def test_recurrent_spike_at_the_last_step_is_never_delivered():
    net = tiny_network()
    x = np.ones((1, 30, 2))
    state = initial_state(net, np.array([0]), "zeros")
    ev = event.simulate(net, EventBatch.from_dense(x), state, record_spikes=True)
    h = ev.spikes[0][0]
    # h->h has delay 1: events delivered = spikes of steps 0..T-2
    assert ev.counts.events[0, 1] == h[:-1].sum()
    # h->o has delay 0: every spike is delivered
    assert ev.counts.events[0, 2] == h.sum()
    assert h[-1].sum() > 0, "the last step must hold spikes for this test to mean anything"
