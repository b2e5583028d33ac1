"""--precision float32: the event engine and the reference agree bit for bit in float32 (spikes,
membranes, currents, readout, counts), on every neuron type and on the paper models; the float32
record holds float32 numbers; a float32 stream equals a float32 batch.  How far float32 moves
from float64 is measured in bench/precision.py, not asserted here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evsim import api
from evsim.engines import event, reference
from evsim.engines.record import prepare
from evsim.events import EventBatch
from evsim.model import InitialState, LayerInit, initial_state
from evsim.tasks import open_task

from conftest import tiny_network
from test_neurons import inputs as mixed_inputs
from test_neurons import mixed_network
from test_stream import step_through


def both(net, x, state):
    ev = event.simulate(prepare(net, "float32"), EventBatch.from_dense(x), state, record_spikes=True, record_mem=True)
    ref = reference.simulate(net, x, state, record_spikes=True, record_mem=True, precision="float32")
    return ev, ref


def assert_identical(net, ev, ref):
    for li in range(len(net.layers)):
        np.testing.assert_array_equal(ev.spikes[li], ref.spikes[li])
        np.testing.assert_array_equal(ev.mem[li], ref.mem[li])
        assert (ev.syn[li] is None) == (ref.syn[li] is None)
        if ev.syn[li] is not None:
            np.testing.assert_array_equal(ev.syn[li], ref.syn[li])
    np.testing.assert_array_equal(ev.trace, ref.trace)
    assert ev.counts.equals(ref.counts)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_float32_event_equals_float32_reference_on_every_type(discretization):
    """Mixed types, delays 0-3, several spikes per step, -1 and graded inputs.  The weights are
    not sums of few bits here: float32 rounding happens in every sum."""
    net = mixed_network(discretization)
    rng = np.random.default_rng(3)
    for p in net.projections:
        p.weight = p.weight + rng.normal(size=p.weight.shape) * 0.01
    x = mixed_inputs(3)
    ev, ref = both(net, x, initial_state(net, np.arange(3), "zeros"))
    assert_identical(net, ev, ref)
    assert all(s.sum() > 3 for s, layer in zip(ev.spikes, net.layers) if layer.spiking)


def test_float32_fractional_initial_spikes_and_analog_inputs():
    net = tiny_network(initial_state=InitialState(default=LayerInit("uniform", 1.0)))
    rng = np.random.default_rng(4)
    x = (rng.random((2, 60, 2)) < 0.3).astype(float)
    x[0, 5, 1], x[1, 9, 0] = -1.0, 0.3
    ev, ref = both(net, x, initial_state(net, np.arange(2), "paper", seed=1))
    assert_identical(net, ev, ref)
    assert ev.counts.mac.sum() > 0


def test_float32_record_is_float32_and_differs_from_float64():
    net = tiny_network()
    r32, r64 = prepare(net, "float32"), prepare(net, "float64")
    for key in ("w", "coef", "coef_t", "bias"):
        assert getattr(r32, key).dtype == np.float32 and getattr(r64, key).dtype == np.float64
        np.testing.assert_array_equal(getattr(r32, key), getattr(r64, key).astype(np.float32))
    x = (np.random.default_rng(0).random((1, 40, 2)) < 0.3).astype(float)
    state = initial_state(net, np.arange(1))
    a = event.simulate(r32, EventBatch.from_dense(x), state, record_mem=True)
    b = event.simulate(r64, EventBatch.from_dense(x), state, record_mem=True)
    assert np.all(a.mem[0] == a.mem[0].astype(np.float32)), "float32 state holds float32 numbers"
    assert not np.array_equal(a.mem[0], b.mem[0])


@pytest.mark.parametrize("name", ["shd_nmi2021", "ssc_nmi2021"])
def test_float32_crosscheck_on_paper_models_is_bit_identical(paper_network, name):
    net = paper_network(name)
    data = open_task("random", None, n=4, channels=700, steps=150, density=0.05, seed=3)
    report = api.crosscheck(net, data, init="paper", seed=2, precision="float32")
    assert report.passed and report.precision == "float32"
    assert report.spike_agreement == 1.0 and report.max_abs_mem_diff == 0.0
    assert report.sops_event["ac"] > 1e5


def test_float32_crosscheck_on_ecg_is_bit_identical(paper_network, ecg_test):
    report = api.crosscheck(paper_network("ecg_icons2020"), ecg_test, limit=16, precision="float32")
    assert report.passed and report.spike_agreement == 1.0 and report.max_abs_mem_diff == 0.0


def test_float32_stream_equals_float32_batch():
    net = mixed_network()
    x = mixed_inputs(2)
    inputs = EventBatch.from_dense(x)
    state = initial_state(net, np.arange(2), "zeros")
    batch = event.simulate(prepare(net, "float32"), inputs, state)
    for s in range(2):
        trace, st = step_through(net, inputs, s, state, "float32")
        np.testing.assert_array_equal(trace, batch.trace[s])
        np.testing.assert_array_equal(st.ac, batch.counts.ac[s])


def test_cli_precision(cli):
    code, out, err = cli("run", "--task", "ecg-synthetic", "--n", "2", "--precision", "float32", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["precision"] == "float32" and report["neurobench"]["Footprint"] > 0
    code, out, err = cli("run", "--task", "ecg-synthetic", "--n", "2", "--precision", "float16")
    assert code == 2 and "unknown precision 'float16'" in err and len(err.strip().splitlines()) == 1
