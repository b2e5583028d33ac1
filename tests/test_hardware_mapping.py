"""Mapping onto cores: placement and utilization, every violated limit reported together (as a
one-line design-rule error, or a structured list with --json), and explicit remedies."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from evsim import audit
from evsim.formats.h5 import save_network
from evsim.hardware.mapping import DesignRuleError, map_network, prune_fan_in, prune_fan_out
from evsim.hardware.profile import Limits, load_profile
from evsim.hardware.quantize import quantize


def with_limits(name: str, **limits):
    p = load_profile(name)
    return dataclasses.replace(p, name=f"{name}-test", limits=dataclasses.replace(p.limits, **limits))


def test_ecg_fits_one_loihi_core(paper_network):
    net = paper_network("ecg_icons2020")
    q = quantize(net, load_profile("loihi"))
    m = map_network(net, load_profile("loihi"), q.mantissas)
    assert m.violations == [] and len(m.cores) == 1
    core = m.cores[0]
    assert core.layers == {"h": 36, "o": 6} and core.neurons == 42
    assert core.synapses == sum(int(np.count_nonzero(w)) for w in q.mantissas)
    assert core.synapse_bytes == core.synapses  # 8-bit synapses
    assert core.input_axons == 4 + 36  # the input channels and the hidden neurons
    assert core.utilization["neurons"] == pytest.approx(42 / 1024)


def test_shd_on_loihi_spreads_over_cores_by_synapse_memory(paper_network):
    net = paper_network("shd_nmi2021")
    p = load_profile("loihi")
    m = map_network(net, p, quantize(net, p).mantissas)
    assert m.violations == [] and len(m.cores) == 2
    for c in m.cores:
        assert c.synapse_bytes <= 128 * 1024 and c.neurons <= 1024 and c.input_axons <= 4096
    assert m.layer_cores["h1"] == [0]


def test_small_cores_split_a_layer_and_a_chip_can_be_too_small(paper_network):
    net = paper_network("ecg_icons2020")
    m = map_network(net, with_limits("loihi", neurons_per_core=32))
    assert [c.layers for c in m.cores] == [{"h": 32}, {"h": 4, "o": 6}]
    assert m.layer_cores == {"h": [0, 1], "o": [1]}
    m = map_network(net, with_limits("loihi", neurons_per_core=32, cores_per_chip=1))
    assert [(v.limit, v.value, v.allowed) for v in m.violations] == [("cores_per_chip", 2, 1)]


def test_every_violation_is_listed_together(paper_network):
    """SHD on Xylo breaks five kinds of limits at once; all six violations come in one error."""
    net = paper_network("shd_nmi2021")
    with pytest.raises(DesignRuleError) as info:
        audit.prepare_hardware(net, "xylo")
    found = {(v.layer, v.limit) for v in info.value.violations}
    assert found == {
        (None, "input_channels"),
        ("h1", "neuron_types"),
        ("h2", "neuron_types"),
        ("o", "output_neurons"),
        ("h1", "recurrent_fan_out_per_neuron"),
        ("h2", "recurrent_fan_out_per_neuron"),
    }
    message = str(info.value)
    assert "\n" not in message and "(6)" in message
    assert "input_channels is 700, the chip allows 16" in message
    assert "output_neurons is 20, the chip allows 8" in message
    assert "--fanout-prune magnitude" in message and "--fanin-prune" not in message


def test_ecg_on_xylo_is_refused_for_its_adaptive_readout(cli, paper_network, data_dir, tmp_path):
    """The ECG paper model: an ALIF readout Xylo has no neuron for, and a LIF that resets one step
    late (Xylo subtracts at the spike).  Neither has a Xylo form, so --ignore-violations cannot
    simulate it either."""
    path = tmp_path / "ecg.h5"
    save_network(paper_network("ecg_icons2020"), path)
    args = ("audit", "--weights", path, "--task", "ecg", "--data", data_dir, "--profile", "xylo", "--limit", "3")
    code, out, err = cli(*args)
    assert code == 2 and err.count("\n") == 1
    assert "layer 'o': neuron_types is alif" in err and "layer 'h': reset is subtract at next-step" in err
    code, out, err = cli(*args, "--json")
    assert code == 2
    d = json.loads(out)
    assert [(v["layer"], v["limit"], v["value"]) for v in d["violations"]] == [("o", "neuron_types", "alif"), ("h", "reset", "subtract at next-step")]
    assert d["violations"][0]["allowed"] == ["lif", "cuba-lif", "li", "cuba-li"]
    code, out, err = cli(*args, "--json", "--ignore-violations")
    assert code == 2 and "--ignore-violations cannot run this model" in err and err.count("\n") == 1


def test_fan_in_pruning_keeps_the_largest_weights():
    from conftest import tiny_network

    net = tiny_network()
    pruned, report = prune_fan_in(net, 2)
    # layer h: each neuron had 2 input + 3 recurrent weights; it keeps its 2 largest |w|
    w_in, w_rec = pruned.projections[0].weight, pruned.projections[1].weight
    for i in range(3):
        original = np.concatenate([np.abs(net.projections[0].weight[i]), np.abs(net.projections[1].weight[i])])
        kept = np.concatenate([np.abs(w_in[i]), np.abs(w_rec[i])])
        assert np.count_nonzero(kept) == 2
        assert sorted(kept[kept > 0]) == sorted(np.sort(original)[-2:])
    assert report["removed"] == {"h": 9, "o": 2}
    assert np.all(np.count_nonzero(pruned.projections[2].weight, axis=1) == 2)


def test_fan_in_limit_error_then_remedy_with_its_accuracy_cost(paper_network, ecg_test):
    net = paper_network("ecg_icons2020")
    profile = with_limits("loihi", fan_in_per_neuron=16)
    with pytest.raises(DesignRuleError) as info:
        audit.prepare_hardware(net, profile)
    assert {(v.layer, v.value) for v in info.value.violations} == {("h", 40), ("o", 36)}
    assert "--fanin-prune magnitude" in str(info.value)
    report = audit.audit(net, ecg_test, profile, fanin_prune="magnitude", limit=12)
    assert report.violations == []
    assert report.cores["fan_in_max"] == {"h": 16, "o": 16}
    r = report.remedies
    assert r["fanin_prune"]["removed"] == {"h": 36 * 24, "o": 6 * 20}
    assert r["accuracy_float_after_remedy"] < r["accuracy_float_before_remedy"]  # the cost, measured
    assert report.accuracy_hw is not None


def test_fan_out_pruning_fixes_fan_out(paper_network):
    net = paper_network("shd_nmi2021")
    pruned, report = prune_fan_out(net, 64)
    m = map_network(pruned, with_limits("loihi", fan_out_per_neuron=64))
    assert m.fan_out["h1"] == 64 and m.fan_out["h2"] == 64
    assert not any(v.limit == "fan_out_per_neuron" for v in m.violations)
    # Xylo counts the recurrent memory only: h2's 20 readout weights stay
    pruned, report = prune_fan_out(net, 64, hidden_only=True)
    m = map_network(pruned, load_profile("xylo"))
    assert m.fan_out["h1"] == 64 and m.fan_out["h2"] == 64 + 20
    assert not any(v.limit == "recurrent_fan_out_per_neuron" for v in m.violations)


def test_remedies_need_a_limit(paper_network):
    from evsim.errors import EvsimError

    with pytest.raises(EvsimError, match="no fan-in limit"):
        audit.prepare_hardware(paper_network("ecg_icons2020"), "loihi", fanin_prune="magnitude")
    with pytest.raises(EvsimError, match="unknown method"):
        audit.prepare_hardware(paper_network("ecg_icons2020"), with_limits("loihi", fan_in_per_neuron=8), fanin_prune="random")


def test_unlimited_profiles_report_no_cores(paper_network):
    m = map_network(paper_network("ecg_icons2020"), load_profile("ideal"))
    assert not m.limited and m.to_dict()["used"] is None and m.violations == []
    assert not Limits().any
