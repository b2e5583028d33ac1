"""Streaming (one step per call): the same numbers as a batch run and as the plain equations,
energy per step that sums to the energy model's figure, and the event-text reader's errors.
No timing is asserted anywhere."""

from __future__ import annotations

import re

import numpy as np
import pytest

from evsim import api
from evsim import stream as streaming
from evsim.audit import prepare_hardware
from evsim.engines import event, step
from evsim.events import EventBatch
from evsim.hardware.energy import energy_report
from evsim.hardware.profile import load_profile
from evsim.model import InitialState, LayerInit, Projection, decide, initial_state
from evsim.tasks import open_task

from conftest import tiny_network
from test_engines import scalar_simulation
from test_neurons import inputs as mixed_inputs
from test_neurons import mixed_network


def step_through(net, inputs: EventBatch, row: int, state, precision: str = "float64", via: str = "stepper"):
    """Run one sample through engines.step (a Stepper, as `evsim stream` does, or the
    dispatcher's `advance`); returns (trace, its counters)."""
    rec = event.prepare(net, precision)
    st = step.start(rec, state, row)
    go = step.Stepper(rec) if via == "stepper" else lambda st, channel, value: step.advance(rec, st, channel, value)
    trace = []
    for channel, value in streaming.steps_of(inputs, row):
        go(st, channel, value)
        trace.append(st.readout[0].copy())
    return np.array(trace), st.sample


def delayed_network(**overrides):
    """tiny_network with an input delay of 1 and a recurrent delay of 2: both rings wrap."""
    rng = np.random.default_rng(3)
    kw = dict(
        projections=[
            Projection("input", "h", np.abs(rng.normal(size=(3, 2))) * 2 + 0.5, rng.normal(size=3) * 0.1, 1),
            Projection("h", "h", rng.normal(size=(3, 3)), np.zeros(3), 2),
            Projection("h", "o", rng.normal(size=(2, 3)), rng.normal(size=2) * 0.1, 0),
        ]
    )
    return tiny_network(**kw, **overrides)


@pytest.mark.parametrize("via", ["stepper", "advance"])
@pytest.mark.parametrize("make", [tiny_network, delayed_network])
@pytest.mark.parametrize("init", ["zeros", "paper"])
def test_step_by_step_equals_batch_and_the_scalar_equations(make, init, via):
    net = make() if init == "zeros" else make(initial_state=InitialState(default=LayerInit("uniform", 1.0)))
    rng = np.random.default_rng(5)
    x = (rng.random((2, 50, 2)) < 0.3).astype(float)
    x[0, 4, 1], x[1, 7, 0] = -1.0, 0.5  # a -1 event and an analog value (a MAC)
    inputs = EventBatch.from_dense(x)
    state = initial_state(net, np.array([0, 1]), init, seed=2)
    batch = event.simulate(net, inputs, state, record_spikes=True)
    for s in range(2):
        trace, st = step_through(net, inputs, s, state, via=via)
        np.testing.assert_array_equal(trace, batch.trace[s])
        for key in streaming.COUNTERS:
            np.testing.assert_array_equal(getattr(st, key), getattr(batch.counts, key)[s], err_msg=key)
        spike0 = {layer.name: state[li].spike[s] for li, layer in enumerate(net.layers)}
        mem0 = {layer.name: state[li].mem[s] for li, layer in enumerate(net.layers)}
        mem, spk = scalar_simulation(net, x[s], spike0, mem0)
        np.testing.assert_array_equal(trace, mem["o"])
        assert spk["h"].sum() > 3, "the hidden layer must spike for the test to mean anything"


def test_every_neuron_type_streams_as_it_runs_in_a_batch():
    """The registry's mixed network: every type, several spikes per step, an input delay of 2."""
    net = mixed_network()
    x = mixed_inputs(2)
    inputs = EventBatch.from_dense(x)
    state = initial_state(net, np.arange(2), "zeros")
    batch = event.simulate(net, inputs, state)
    for s in range(2):
        trace, st = step_through(net, inputs, s, state)
        np.testing.assert_array_equal(trace, batch.trace[s])
        for key in streaming.COUNTERS:
            np.testing.assert_array_equal(getattr(st, key), getattr(batch.counts, key)[s], err_msg=key)
    assert batch.counts.spikes[:, 2].sum() > 0


@pytest.mark.parametrize("name", ["shd_nmi2021", "ecg_icons2020"])
def test_paper_models_stream_equals_batch(paper_network, name):
    net = paper_network(name)
    data = open_task("random", None, n=2, channels=net.n_inputs, steps=120, density=0.05, seed=4)
    b = next(data.batches(2))
    state = initial_state(net, b.sample_ids, "paper", seed=1)
    batch = event.simulate(net, b.inputs, state)
    for s in range(2):
        trace, st = step_through(net, b.inputs, s, state)
        np.testing.assert_array_equal(trace, batch.trace[s])
        np.testing.assert_array_equal(st.ac, batch.counts.ac[s])
        np.testing.assert_array_equal(st.spikes, batch.counts.spikes[s])
    assert batch.counts.spikes.sum() > 100


def test_stream_report_energy_sums_to_the_energy_model_and_accuracy_matches_run():
    net = tiny_network()
    data = open_task("random", None, n=3, channels=2, steps=40, density=0.3, seed=8)
    report = streaming.stream(net, streaming.task_samples(data), "cmos45-fp32")
    assert report.samples == 3 and report.steps == 120
    assert report.latency_us["median"] > 0 and report.latency_us["p99"] >= report.latency_us["median"]
    # the energy model applied to the whole run's counts (an independent path: no per-step split)
    run = api.run(net, data)
    per_sample = {k: np.asarray(v, dtype=np.float64) / run.samples for k, v in run.counts_total.items()}
    prof = load_profile("cmos45-fp32")
    expected = energy_report(net, prof, prepare_hardware(net, prof).mapping, per_sample, run.steps)
    assert report.energy_per_sample_j == pytest.approx(expected["total"], rel=1e-12)
    assert report.energy_per_step_j["mean"] == pytest.approx(expected["per_step"], rel=1e-12)
    batch = next(data.batches(3))
    ev = api.simulate(net, batch.inputs, batch.sample_ids)
    assert report.predictions == decide(net.readout, ev.trace).tolist()


def test_event_text_is_the_dense_input():
    net = tiny_network()
    rng = np.random.default_rng(2)
    x = (rng.random((2, 30, 2)) < 0.3).astype(float)
    x[1, 3, 0] = -0.25
    lines = []
    for s in range(2):
        for t, c in zip(*np.nonzero(x[s])):
            lines.append(f"{t} {c} {float(x[s, t, c])!r}" if x[s, t, c] != 1 else f"{t} {c}  # a spike")
        lines.append("---")
    batch = event.simulate(net, EventBatch.from_dense(x), initial_state(net, np.array([0, 1])))
    seen = []
    for sample in streaming.read_events(iter(lines), 2, n_steps=30):  # a stream: each sample read as it comes
        steps = list(sample.steps)
        assert len(steps) == 30
        dense = np.zeros((30, 2))
        for t, (ch, v) in enumerate(steps):
            dense[t, ch] = v
        np.testing.assert_array_equal(dense, x[sample.sample_id])
        seen.append(sample.sample_id)
    assert seen == [0, 1]
    report = streaming.stream(net, streaming.read_events(iter(lines), 2, n_steps=30), "cmos45-fp32")
    assert report.predictions == decide(net.readout, batch.trace).tolist()


def test_event_text_without_steps_runs_to_the_last_event():
    samples = streaming.read_events(iter(["0 1", "4 0 0.5"]), 2)
    steps = list(next(samples).steps)
    assert next(samples, None) is None
    assert len(steps) == 5 and steps[4][0].tolist() == [0] and steps[4][1].tolist() == [0.5]
    assert all(len(ch) == 0 for ch, _ in steps[1:4])


@pytest.mark.parametrize(
    "lines, message",
    [
        (["0 1", "x 1"], "line 2: expected 'step channel [value]'"),
        (["3 1", "2 0"], "line 2: step 2 comes after step 3"),
        (["0 2"], "line 1: channel 2 lies outside 0..1"),
        (["0 1", "0 1"], "line 2: a second event on channel 1 at step 0"),
        (["0 1 nan"], "line 1: value 'nan' is not finite"),
        (["9 1"], "line 1: step 9 lies beyond --steps 5"),
    ],
)
def test_event_text_errors_name_the_line(lines, message):
    from evsim.errors import EvsimError

    with pytest.raises(EvsimError, match=re.escape(message)):
        for sample in streaming.read_events(iter(lines), 2, n_steps=5):
            list(sample.steps)


def test_cli_stream(cli, tmp_path):
    code, out, err = cli("stream", "--task", "ecg-synthetic", "--n", "2", "--json")
    assert code == 0, err
    import json

    report = json.loads(out)
    assert report["samples"] == 2 and report["accuracy"] is not None
    assert report["energy_per_step_j"]["mean"] > 0
    events = tmp_path / "ev.txt"
    events.write_text("0 1\n2 3 -1\n")
    code, out, err = cli("stream", "--events", events, "--steps", "20", "--json")
    assert code == 0, err
    assert json.loads(out)["steps"] == 20
    for argv, message in [
        (("stream",), "give either --task T or --events FILE"),
        (("stream", "--events", events, "--profile", "loihi"), "profile 'loihi' is fixed-point"),
        (("stream", "--events", tmp_path / "missing.txt"), "is not a file"),
        (("stream", "--events", events, "--steps", "2"), "line 2: step 2 lies beyond --steps 2"),
    ]:
        code, out, err = cli(*argv)
        assert code == 2 and message in err and "Traceback" not in err, (argv, err)
        assert len(err.strip().splitlines()) == 1
