"""The synthetic ECG task: shapes, labels, determinism, QTDB-like statistics."""

from __future__ import annotations

import numpy as np

from evsim.tasks import get_task, open_task
from evsim.tasks.ecg_synthetic import generate, generate_record


def test_shapes_labels_and_rates():
    x, y, raw = generate(8, seed=0)
    assert x.shape == (8, 1301, 4) and y.shape == (8, 1301, 6) and raw.shape == (8, 1301, 2)
    assert set(np.unique(x)) <= {0, 1}
    assert (y.sum(axis=2) == 1).all()  # every step labelled, exactly one class
    share = y.mean(axis=(0, 1))
    assert (share > 0.02).all()  # all six classes occur
    assert share[4] + share[5] > 0.5  # ST and TP dominate, as in QTDB
    rate = x.mean(axis=(0, 1))
    assert ((rate > 0.03) & (rate < 0.15)).all()  # QTDB: ~7-9% events per channel
    assert not np.any((x[:, :, 0] == 1) & (x[:, :, 1] == 1))


def test_segment_order_within_beats():
    _, lab = generate_record(np.random.default_rng(5))
    changes = lab[1:] != lab[:-1]
    seq = lab[1:][changes]
    # consecutive segments follow the cycle P -> PQ -> QR -> RS -> ST -> TP -> P
    for a, b in zip(seq[:-1], seq[1:]):
        assert b == (a + 1) % 6


def test_determinism_by_seed():
    a, ya, _ = generate(3, seed=1)
    b, yb, _ = generate(3, seed=1)
    c, _, _ = generate(3, seed=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)
    d, _, _ = generate(5, seed=1)
    np.testing.assert_array_equal(a, d[:3])  # sequence i does not depend on n


def test_registered_task_needs_no_data():
    spec = get_task("ecg-synthetic")
    assert spec.default_data is not None
    ds = open_task("ecg-synthetic", None, n=4, seed=0)
    assert (ds.n_samples, ds.n_steps, ds.n_channels, ds.n_classes) == (4, 1301, 4, 6)
    batch = next(ds.batches(3))
    assert batch.labels.shape == (3, 1301) and batch.label_mask.all()
    assert batch.inputs.n_samples == 3


def test_label_lag_delays_labels_against_the_waves():
    from evsim.tasks.ecg_synthetic import QTDB_LABEL_LAG

    x0, y0, r0 = generate(3, seed=4)
    x1, y1, r1 = generate(3, seed=4, label_lag=QTDB_LABEL_LAG)
    np.testing.assert_array_equal(y0, y1)  # the same beats and labels ...
    lab = y0.argmax(2)

    def burst_onset_offset(x):  # mean event count just before vs after each QR onset
        on = np.argwhere((lab[:, 1:] == 2) & (lab[:, :-1] != 2)) + [0, 1]
        on = on[(on[:, 1] > 20) & (on[:, 1] < 1280)]
        before = np.mean([x[i, t - 12 : t].sum() for i, t in on])
        after = np.mean([x[i, t + 4 : t + 16].sum() for i, t in on])
        return before, after

    b0, a0 = burst_onset_offset(x0)
    b1, a1 = burst_onset_offset(x1)
    assert a0 > 3 * b0  # exact labels: the QRS events follow the QR onset
    assert b1 > 3 * b0  # lagged labels: the QRS events come before the QR label, as in QTDB
    ds = open_task("ecg-synthetic", None, n=2, label_lag=5)
    assert ds.info["label_lag"] == 5
