"""The CLI's hardware commands: run --profile, audit, sweep (table, CSV, PNG)."""

from __future__ import annotations

import csv
import json

import pytest

from evsim.audit import parse_bits
from evsim.errors import EvsimError
from evsim.formats.h5 import save_network

AUDIT_KEYS = ("accuracy_float", "accuracy_hw", "agreement", "sops_per_sample", "energy_per_inference_j", "cores", "violations", "overflows", "baselines")


@pytest.fixture(scope="module")
def ecg_file(paper_network, tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "ecg.h5"
    save_network(paper_network("ecg_icons2020"), path)
    return path


def test_run_with_ideal_profile_matches_the_dense_reference(cli, ecg_file, data_dir):
    """`--profile ideal` runs the event engine; the dense NumPy reference (another engine, no
    profile) must give the same accuracy, spikes and counts, and ideal adds no energy."""
    base = ("run", "--weights", ecg_file, "--task", "ecg", "--data", data_dir, "--limit", "4", "--json")
    code, out, err = cli(*base, "--engine", "reference")
    assert code == 0, err
    reference = json.loads(out)
    code, out, err = cli(*base, "--profile", "ideal")
    assert code == 0, err
    ideal = json.loads(out)
    hw = ideal.pop("hardware")
    for key in ("accuracy", "accuracy_labelled", "spikes_per_sample", "counts_total"):
        assert ideal[key] == reference[key], key
    assert ideal["engine"] == "event" and reference["engine"] == "reference"
    assert hw["profile"] == "ideal" and hw["energy_per_inference_j"] is None and hw["violations"] == []


def test_run_with_loihi_profile(cli, ecg_file, data_dir):
    base = ("run", "--weights", ecg_file, "--task", "ecg", "--data", data_dir, "--limit", "4", "--profile", "loihi")
    code, out, err = cli(*base, "--json")
    assert code == 0, err
    d = json.loads(out)
    hw = d["hardware"]
    assert hw["arithmetic"] == "fixed" and hw["cores"]["used"] == 1 and hw["overflows"]["total"] == 0
    assert hw["energy_per_inference_j"]["total"] > 0 and hw["quantization"]["weight_bits"] == 8
    assert d["accuracy"] > 0.7
    # the dense integer reference scores identically (it agrees bit for bit)
    code, out, err = cli(*base, "--json", "--engine", "reference")
    ref = json.loads(out)
    assert ref["accuracy"] == d["accuracy"] and ref["counts_total"] == d["counts_total"]
    assert ref["hardware"]["energy_per_inference_j"] == hw["energy_per_inference_j"]
    code, out, err = cli(*base)
    assert code == 0 and "energy / inference" in out and "cores used" in out
    code, out, err = cli(*base, "--init", "paper")
    assert code == 2 and "all-zero state" in err


def test_audit_json_and_table(cli, ecg_file, data_dir):
    base = ("audit", "--weights", ecg_file, "--task", "ecg", "--data", data_dir, "--profile", "cmos45-int32", "--limit", "5")
    code, out, err = cli(*base, "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in AUDIT_KEYS:
        assert key in d
    assert set(d["energy_per_inference_j"]) >= {"total", "by_layer", "by_kind", "per_step"}
    assert set(d["baselines"]) >= {"rnn", "lstm", "gru"}
    assert 0.9 < d["agreement"]["predictions"] <= 1 and 0.9 < d["agreement"]["spikes"] <= 1
    assert d["samples"] == 5
    code, out, err = cli(*base)
    assert code == 0 and "accuracy float | hardware" in out and "dense LSTM baseline" in out


def test_sweep_table_csv_and_plot(cli, ecg_file, data_dir, tmp_path):
    import matplotlib  # noqa: F401  (the test extra installs it: missing fails, never skips)
    csv_path, png = tmp_path / "s.csv", tmp_path / "s.png"
    code, out, err = cli(
        "sweep", "--weights", ecg_file, "--task", "ecg", "--data", data_dir, "--profile", "loihi",
        "--weight-bits", "3,8", "--state-bits", "16,24", "--limit", "4", "--csv", csv_path, "--plot", png,
    )  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(open(csv_path)))
    assert [(r["weight_bits"], r["state_bits"]) for r in rows] == [("3", "16"), ("3", "24"), ("8", "16"), ("8", "24")]
    acc = {(r["weight_bits"], r["state_bits"]): float(r["accuracy"]) for r in rows}
    assert acc[("8", "24")] > acc[("3", "24")] + 0.2  # 3-bit weights break the model
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "w bits" in out


def test_sweep_json_and_breakdown(cli, ecg_file, data_dir):
    code, out, err = cli(
        "sweep", "--weights", ecg_file, "--task", "ecg", "--data", data_dir, "--profile", "loihi",
        "--weight-bits", "4,8,12", "--limit", "6", "--json",
    )  # fmt: skip
    assert code == 0, err
    d = json.loads(out)
    assert [r["weight_bits"] for r in d["rows"]] == [4, 8, 12]
    assert [r["state_bits"] for r in d["rows"]] == [24, 24, 24]
    assert d["breakdown"]["weight_bits_from"] in (8, 12)
    code, out, err = cli("sweep", "--task", "ecg", "--data", data_dir, "--profile", "ideal", "--weight-bits", "8")
    assert code == 2 and "fixed-point profile" in err


def test_parse_bits():
    assert parse_bits("2..5", "x") == [2, 3, 4, 5]
    assert parse_bits("8,4,2..3,8", "x") == [2, 3, 4, 8]
    assert parse_bits(None, "x") is None
    for bad in ("8..2", "a..b", "x"):
        with pytest.raises(EvsimError, match="not a list of widths"):
            parse_bits(bad, "--weight-bits")
