"""weights/ecg-xylo.h5, the ECG model trained by evsim for Xylo: it is Xylo's neuron and
structure, within Xylo Audio 2's published limits (counted here from the weight matrices, not by
evsim's mapper), evsim's mapper finds no violation, its golden records hold, and both float
engines agree on all of QTDB's test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evsim import api
from evsim.formats.h5 import load_network
from evsim.hardware.mapping import map_network
from evsim.hardware.profile import load_profile
from evsim.hardware.quantize import quantize

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "ecg-xylo.h5"
# Xylo Audio 2 (SYNS61201), Rockpool's "Overview of the Xylo family": 16 input channels, 1000
# hidden neurons, 8 readout neurons, recurrent fan-out <= 64 per hidden neuron, 2 synaptic
# states per hidden neuron (1 per readout neuron); dashes are 4-bit fields
AUDIO2 = dict(inputs=16, hidden=1000, outputs=8, fan_out=64, dash_max=15)


@pytest.fixture(scope="module")
def net():
    return load_network(WEIGHTS)


def test_is_xylos_neuron_and_structure(net):
    hidden = [layer for layer in net.layers if layer.name != net.readout.layer]
    readout = net.layer(net.readout.layer)
    assert [layer.neuron for layer in hidden] == ["cuba-lif"] * len(hidden) and readout.neuron == "cuba-li"
    assert net.discretization == "euler" and net.readout.variable == "mem" and net.readout.aggregate == "per_step"
    for layer in hidden + [readout]:
        for key in ("tau_mem", "tau_syn"):
            dash = np.log2(layer.params[key] / net.dt)
            assert np.array_equal(dash, np.round(dash)), (layer.name, key)  # power-of-two decays: bit shifts
            assert dash.min() >= (1 if key == "tau_syn" else 0) and dash.max() <= AUDIO2["dash_max"]
        # Xylo's unit gains: the current adds to the membrane as it is; the input arrives before the decay
        coef = layer.coefficients(net.dt, net.discretization)
        np.testing.assert_array_equal(coef[:, 1], 1.0)
        np.testing.assert_array_equal(coef[:, 6], 1.0 - net.dt / layer.params["tau_syn"])
    for layer in hidden:
        assert layer.options == {"reset": "subtract", "reset_at": "same-step", "max_spikes": 31, "update": "sequential"}
    for p in net.projections:
        assert np.all(p.bias == 0)  # Xylo's biases reach the membrane (v_leak), not the synapses
        assert p.delay == (0 if p.source == "input" else 1)  # Xylo's recurrent and readout matrices read step t-1


def test_within_xylo_audio2_limits(net):
    names = [layer.name for layer in net.layers if layer.name != net.readout.layer]
    n_hidden = sum(net.layer(n).size for n in names)
    assert net.n_inputs <= AUDIO2["inputs"] and n_hidden <= AUDIO2["hidden"]
    assert net.layer(net.readout.layer).size <= AUDIO2["outputs"]
    fan_out = {n: np.zeros(net.layer(n).size, int) for n in names}
    for p in net.projections:
        if p.source in fan_out and p.target in fan_out:  # hidden -> hidden: Xylo's recurrent weights
            fan_out[p.source] += (p.weight != 0).sum(axis=0)
    assert max(v.max() for v in fan_out.values()) <= AUDIO2["fan_out"]
    profile = load_profile("xylo")
    mapping = map_network(net, profile, quantize(net, profile).mantissas)
    assert mapping.violations == []


def test_golden_records_hold(net):
    assert len(net.golden) >= 1
    for check in api.check_golden(net):
        assert check.passed and check.max_abs_diff < 1e-9, check


def test_engines_agree_on_qtdb_test(net, ecg_test):
    event = api.run(net, ecg_test, engine="event", init="zeros")
    reference = api.run(net, ecg_test, engine="reference", init="zeros")
    assert event.samples == reference.samples == 141
    assert event.accuracy == reference.accuracy and event.accuracy_labelled == reference.accuracy_labelled
