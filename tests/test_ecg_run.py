"""The ECG paper model on the real QTDB test set reproduces the reference results."""

from __future__ import annotations

import json

import pytest

from evsim import api
from evsim.formats.h5 import save_network


def test_ecg_accuracy_from_zero_state(paper_network, ecg_test):
    report = api.run(paper_network("ecg_icons2020"), ecg_test, init="zeros")
    assert report.samples == 141 and report.steps == 1301
    assert report.accuracy == pytest.approx(0.832, abs=0.003)
    # both scores recounted from the raw file (scipy, not evsim's reader): the paper's way
    # (unlabelled steps count as class 0) and over labelled steps only, from step 10
    import numpy as np
    import scipy.io

    y = scipy.io.loadmat(str(ecg_test.source))["y"]
    pred = report.predictions["predictions"][:, 10:]
    assert np.array_equal(report.predictions["sample_ids"], np.arange(141))
    labels, mask = np.argmax(y, axis=2)[:, 10:], y.sum(axis=2)[:, 10:] > 0
    assert report.accuracy == (pred == labels).mean()
    assert report.accuracy_labelled == (pred == labels)[mask].mean()
    assert 14_000 < report.spikes_per_sample["h"] < 17_000
    assert 350 < report.spikes_per_sample["o"] < 550


def test_ecg_accuracy_with_paper_initial_state(paper_network, ecg_test):
    report = api.run(paper_network("ecg_icons2020"), ecg_test, init="paper", seed=0)
    assert report.accuracy == pytest.approx(0.855, abs=0.003)


def test_reference_engine_scores_the_same(paper_network, ecg_test):
    net = paper_network("ecg_icons2020")
    ev = api.run(net, ecg_test, engine="event", limit=20)
    ref = api.run(net, ecg_test, engine="reference", limit=20)
    assert ev.accuracy == ref.accuracy and ev.sops_per_sample == ref.sops_per_sample


def test_cli_run_json(cli, paper_network, data_dir, tmp_path):
    path = tmp_path / "ecg.h5"
    save_network(paper_network("ecg_icons2020"), path)
    code, out, err = cli("run", "--weights", path, "--task", "ecg", "--data", data_dir, "--limit", "5", "--offset", "2", "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in ("accuracy", "accuracy_labelled", "samples", "engine", "seconds", "spikes_per_sample", "firing_rate"):
        assert key in d
    sops = d["sops_per_sample"]
    for key in ("ac", "ac_structural", "mac", "neuron_updates", "dense_equivalent", "by_projection"):
        assert key in sops
    assert d["samples"] == 5
    assert sops["ac"] == pytest.approx(sum(p["ac"] for p in sops["by_projection"].values()))
    # dense equivalent: every synapse every step (36*4 + 36*36 + 6*36 = 1656) x 1301 steps
    assert sops["dense_equivalent"] == 1656 * 1301
    assert sops["neuron_updates"] == 42 * 1301


def test_cli_crosscheck_passes_and_fails(cli, paper_network, data_dir, tmp_path):
    import numpy as np

    from evsim.model import GoldenRecord

    net = paper_network("ecg_icons2020")
    path = tmp_path / "ecg.h5"
    save_network(net, path)
    code, out, err = cli("crosscheck", "--weights", path, "--task", "ecg", "--data", data_dir, "--limit", "4", "--json")
    assert code == 0, err
    assert json.loads(out)["passed"] is True
    # a golden record the model cannot reproduce makes crosscheck fail with exit 1
    x = np.zeros((50, 4))
    x[::3, 0] = 1
    bad = net.replace(golden=[GoldenRecord(x, np.zeros((50, 6)) + 5.0)])
    save_network(bad, path)
    code, out, err = cli("crosscheck", "--weights", path, "--json")
    assert code == 1
    assert json.loads(out)["golden"][0]["passed"] is False
