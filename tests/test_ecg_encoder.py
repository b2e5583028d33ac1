"""The paper's ECG encoder: Savitzky-Golay (5, 3) then level crossing at 0.03 between samples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import savgol_filter

from evsim.errors import EvsimError
from evsim.tasks.ecg_encoder import (
    encode,
    encode_file,
    labels_from_annotations,
    level_crossing,
    one_hot,
    read_signal,
)


def paper_loop(x, threshold=0.03):
    """The official script's convert_seq, written out as a plain loop."""
    y = savgol_filter(x, 5, 3)
    out = np.zeros((len(y), 2))
    for i in range(len(y) - 1):
        if y[i + 1] - y[i] >= threshold:
            out[i, 0] = 1
        elif y[i] - y[i + 1] >= threshold:
            out[i, 1] = 1
    return out


def test_known_crossings_of_a_parabola():
    # A cubic filter leaves a parabola unchanged; its steps are 0.001 * (2 (i - 20) + 1).
    i = np.arange(41, dtype=np.float64)
    x = 0.001 * (i - 20) ** 2
    ev = encode(x[:, None])
    assert ev.shape == (41, 2) and ev.dtype == np.uint8
    assert np.nonzero(ev[:, 0])[0].tolist() == [35, 36, 37, 38, 39]  # steps >= 0.031
    assert np.nonzero(ev[:, 1])[0].tolist() == [0, 1, 2, 3, 4]  # steps <= -0.031
    assert ev[-1].sum() == 0  # the last sample has no successor


def test_equals_the_papers_loop_on_random_signals():
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = np.cumsum(rng.normal(0, 0.03, 500))
        np.testing.assert_array_equal(encode(x[:, None]), paper_loop(x))


def test_channel_order_and_exclusivity():
    rng = np.random.default_rng(1)
    sig = np.cumsum(rng.normal(0, 0.04, (300, 2)), axis=0)
    ev = encode(sig)
    assert ev.shape == (300, 4)
    np.testing.assert_array_equal(ev[:, 0:2], paper_loop(sig[:, 0]))
    np.testing.assert_array_equal(ev[:, 2:4], paper_loop(sig[:, 1]))
    assert not np.any((ev[:, 0] == 1) & (ev[:, 1] == 1))


def test_threshold_is_inclusive():
    np.testing.assert_array_equal(level_crossing(np.array([0.0, 0.5, 0.0]), 0.5), [[1, 0], [0, 1], [0, 0]])
    assert level_crossing(np.array([0.0, 0.49, 0.0]), 0.5).sum() == 0


def test_bad_inputs():
    with pytest.raises(EvsimError, match="window"):
        encode(np.zeros((3, 1)))
    with pytest.raises(EvsimError, match="NaN"):
        encode(np.full((10, 1), np.nan))
    with pytest.raises(EvsimError, match="threshold"):
        encode(np.zeros((10, 1)), threshold=0)


def test_read_npy_and_csv(tmp_path):
    sig = np.cumsum(np.random.default_rng(2).normal(0, 0.05, (100, 2)), axis=0)
    np.save(tmp_path / "s.npy", sig)
    np.savetxt(tmp_path / "s.csv", sig, delimiter=",", header="lead1,lead2", comments="")
    np.savetxt(tmp_path / "n.csv", sig, delimiter=",")
    for name in ("s.npy", "s.csv", "n.csv"):
        np.testing.assert_allclose(read_signal(tmp_path / name), sig, rtol=1e-15, atol=1e-12)
        ev, labels = encode_file(tmp_path / name)
        np.testing.assert_array_equal(ev, encode(sig))
        assert labels is None
    (tmp_path / "s.txt").write_text("1,2\n")
    with pytest.raises(EvsimError, match="unknown signal format"):
        read_signal(tmp_path / "s.txt")
    with pytest.raises(EvsimError, match="no such file"):
        read_signal(tmp_path / "missing.npy")


def test_cli_encode(tmp_path, cli):
    sig = np.cumsum(np.random.default_rng(3).normal(0, 0.05, (200, 2)), axis=0)
    np.save(tmp_path / "s.npy", sig)
    code, out, err = cli("encode-ecg", tmp_path / "s.npy", "--out", tmp_path / "e.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "e.npy"), encode(sig))
    assert "4 channels" in out


# QTDB-style annotations: ( p ) ( N ) ( t ) ...
ANN = [(10, "("), (20, "p"), (30, ")"), (40, "("), (45, "N"), (50, ")"), (80, "("), (100, "t"), (120, ")"),
       (150, "("), (160, "p"), (170, ")")]


def test_annotation_mapping():
    samples = np.array([a for a, _ in ANN])
    symbols = [s for _, s in ANN]
    y = labels_from_annotations(200, samples, symbols)
    assert (y[:10] == -1).all()
    assert (y[10:31] == 0).all()  # P: onset..offset
    assert (y[31:40] == 1).all()  # PQ
    assert (y[40:45] == 2).all()  # QR: QRS onset .. R peak
    assert (y[45:50] == 3).all()  # RS: R peak .. QRS offset
    assert (y[50:121] == 4).all()  # ST: QRS offset .. T offset
    assert (y[121:150] == 5).all()  # TP: T offset .. next P onset
    assert (y[150:171] == 0).all() and (y[171:] == -1).all()  # the last P has no QRS annotated after it
    oh = one_hot(y)
    assert oh.shape == (200, 6) and oh[:10].sum() == 0 and (oh[10:171].sum(axis=1) == 1).all()


def test_wfdb_record(tmp_path):
    import wfdb  # the test extra installs it: missing fails, never skips
    t = np.arange(200)
    sig = np.stack([0.3 * np.sin(t / 7.0), 0.2 * np.cos(t / 5.0)], axis=1)
    wfdb.wrsamp("rec", fs=250, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=sig, fmt=["16", "16"],
                adc_gain=[1000.0, 1000.0], baseline=[0, 0], write_dir=str(tmp_path))
    samples = np.array([a for a, _ in ANN])
    symbols = [s for _, s in ANN]
    # wfdb writes only letter-only extensions ('q1c' is read fine): use 'pu', also a QTDB annotator
    wfdb.wrann("rec", "pu", samples, symbols, write_dir=str(tmp_path))
    ev, labels = encode_file(tmp_path / "rec", annotator="pu")
    rec_sig = wfdb.rdrecord(str(tmp_path / "rec")).p_signal
    np.testing.assert_array_equal(ev, encode(rec_sig))
    np.testing.assert_array_equal(labels, labels_from_annotations(200, samples, symbols))
    wfdb.wrsamp("slow", fs=360, units=["mV"], sig_name=["I"], p_signal=sig[:, :1], fmt=["16"],
                adc_gain=[1000.0], baseline=[0], write_dir=str(tmp_path))
    with pytest.raises(EvsimError, match="360 Hz"):
        encode_file(tmp_path / "slow")
