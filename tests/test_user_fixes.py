"""What a new user met (issue 9): each fixed behaviour, checked against what it should be."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from evsim import api
from evsim.audit import tolerance_breakdown
from evsim.errors import EvsimError
from evsim.tasks import open_task

from hostile import assert_one_line_exit_2


def test_2d_sweep_summary_finds_the_width_that_stays_within_a_point():
    """The issue's case: float 83.17%; 8-bit weights with 20-bit state give 82.90%."""
    acc = {(6, 14): 0.70, (6, 16): 0.75, (6, 20): 0.78, (8, 14): 0.78, (8, 16): 0.80, (8, 20): 0.8290}
    rows = [{"weight_bits": w, "state_bits": s, "accuracy": a} for (w, s), a in acc.items()]
    b = tolerance_breakdown(rows, 0.8317, 0.01, [6, 8], [14, 16, 20])
    assert b["weight_bits_from"] == 8 and b["state_bits_from"] == 20
    assert b["within"] == [[8, 20]]
    assert "every weight width >= 8 (with 20-bit state) stays within 1 points of float" in b["note"]


def test_1d_sweep_summary_is_unchanged():
    rows = [{"weight_bits": w, "state_bits": 24, "accuracy": a} for w, a in ((4, 0.5), (6, 0.825), (8, 0.83))]
    b = tolerance_breakdown(rows, 0.8317, 0.01, [4, 6, 8], None)
    assert b["weight_bits_from"] == 6 and b["state_bits_from"] is None


@pytest.mark.parametrize("size", ["0", "-5"])
def test_batch_size_zero_or_negative_is_refused(cli, size):
    code, _, err = cli("run", "--task", "ecg", "--limit", "1", "--batch-size", size)
    assert_one_line_exit_2(code, err, "--batch-size must be a positive integer")


def test_limit_past_the_end_says_the_data_ended(cli):
    code, out, err = cli("run", "--task", "ecg", "--limit", "5", "--offset", "138", "--json")
    assert code == 0
    assert json.loads(out)["samples"] == 3  # 141 sequences: 138, 139, 140
    assert "the data ended" in err and "holds 141 (ran 3)" in err


def test_offset_past_the_end_is_refused(cli):
    code, _, err = cli("run", "--task", "ecg", "--offset", "141")
    assert_one_line_exit_2(code, err, "--offset 141")


def test_misspelt_option_gets_a_suggestion(cli):
    code, _, err = cli("run", "--task", "ecg", "--limt", "5")
    assert_one_line_exit_2(code, err, "did you mean --limit?")
    code, _, err = cli("run", "--task", "ecg", "--splt", "train")
    assert_one_line_exit_2(code, err, "did you mean --split?")


@pytest.mark.parametrize(
    "argv, expect",
    [
        (("run",), "Missing option '--task'"),
        (("run", "--task", "ecg", "--limit", "x"), "Invalid value for '--limit'"),
        (("nosuch",), "No such command 'nosuch'"),
        (("info", "a", "b"), "unexpected extra argument"),
    ],
)
def test_framework_errors_are_one_line(cli, argv, expect):
    code, _, err = cli(*argv)
    assert_one_line_exit_2(code, err)
    assert expect.lower() in err.lower()


def test_version(cli):
    from importlib.metadata import version

    code, out, _ = cli("--version")
    assert code == 0 and out == f"evsim {version('evsim')}\n"


def test_profiles_lists_every_shipped_profile(cli):
    from importlib import resources

    code, out, _ = cli("profiles", "--json")
    names = sorted(p.name[:-5] for p in resources.files("evsim.hardware").joinpath("profiles").iterdir() if p.name.endswith(".toml"))
    assert code == 0 and [p["name"] for p in json.loads(out)] == names
    code, out, _ = cli("profiles")
    assert code == 0 and all(n in out for n in names)


def test_models_lists_builtins_and_weights_takes_a_name(cli, tmp_path):
    code, out, _ = cli("models", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == {"ecg", "ecg-xylo", "ecg_icons2020", "shd_nmi2021", "ssc_nmi2021"}
    assert rows["ssc_nmi2021"]["layers"] == "700 -> 400 alif -> 400 alif -> 35 li"
    assert all(r["integrity"] == "verified" for r in rows.values())
    assert {n for n, r in rows.items() if r["origin"] == "trained by evsim"} == {"ecg", "ecg-xylo"}
    code, out, _ = cli("info", "shd_nmi2021", "--json")
    assert code == 0 and json.loads(out)["synapses"] == 700 * 128 + 128 * 128 + 128 * 128 + 128 * 128 + 128 * 20
    code, _, err = cli("info", "shd_nmi2022")
    assert_one_line_exit_2(code, err, "neither a model file nor a built-in model")


def test_help_texts_show_defaults_and_an_example(cli):
    for command in ("run", "audit", "sweep", "info", "models", "profiles"):
        code, out, _ = cli(command, "--help")
        assert code == 0 and "Example" in out, command
    code, out, _ = cli("run", "--help")
    assert "[default: event]" in out and "[default: ecg]" in out


@pytest.mark.parametrize("argv", [
    ("run", "--task", "ecg", "--limit", "1", "--profile", "loihi"),
    ("audit", "--task", "ecg", "--limit", "1", "--profile", "loihi"),
    ("info", "ecg"), ("models",), ("profiles",), ("crosscheck", "-w", "ecg", "--task", "ecg", "--limit", "1"),
])
def test_tables_are_not_cut_at_80_columns(cli, monkeypatch, argv):
    """On an 80-column terminal every cell wraps (the shipped data's full path included)."""
    import evsim.cli
    from rich.console import Console

    monkeypatch.setattr(evsim.cli, "out", Console(width=80))
    code, out, err = cli(*argv)
    assert code == 0, err
    assert "…" not in out and max(map(len, out.splitlines())) <= 80
    if argv[0] == "run":
        assert "QTDB_test.mat" in out.replace("\n", "").replace("│", "").replace(" ", "")
        assert "accuracy (labelled steps only)" in out


def test_run_csv_and_predictions(cli, tmp_path, data_dir):
    """--csv holds the report's numbers; --predictions each scored step, recounted here
    against the labels read from the raw file."""
    import scipy.io

    report_csv, pred_csv = tmp_path / "r.csv", tmp_path / "p.csv"
    code, out, err = cli("run", "--task", "ecg", "--limit", "2", "--offset", "3", "--json", "--csv", report_csv, "--predictions", pred_csv)
    assert code == 0, err
    d = json.loads(out)
    rows = dict(csv.reader(report_csv.read_text().splitlines()))
    assert float(rows["accuracy"]) == d["accuracy"] and float(rows["sops_per_sample.ac"]) == d["sops_per_sample"]["ac"]
    preds = list(csv.DictReader(pred_csv.read_text().splitlines()))
    assert {r["sample"] for r in preds} == {"3", "4"} and len(preds) == 2 * (1301 - 10)
    y = scipy.io.loadmat(str(data_dir / "qtdb" / "QTDB_test.mat"))["y"]
    assert all(int(r["label"]) == int(np.argmax(y[int(r["sample"]), int(r["step"])])) for r in preds)
    assert np.mean([r["label"] == r["prediction"] for r in preds]) == d["accuracy"]


def test_audit_csv_and_predictions(cli, tmp_path):
    report_csv, pred_csv = tmp_path / "a.csv", tmp_path / "p.csv"
    code, out, err = cli("audit", "--task", "ecg", "--profile", "loihi", "--limit", "2", "--json", "--csv", report_csv, "--predictions", pred_csv)
    assert code == 0, err
    d = json.loads(out)
    preds = list(csv.DictReader(pred_csv.read_text().splitlines()))
    assert np.mean([r["label"] == r["prediction_hardware"] for r in preds]) == d["accuracy_hw"]
    assert np.mean([r["label"] == r["prediction_float"] for r in preds]) == d["accuracy_float"]
    assert np.mean([r["prediction_float"] == r["prediction_hardware"] for r in preds]) == d["agreement"]["predictions"]
    rows = dict(csv.reader(report_csv.read_text().splitlines()))
    assert float(rows["energy_per_inference_j.total"]) == d["energy_per_inference_j"]["total"]


def test_per_layer_energy_by_kind_is_printed(cli):
    code, out, err = cli("run", "--task", "ecg", "--limit", "1", "--profile", "loihi")
    assert code == 0, err
    assert "layer h by kind" in out and "layer o by kind" in out


def test_dense_baseline_wording_says_which_costs_more(cli):
    code, out, _ = cli("run", "--task", "ecg", "--limit", "1", "--profile", "loihi", "--json")
    ratios = {k: v["ratio_to_srnn"] for k, v in json.loads(out)["hardware"]["baselines"].items() if isinstance(v, dict)}
    code, out, _ = cli("run", "--task", "ecg", "--limit", "1", "--profile", "loihi")
    for kind, r in ratios.items():
        line = next(l for l in out.splitlines() if f"dense {kind.upper()} baseline" in l)
        if r >= 1:
            assert f"costs {r:.1f}x the SRNN's energy" in line
        else:
            assert f"the SRNN costs {1 / r:.1f}x more than this baseline" in line


def test_ecg_encoded_task_runs_what_encode_ecg_writes(cli, tmp_path):
    """A signal encoded by `evsim encode-ecg` runs through a model; the events it feeds are the
    ones in the file, so the run equals one on the same events handed over directly."""
    from evsim.events import EventBatch
    from evsim.model import decide

    t = np.arange(1301)
    signal = np.stack([0.5 * np.sin(t / 9.0), 0.4 * np.cos(t / 13.0)], axis=1)
    np.save(tmp_path / "sig.npy", signal)
    code, _, err = cli("encode-ecg", tmp_path / "sig.npy", "-o", tmp_path / "rec.npy")
    assert code == 0, err
    code, out, err = cli("run", "--task", "ecg-encoded", "--data", tmp_path / "rec.npy", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["samples"] == 1 and d["accuracy"] is None and d["task_info"]["labelled"] is False
    x = np.load(tmp_path / "rec.npy")
    net = api.load_model("ecg")[0]
    direct = api.simulate(net, EventBatch.from_dense(x[None].astype(np.float64)), np.array([0]), "reference")
    assert d["spikes_per_sample"]["h"] == direct.spikes[0].sum()
    ds = open_task("ecg-encoded", tmp_path / "rec.npy")
    assert ds.n_classes is None and ds.n_steps == 1301


def test_ecg_encoded_refuses_files_of_other_shapes(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((10, 3)))
    with pytest.raises(EvsimError, match=r"x must be \(steps, 4\)"):
        open_task("ecg-encoded", tmp_path / "bad.npy")


def test_ecg_default_data_and_overrides(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("EVSIM_DATA_DIR", raising=False)
    ds = open_task("ecg", None)
    assert ds.source.endswith("qtdb/QTDB_test.mat") and ds.n_samples == 141
    monkeypatch.setenv("EVSIM_DATA_DIR", str(tmp_path))
    code, _, err = cli("run", "--task", "ecg", "--limit", "1")
    assert_one_line_exit_2(code, err, str(tmp_path))


def test_a_first_run_compiles_without_a_word_on_stderr(tmp_path):
    """The first run after an install compiles the kernels; Numba's internal IR check used to
    print dozens of warning lines then.  An empty Numba cache makes this run a first run."""
    from hostile import run_cli_subprocess

    proc = run_cli_subprocess("run", "--task", "ecg", "--limit", "1", timeout=600, env={"NUMBA_CACHE_DIR": str(tmp_path / "numba")})
    assert proc.code == 0 and proc.err == "", proc.err[:2000]
    assert any((tmp_path / "numba").rglob("*.nbi")), "the run did not compile into the empty cache"
