"""Energy: recomputed by hand from the printed JSON (counts) and the profile files (pJ figures,
read with plain tomllib, not evsim's loader): counts x pJ = printed energy.  And the dense
RNN/LSTM/GRU baselines from the layer sizes alone."""

from __future__ import annotations

import json
import tomllib
from importlib import resources

import pytest

from evsim.formats.h5 import save_network

PJ = 1e-12


def figures(name: str) -> dict:
    text = resources.files("evsim.hardware").joinpath("profiles", f"{name}.toml").read_text()
    return tomllib.loads(text)["energy"]


@pytest.fixture(scope="module")
def ecg_file(paper_network, tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "ecg.h5"
    save_network(paper_network("ecg_icons2020"), path)
    return path


def audit_json(cli, ecg_file, data_dir, profile, *extra):
    code, out, err = cli("audit", "--weights", ecg_file, "--task", "ecg", "--data", data_dir, "--profile", profile, "--limit", "6", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_loihi_energy_recomputed_by_hand(cli, ecg_file, data_dir):
    d = audit_json(cli, ecg_file, data_dir, "loihi")
    e = figures("loihi")
    sops = d["sops_per_sample"]
    ac = {name: row["ac"] for name, row in sops["by_projection"].items()}
    spikes = {name: s["hw"] for name, s in d["spikes_per_sample"].items()}
    updates = sops["neuron_updates_by_layer"]
    assert updates == {"h": 36 * 1301, "o": 6 * 1301}
    assert d["cores"]["used"] == 1  # every spike is routed to one core
    by_layer = {
        "h": (ac["input->h"] + ac["h->h"]) * e["ac_pj"]
        + spikes["h"] * e["neuron_update_active_pj"]
        + (updates["h"] - spikes["h"]) * e["neuron_update_inactive_pj"]
        + spikes["h"] * 1 * e["spike_routed_pj"],
        "o": ac["h->o"] * e["ac_pj"]
        + spikes["o"] * e["neuron_update_active_pj"]
        + (updates["o"] - spikes["o"]) * e["neuron_update_inactive_pj"]
        + spikes["o"] * 0 * e["spike_routed_pj"],  # 'o' projects nowhere
    }
    printed = d["energy_per_inference_j"]
    assert printed["by_layer"]["h"] == pytest.approx(by_layer["h"] * PJ, rel=1e-12)
    assert printed["by_layer"]["o"] == pytest.approx(by_layer["o"] * PJ, rel=1e-12)
    assert printed["total"] == pytest.approx((by_layer["h"] + by_layer["o"]) * PJ, rel=1e-12)
    assert printed["by_kind"]["ac"] == pytest.approx(sops["ac"] * e["ac_pj"] * PJ, rel=1e-12)
    assert printed["per_step"] == pytest.approx(printed["total"] / 1301, rel=1e-12)
    assert sum(printed["by_kind"].values()) == pytest.approx(printed["total"], rel=1e-12)
    assert printed["unpriced"] == []


@pytest.mark.parametrize("profile", ["cmos45-fp32", "cmos45-int32"])
def test_op_mix_energy_recomputed_by_hand(cli, ecg_file, data_dir, profile):
    """Neuron updates priced from their op mix (docs/counting.md): lif 2 mul + 3 add + 1 compare,
    alif 4 mul + 5 add + 1 compare; compares priced as adds."""
    d = audit_json(cli, ecg_file, data_dir, profile)
    e = figures(profile)
    sops = d["sops_per_sample"]
    lif = 2 * e["mult_pj"] + 4 * e["add_pj"]
    alif = 4 * e["mult_pj"] + 6 * e["add_pj"]
    expected = sops["ac"] * e["ac_pj"] + sops["mac"] * e["mac_pj"] + 36 * 1301 * lif + 6 * 1301 * alif
    assert d["energy_per_inference_j"]["total"] == pytest.approx(expected * PJ, rel=1e-12)
    assert d["energy_per_inference_j"]["by_kind"]["neuron_update"] == pytest.approx((36 * lif + 6 * alif) * 1301 * PJ, rel=1e-12)


def test_dense_baselines_from_layer_sizes(cli, ecg_file, data_dir):
    d = audit_json(cli, ecg_file, data_dir, "cmos45-fp32")
    b = d["baselines"]
    # recurrent h: 36 neurons, 4 inputs; readout o: 6 x 36
    rnn, lstm, gru = 36 * 40 + 216, 4 * 36 * 40 + 216, 3 * 36 * 40 + 216
    assert (b["rnn"]["macs_per_step"], b["lstm"]["macs_per_step"], b["gru"]["macs_per_step"]) == (rnn, lstm, gru)
    srnn = d["energy_per_inference_j"]["total"]
    for kind, per_step in (("rnn", rnn), ("lstm", lstm), ("gru", gru)):
        assert b[kind]["macs_per_inference"] == per_step * 1301
        assert b[kind]["energy_per_inference_j"] == pytest.approx(per_step * 1301 * 4.6 * PJ, rel=1e-12)
        assert b[kind]["ratio_to_srnn"] == pytest.approx(b[kind]["energy_per_inference_j"] / srnn, rel=1e-12)
    assert b["lstm"]["ratio_to_srnn"] > 20  # the SRNN's accumulates are far cheaper than dense MACs


def test_loihi_baseline_is_priced_at_the_fp32_mac_and_says_so(cli, ecg_file, data_dir):
    d = audit_json(cli, ecg_file, data_dir, "loihi")
    assert d["baselines"]["mac_pj_from"] == "cmos45-fp32" and d["baselines"]["mac_pj"] == 4.6


def test_a_profile_without_energy_figures_reports_none(cli, ecg_file, data_dir):
    d = audit_json(cli, ecg_file, data_dir, "ideal")
    assert d["energy_per_inference_j"] is None
    # the hardware side of an ideal profile is checked against the dense NumPy reference engine
    # on the same 6 samples (an independent implementation, not the float side it runs beside)
    from evsim import api
    from evsim.formats.h5 import load_network
    from evsim.tasks import open_task

    ref = api.run(load_network(ecg_file), open_task("ecg", data_dir), engine="reference", limit=6)
    assert d["accuracy_hw"] == ref.accuracy and d["agreement"]["spikes"] == 1.0
    assert d["baselines"]["lstm"]["ratio_to_srnn"] is None
