"""shd / ssc: files in the real HDF5 layout (tests/datagen.py), binning edge cases against hand-made
spike lists and against the paper's binning loop, lazy batches, and one-line errors."""

from __future__ import annotations

import gzip
import os
import tempfile
import tracemalloc

import numpy as np
import pytest

from datagen import random_spikes, write_spike_file
from evsim.errors import EvsimError
from evsim.tasks import open_task
from evsim.tasks.base import slice_range
from evsim.tasks.shd import N_CHANNELS, bin_edges, bin_spikes

DT, STEPS = 0.004, 250


def paper_readout(times, units, dt=DT, steps=STEPS):
    """The paper's binary_image_readout (steps x 700), comparisons in the times' precision."""
    times, units = np.asarray(times), np.asarray(units).astype(np.int64)
    img = np.zeros((steps, N_CHANNELS))
    for i in range(steps):
        idx = times <= np.asarray(i * dt, dtype=times.dtype)
        vals = units[idx]
        img[i, N_CHANNELS - vals[vals > 0]] = 1
        times, units = times[~idx], units[~idx]
    return img


def dense_of(times_list, units_list, dtype=np.float16, dt=DT, steps=STEPS):
    times_list = [np.asarray(t, dtype=dtype) for t in times_list]
    batch = bin_spikes(times_list, [np.asarray(u, dtype=np.uint16) for u in units_list], bin_edges(dt, steps, dtype))
    return batch, batch.to_dense()


def events_of(batch, b):
    """(step, channel) pairs of sample b."""
    out = []
    for t in range(batch.n_steps):
        lo, hi = batch.step_ptr[b, t], batch.step_ptr[b, t + 1]
        out += [(t, int(c)) for c in batch.channel[lo:hi]]
    return out


# ------------------------------------------------------------------------------------------------
# binning


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_bin_edges_and_drops(dtype):
    times = [0.0, -0.001, 0.004, 0.0041, 0.008, 0.012, 0.996, 0.9975, 1.2]
    units = [10, 11, 12, 13, 14, 15, 16, 17, 18]
    batch, _ = dense_of([times], [units], dtype)
    # 0 and negative -> step 0; exactly on an edge i*dt -> step i; past 249*dt -> dropped
    assert events_of(batch, 0) == [(0, 689), (0, 690), (1, 688), (2, 686), (2, 687), (3, 685), (249, 684)]


def test_unit_mapping_and_unit_zero_dropped():
    batch, x = dense_of([[0.001, 0.001, 0.001, 0.001]], [[0, 1, 699, 350]])
    assert events_of(batch, 0) == [(1, 1), (1, 350), (1, 699)]  # sorted by channel, unit 0 gone
    assert x.sum() == 3 and x[0, 1, 0] == 0


def test_duplicates_count_once_and_binary_values():
    batch, x = dense_of([[0.001, 0.002, 0.004, 0.0045]], [[5, 5, 5, 5]])
    assert events_of(batch, 0) == [(1, 695), (2, 695)]
    assert set(batch.value.tolist()) == {1.0}


def test_empty_samples():
    batch, x = dense_of([[], [0.01], []], [[], [3], []])
    assert batch.n_samples == 3 and batch.n_events == 1
    assert events_of(batch, 0) == [] and events_of(batch, 1) == [(3, 697)] and events_of(batch, 2) == []
    empty, _ = dense_of([[], []], [[], []])
    assert empty.n_events == 0 and empty.step_ptr.shape == (2, STEPS + 1)


def test_float16_edge_is_rounded_like_the_paper():
    # float16(0.004) = 0.0040016 > 0.004: ceil(t/dt) in float64 would say step 2; the rule says 1
    t = np.float16(0.004)
    assert float(t) > 0.004 and np.ceil(float(t) / DT) == 2
    batch, _ = dense_of([[t]], [[1]])
    assert events_of(batch, 0) == [(1, 699)]


def test_matches_the_paper_loop_on_random_spikes():
    rng = np.random.default_rng(1)
    times, units = random_spikes(rng, 6, 300, t_max=1.1)
    times[2] = np.round(times[2].astype(np.float64) / DT).astype(np.float16) * np.float16(DT)  # edge-heavy
    times[3] = np.array([], np.float16)
    units[3] = np.array([], np.uint16)
    _, x = dense_of(times, units)
    ref = np.stack([paper_readout(t, u) for t, u in zip(times, units)])
    np.testing.assert_array_equal(x, ref)


def test_dt_and_steps_options_in_binning():
    batch, _ = dense_of([[0.01, 0.02, 0.0201, 0.5]], [[1, 2, 3, 4]], np.float64, dt=0.01, steps=3)
    assert batch.n_steps == 3 and events_of(batch, 0) == [(1, 699), (2, 698)]


def test_channels_sorted_unique_within_each_step():
    rng = np.random.default_rng(2)
    times, units = random_spikes(rng, 4, 2000)
    batch, _ = dense_of(times, units)
    for b in range(4):
        for t in range(STEPS):
            ch = batch.channel[batch.step_ptr[b, t] : batch.step_ptr[b, t + 1]]
            assert np.all(np.diff(ch) > 0)


# ------------------------------------------------------------------------------------------------
# files and data sets


def make_shd(tmp_path, name="shd_test.h5", n=7, seed=0, labels=None, **kw):
    rng = np.random.default_rng(seed)
    times, units = random_spikes(rng, n, 200)
    if labels is None:
        labels = rng.integers(0, 20, n)
    path = write_spike_file(tmp_path / name, times, units, labels, **kw)
    return path, times, units, np.asarray(labels)


@pytest.mark.parametrize("name,kw", [("shd_test.h5", {}), ("shd_test.h5.gz", {}), ("shd/shd_test.h5", {"compression": "gzip"})])
def test_open_shd_plain_gz_and_compressed(tmp_path, name, kw):
    (tmp_path / "shd").mkdir()
    path, times, units, labels = make_shd(tmp_path, name, keys=[f"word-{i}" for i in range(20)], **kw)
    with open_task("shd", tmp_path) as ds:
        assert (ds.n_samples, ds.n_channels, ds.n_steps, ds.n_classes) == (7, 700, 250, 20)
        assert ds.per_step_labels is False and ds.source == str(path)
        assert ds.info["split"] == "test" and ds.info["classes"][3] == "word-3" and ds.info["times_dtype"] == "float16"
        batches = list(ds.batches(3))
    assert [len(b.sample_ids) for b in batches] == [3, 3, 1]
    x = np.concatenate([b.inputs.to_dense() for b in batches])
    np.testing.assert_array_equal(x, np.stack([paper_readout(t, u) for t, u in zip(times, units)]))
    np.testing.assert_array_equal(np.concatenate([b.labels for b in batches]), labels)
    np.testing.assert_array_equal(np.concatenate([b.sample_ids for b in batches]), np.arange(7))


def test_gz_temp_file_leaves_nothing_behind(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    make_shd(tmp_path, "shd_test.h5.gz")
    ds = open_task("shd", tmp_path)
    assert os.listdir(scratch) == []  # unlinked once HDF5 holds it open
    assert sum(len(b.sample_ids) for b in ds.batches(4)) == 7
    ds.close()


def test_ssc_splits_and_options(tmp_path):
    rng = np.random.default_rng(3)
    times, units = random_spikes(rng, 5, 100)
    write_spike_file(tmp_path / "ssc_valid.h5", times, units, [0, 34, 1, 2, 3])
    ds = open_task("ssc", tmp_path, split="valid", dt=0.01, steps=100)
    assert (ds.n_classes, ds.n_steps, ds.info["dt"]) == (35, 100, 0.01)
    b = next(ds.batches(5))
    assert b.labels.tolist() == [0, 34, 1, 2, 3]
    ref = np.stack([paper_readout(t, u, 0.01, 100) for t, u in zip(times, units)])
    np.testing.assert_array_equal(b.inputs.to_dense(), ref)


def test_batches_offset_limit(tmp_path):
    make_shd(tmp_path, n=10)
    ds = open_task("shd", tmp_path)
    full = next(ds.batches(10)).inputs.to_dense()
    for offset, limit, bs in [(0, None, 4), (3, 5, 2), (9, 100, 3)]:
        got = list(ds.batches(bs, offset, limit))
        ids = np.concatenate([b.sample_ids for b in got]) if got else np.zeros(0, int)
        assert ids.tolist() == list(slice_range(10, offset, limit))
        if got:
            np.testing.assert_array_equal(np.concatenate([b.inputs.to_dense() for b in got]), full[ids])
    for offset in (10, 11):  # at or past the end: the data ended, nothing to run
        with pytest.raises(EvsimError, match="outside the data set's 10 samples"):
            list(ds.batches(4, offset))
    with pytest.raises(EvsimError, match="limit"):
        list(ds.batches(4, 0, 0))


def test_two_iterations_at_once(tmp_path):
    make_shd(tmp_path, n=6)
    ds = open_task("shd", tmp_path)
    for a, b in zip(ds.batches(2), ds.batches(2)):
        np.testing.assert_array_equal(a.inputs.step_ptr, b.inputs.step_ptr)


def test_batch_memory_stays_sparse(tmp_path):
    rng = np.random.default_rng(4)
    times, units = random_spikes(rng, 64, 500)
    write_spike_file(tmp_path / "shd_test.h5", times, units, np.zeros(64, int))
    ds = open_task("shd", tmp_path)
    tracemalloc.start()
    batch = next(ds.batches(64))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert batch.inputs.n_events > 0
    assert peak < 64 * 250 * 700 // 4  # a dense uint8 batch would be 11 MB; float64 90 MB


# ------------------------------------------------------------------------------------------------
# errors


def test_missing_directory_and_file(tmp_path):
    with pytest.raises(EvsimError, match="does not exist"):
        open_task("shd", tmp_path / "nope")
    with pytest.raises(EvsimError, match="shd_train.h5"):
        open_task("shd", tmp_path, split="train")
    with pytest.raises(EvsimError, match="split"):
        open_task("shd", tmp_path, split="valid")


def test_bad_options(tmp_path):
    make_shd(tmp_path)
    with pytest.raises(EvsimError, match="--dt"):
        open_task("shd", tmp_path, dt=0.0)
    with pytest.raises(EvsimError, match="--steps"):
        open_task("shd", tmp_path, steps=0)


def test_wrong_group_names(tmp_path):
    make_shd(tmp_path, spikes_group="spks")
    with pytest.raises(EvsimError, match=r"shd_test.h5: no dataset 'spikes/times' \(the file holds: extra, labels, spks\)"):
        open_task("shd", tmp_path)


def test_missing_labels(tmp_path):
    make_shd(tmp_path, labels_name="label")
    with pytest.raises(EvsimError, match="no dataset 'labels'"):
        open_task("shd", tmp_path)


def test_labels_out_of_range_name_file_and_sample(tmp_path):
    make_shd(tmp_path, labels=[0, 1, 2, 20, 3, 4, 5])
    with pytest.raises(EvsimError, match=r"shd_test.h5: sample 3 has label 20, outside 0..19"):
        open_task("shd", tmp_path)


def test_ssc_accepts_label_34_shd_rejects_it(tmp_path):
    rng = np.random.default_rng(0)
    times, units = random_spikes(rng, 2, 10)
    write_spike_file(tmp_path / "ssc_test.h5", times, units, [34, 0])
    write_spike_file(tmp_path / "shd_test.h5", times, units, [34, 0])
    assert open_task("ssc", tmp_path).labels.tolist() == [34, 0]
    with pytest.raises(EvsimError, match="sample 0 has label 34"):
        open_task("shd", tmp_path)


def test_truncated_files(tmp_path):
    path, *_ = make_shd(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(EvsimError, match="not a readable HDF5 file"):
        open_task("shd", tmp_path)
    path.unlink()
    gz = tmp_path / "shd_test.h5.gz"
    gz.write_bytes(gzip.compress(data)[:-100])
    with pytest.raises(EvsimError, match="not a complete gzip file"):
        open_task("shd", tmp_path)
    gz.write_bytes(b"not gzip at all")
    with pytest.raises(EvsimError, match="shd_test.h5.gz"):
        open_task("shd", tmp_path)


def test_not_hdf5(tmp_path):
    (tmp_path / "shd_test.h5").write_bytes(b"\x00" * 1000)
    with pytest.raises(EvsimError, match="not a readable HDF5 file"):
        open_task("shd", tmp_path)


def test_bad_spikes_name_sample(tmp_path):
    times = [np.array([0.1], np.float16), np.array([0.1, 0.2], np.float16)]
    cases = [
        ([np.array([1]), np.array([1, 700])], times, r"shd_test.h5: sample 1 has unit 700, outside 0..699"),
        ([np.array([1]), np.array([1])], times, r"shd_test.h5: sample 1 has 2 spike times but 1 units"),
        ([np.array([1]), np.array([1, 2])], [times[0], np.array([0.1, np.nan], np.float16)], r"sample 1 has a spike time that is nan"),
    ]
    for k, (units, ts, message) in enumerate(cases):
        (tmp_path / f"{k}").mkdir()
        write_spike_file(tmp_path / f"{k}" / "shd_test.h5", ts, units, [0, 0])
        with open_task("shd", tmp_path / f"{k}") as ds:
            assert next(ds.batches(1)).inputs.n_events == 1  # sample 0 is fine: errors come with the batch
            with pytest.raises(EvsimError, match=message):
                list(ds.batches(1, offset=1))


def test_counts_disagree_and_integer_times(tmp_path):
    times, units = random_spikes(np.random.default_rng(0), 3, 10)
    write_spike_file(tmp_path / "shd_test.h5", times, units, [0, 1])
    with pytest.raises(EvsimError, match="3 spike time lists, 3 unit lists and 2 labels"):
        open_task("shd", tmp_path)
    write_spike_file(tmp_path / "shd_test.h5", times, units, [0, 1, 2], times_dtype=np.int32)
    with pytest.raises(EvsimError, match="'spikes/times' holds int32, expected floats"):
        open_task("shd", tmp_path)
