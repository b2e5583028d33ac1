"""The `array` task, `--record DIR` traces and `--readout` choices.

Recorded traces are checked against the scalar transcription of the equations (float) and the
dense integer reference engine (fixed point); readout choices against argmax computed here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from evsim import api, audit
from evsim.engines import fixed
from evsim.model import Readout, decide
from evsim.tasks import open_task
from evsim.traces import read_sample

from conftest import tiny_network
from test_engines import scalar_simulation


def spikes_in(rng, n, steps, channels, density=0.3):
    return (rng.random((n, steps, channels)) < density).astype(np.float64)


# ---- the array task --------------------------------------------------------------------


def test_array_npy_one_sample_and_many(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 30, 3))
    np.save(tmp_path / "many.npy", x)
    np.save(tmp_path / "one.npy", x[2])
    many = open_task("array", tmp_path / "many.npy")
    one = open_task("array", tmp_path / "one.npy")
    assert (many.n_samples, many.n_steps, many.n_channels, many.n_classes) == (4, 30, 3, None)
    assert (one.n_samples, one.n_steps, one.n_channels) == (1, 30, 3)
    got = np.concatenate([b.inputs.to_dense() for b in many.batches(3)])
    assert np.array_equal(got, x)
    assert np.array_equal(next(one.batches(8)).inputs.to_dense()[0], x[2])
    ids = [b.sample_ids.tolist() for b in many.batches(2, offset=1, limit=2)]
    assert ids == [[1, 2]]


def test_array_npz_labels(tmp_path):
    rng = np.random.default_rng(1)
    x = spikes_in(rng, 5, 20, 2)
    np.savez(tmp_path / "s.npz", x=x, y=np.array([0, 1, 1, 0, 1]))
    np.savez(tmp_path / "t.npz", x=x, y=rng.integers(0, 3, size=(5, 20)).astype(np.float32))
    s = open_task("array", tmp_path / "s.npz")
    assert (s.n_classes, s.per_step_labels) == (2, False)
    assert np.concatenate([b.labels for b in s.batches(2)]).tolist() == [0, 1, 1, 0, 1]
    t = open_task("array", tmp_path / "t.npz", classes=4)
    assert (t.n_classes, t.per_step_labels) == (4, True)
    assert next(t.batches(5)).labels.dtype == np.int64


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: np.save(d / "a.npy", np.zeros(10)), "reshape a single channel"),
        (lambda d: np.save(d / "a.npy", np.zeros((2, 3, 4, 5))), "expected (steps, channels)"),
        (lambda d: np.save(d / "a.npy", np.array([[1, None]], dtype=object), allow_pickle=True), "not a readable"),
        (lambda d: np.save(d / "a.npy", np.array([[0.0, np.nan]])), "NaN or infinite at sample 0, step 0, channel 1"),
        (lambda d: np.save(d / "a.npy", np.zeros((0, 3))), "empty dimension"),
        (lambda d: np.save(d / "a.npy", np.array([["a", "b"]])), "expected numbers"),
        (lambda d: (d / "a.npy").write_bytes(b"\x93NUMPY garbage"), "not a readable"),
        (lambda d: np.savez(d / "a.npz", z=np.zeros((3, 2))), "no array 'x'"),
        (lambda d: np.savez(d / "a.npz", x=np.zeros((2, 3, 1)), y=np.zeros(3, dtype=int)), "y has shape (3,)"),
        (lambda d: np.savez(d / "a.npz", x=np.zeros((2, 3, 1)), y=np.array([0, -1])), "negative label"),
        (lambda d: np.savez(d / "a.npz", x=np.zeros((2, 3, 1)), y=np.array([0.5, 1])), "labels must be integers"),
        (lambda d: (d / "a.npz").write_bytes(b"PK\x03\x04 not a zip"), "not a readable"),
        (lambda d: (d / "a.txt").write_text("1,2"), "must name a .npy or .npz"),
    ],
)
def test_array_bad_files_are_one_line_exit_2(tmp_path, cli, make, message):
    make(tmp_path)
    (path,) = [p for p in tmp_path.iterdir() if p.name.startswith("a.")]
    code, out, err = cli("run", "--task", "array", "--data", path)
    assert code == 2, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_array_classes_option_errors(tmp_path, cli):
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 3, 2)), y=np.array([0, 3]))
    code, _, err = cli("run", "--task", "array", "--data", tmp_path / "a.npz", "--classes", "2")
    assert code == 2 and "outside --classes 2" in err
    np.save(tmp_path / "b.npy", np.zeros((3, 2)))
    code, _, err = cli("run", "--task", "array", "--data", tmp_path / "b.npy", "--classes", "2")
    assert code == 2 and "holds no labels" in err


# ---- --record ----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["event", "reference"])
def test_record_float_traces_equal_the_scalar_equations(tmp_path, engine):
    net = tiny_network()
    x = spikes_in(np.random.default_rng(2), 4, 40, 2)
    np.save(tmp_path / "x.npy", x)
    ds = open_task("array", tmp_path / "x.npy")
    rec = tmp_path / "rec"
    report = api.run(net, ds, engine=engine, offset=1, limit=3, batch_size=2, record=rec)
    assert sorted(p.name for p in rec.iterdir()) == ["sample_1.npz", "sample_2.npz", "sample_3.npz"]
    total = 0
    for i in (1, 2, 3):
        got = read_sample(rec / f"sample_{i}.npz")
        assert set(got) == {"h.spikes", "h.v", "o.v"}  # the integrator has no spikes; no neuron here has a current
        mem, spk = scalar_simulation(net, x[i])
        assert got["h.spikes"].dtype == np.uint8 and got["h.v"].dtype == np.float64
        assert np.array_equal(got["h.spikes"], spk["h"])
        tol = 0.0 if engine == "event" else 1e-12  # the reference sums currents as a matrix product
        np.testing.assert_allclose(got["h.v"], mem["h"], rtol=0, atol=tol)
        np.testing.assert_allclose(got["o.v"], mem["o"], rtol=0, atol=tol)
        total += int(spk["h"].sum())
    assert report.spikes_per_sample["h"] == pytest.approx(total / 3)


def test_record_fixed_point_traces_are_the_integer_reference(tmp_path):
    net = tiny_network()
    x = spikes_in(np.random.default_rng(3), 3, 50, 2)
    np.save(tmp_path / "x.npy", x)
    ds = open_task("array", tmp_path / "x.npy")
    _, hw_section = audit.run_profile(net, ds, "loihi", record=tmp_path / "run")
    report = audit.audit(net, ds, "loihi", record=tmp_path / "audit")
    hw = audit.prepare_hardware(net, "loihi")
    ref = fixed.simulate_reference(hw.quantized.record, x, record_spikes=True, record_mem=True)
    for where in ("run", "audit"):
        for i in range(3):
            got = read_sample(tmp_path / where / f"sample_{i}.npz")
            assert got["h.v"].dtype == np.int64 and got["o.v"].dtype == np.int64
            assert np.array_equal(got["h.v"], ref.mem[0][i]) and np.array_equal(got["o.v"], ref.mem[1][i])
            assert np.array_equal(got["h.spikes"], ref.spikes[0][i])
    assert report.samples == 3 and hw_section["profile"] == "loihi"


def test_record_cli_and_bad_directory(tmp_path, cli):
    net = tiny_network()
    from evsim.formats.h5 import save_network

    save_network(net, tmp_path / "m.h5")
    np.save(tmp_path / "x.npy", spikes_in(np.random.default_rng(4), 2, 10, 2))
    code, _, err = cli("run", "-w", tmp_path / "m.h5", "--task", "array", "--data", tmp_path / "x.npy", "--record", tmp_path / "r")
    assert code == 0, err
    assert "wrote 2 sample traces" in err and (tmp_path / "r" / "sample_1.npz").is_file()
    (tmp_path / "file").write_text("")
    code, _, err = cli("run", "-w", tmp_path / "m.h5", "--task", "array", "--data", tmp_path / "x.npy", "--record", tmp_path / "file")
    assert code == 2 and "is not a directory" in err and err.count("\n") == 1
    code, _, err = cli("run", "-w", tmp_path / "m.h5", "--task", "array", "--data", tmp_path / "x.npy", "--record", tmp_path / "r", "--workers", "2")
    assert code == 2 and "--record runs in this process only" in err


# ---- --readout -----------------------------------------------------------------------------


def test_readout_rules_by_hand():
    # 1 sample, 4 steps, 3 classes: each rule picks a different class.
    trace = np.array([[[0.0, 5.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]])
    pick = lambda agg, start=0: decide(Readout("o", "mem", agg, start), trace)  # noqa: E731
    assert pick("sum").tolist() == [1]  # 5 > 2 = 2
    assert pick("sum", 1).tolist() == [0]  # from step 1: 2 > 0, 2 = 2 goes to the lower index
    assert pick("max").tolist() == [1]
    assert pick("max", 1).tolist() == [2]
    assert pick("last").tolist() == [2]
    assert pick("per_step", 2).tolist() == [[-1, -1, 0, 2]]


def test_with_readout_and_cli_scores_from_recorded_traces(tmp_path, cli):
    net = tiny_network(readout=Readout("h", "mem", "sum_softmax", 0))
    from evsim.formats.h5 import save_network

    save_network(net, tmp_path / "m.h5")
    rng = np.random.default_rng(5)
    x = spikes_in(rng, 6, 30, 2)
    y = rng.integers(0, 3, size=6)
    np.savez(tmp_path / "xy.npz", x=x, y=y)
    for kind, from_step in (("spike-count", None), ("last", None), ("max", 10)):
        args = ["run", "-w", tmp_path / "m.h5", "--task", "array", "--data", tmp_path / "xy.npz", "--json"]
        args += ["--readout", kind, "--record", tmp_path / kind] + (["--readout-from", str(from_step)] if from_step else [])
        code, out, err = cli(*args)
        assert code == 0, err
        acc = json.loads(out)["accuracy"]
        start = from_step or 0
        preds = []
        for i in range(6):
            tr = read_sample(tmp_path / kind / f"sample_{i}.npz")
            s, v = tr["h.spikes"][start:], tr["h.v"][start:]
            preds.append({"spike-count": s.sum(0), "last": v[-1], "max": v.max(0)}[kind].argmax())
        assert acc == pytest.approx(np.mean(np.array(preds) == y))
    code, _, err = cli("run", "-w", tmp_path / "m.h5", "--task", "array", "--data", tmp_path / "xy.npz", "--readout", "best")
    assert code == 2 and "unknown readout 'best'" in err
    code, _, err = cli("run", "-w", tmp_path / "m.h5", "--task", "array", "--data", tmp_path / "xy.npz", "--readout", "per-step")
    assert code == 2 and "one label per sample" in err
    assert api.with_readout(net) is net
