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
