"""smnist / psmnist: IDX files written by tests/datagen.py (plain and gzipped, DIR and DIR/mnist),
the sliding-window encoding and the permutation against direct NumPy constructions, and errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from datagen import random_mnist, write_idx, write_mnist
from evsim.errors import EvsimError
from evsim.events import EventBatch
from evsim.tasks import open_task
from evsim.tasks.base import slice_range
from evsim.tasks.mnist import encode_windows, permutation_hash


def windows_dense(seq: np.ndarray, w: int) -> np.ndarray:
    """(samples, 784, w): step t holds pixels min(t, 784-w) .. +w-1, built directly."""
    x = np.zeros((len(seq), 784, w))
    for t in range(784):
        s = min(t, 784 - w)
        x[:, t, :] = seq[:, s : s + w]
    return x


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = random_mnist(rng, 9)
    write_mnist(tmp_path, images, labels, "test")
    return tmp_path, images, labels


@pytest.mark.parametrize("w", [1, 3, 8, 784])
def test_window_encoding_matches_numpy(w):
    rng = np.random.default_rng(w)
    images, _ = random_mnist(rng, 3)
    seq = images.reshape(3, 784) / 255.0
    seq[1] = 0  # an all-black image: no events at all
    batch = encode_windows(seq, w)
    assert (batch.n_steps, batch.n_channels) == (784, w)
    np.testing.assert_array_equal(batch.to_dense(), windows_dense(seq, w))
    assert np.all(batch.value != 0)  # zeros are not events
    assert batch.step_ptr[1, 0] == batch.step_ptr[1, -1]
    ref = EventBatch.from_dense(windows_dense(seq, w))  # same event order as the canonical one
    np.testing.assert_array_equal(batch.step_ptr, ref.step_ptr)
    np.testing.assert_array_equal(batch.channel, ref.channel)


def test_window_tail_repeats_last_pixels():
    seq = np.zeros((1, 784))
    seq[0, -1] = 1.0
    seq[0, 0] = 0.5
    b = encode_windows(seq, 8)
    x = b.to_dense()[0]
    assert x[0, 0] == 0.5 and x[1:, :].sum() == (784 - 776) * 1.0
    assert np.all(x[776:, 7] == 1.0) and x[775].sum() == 0  # from step 776 on: pixels 776..783


@pytest.mark.parametrize("gz,sub", [(False, ""), (True, ""), (False, "mnist"), (True, "mnist")])
def test_open_smnist_plain_gz_subdir(tmp_path, gz, sub):
    rng = np.random.default_rng(1)
    images, labels = random_mnist(rng, 5)
    img_path, _ = write_mnist(tmp_path / sub, images, labels, "train", gz=gz)
    ds = open_task("smnist", tmp_path, split="train")
    assert (ds.n_samples, ds.n_steps, ds.n_channels, ds.n_classes) == (5, 784, 8, 10)
    assert ds.per_step_labels is False and ds.source == str(img_path) and ds.info == {"split": "train", "window": 8}
    got = list(ds.batches(2))
    x = np.concatenate([b.inputs.to_dense() for b in got])
    np.testing.assert_array_equal(x, windows_dense(images.reshape(5, 784) / 255.0, 8))
    np.testing.assert_array_equal(np.concatenate([b.labels for b in got]), labels)


def test_memory_map_plain_file(mnist_dir):
    tmp_path, *_ = mnist_dir
    ds = open_task("smnist", tmp_path)
    assert isinstance(ds.images.base, np.memmap) or isinstance(ds.images, np.memmap)


def test_window_option(mnist_dir):
    tmp_path, images, _ = mnist_dir
    ds = open_task("smnist", tmp_path, window=4)
    b = next(ds.batches(9))
    assert b.inputs.n_channels == 4
    np.testing.assert_array_equal(b.inputs.to_dense(), windows_dense(images.reshape(9, 784) / 255.0, 4))
    for bad in (0, 785):
        with pytest.raises(EvsimError, match="--window"):
            open_task("smnist", tmp_path, window=bad)


def test_batches_offset_limit(mnist_dir):
    tmp_path, images, labels = mnist_dir
    ds = open_task("smnist", tmp_path)
    for offset, limit, bs in [(0, None, 4), (2, 5, 2), (8, None, 3)]:
        got = list(ds.batches(bs, offset, limit))
        ids = np.concatenate([b.sample_ids for b in got])
        assert ids.tolist() == list(slice_range(9, offset, limit))
        np.testing.assert_array_equal(np.concatenate([b.labels for b in got]), labels[ids])
    with pytest.raises(EvsimError):
        list(ds.batches(4, 10))


def test_psmnist_seed_permutation(mnist_dir):
    tmp_path, images, labels = mnist_dir
    ds = open_task("psmnist", tmp_path, perm_seed=3)
    perm = np.random.default_rng(3).permutation(784)
    seq = images.reshape(9, 784)[:, perm] / 255.0
    np.testing.assert_array_equal(next(ds.batches(9)).inputs.to_dense(), windows_dense(seq, 8))
    assert ds.info["perm_seed"] == 3 and ds.info["perm_sha256"] == permutation_hash(perm)
    assert open_task("psmnist", tmp_path).info["perm_sha256"] == permutation_hash(np.random.default_rng(0).permutation(784))


def test_psmnist_permutation_file(mnist_dir):
    tmp_path, images, _ = mnist_dir
    perm = np.arange(784)[::-1].copy()
    np.save(tmp_path / "perm.npy", perm)
    ds = open_task("psmnist", tmp_path, permutation=str(tmp_path / "perm.npy"), window=2)
    seq = images.reshape(9, 784)[:, ::-1] / 255.0
    np.testing.assert_array_equal(next(ds.batches(9)).inputs.to_dense(), windows_dense(seq, 2))
    assert ds.info["permutation"].endswith("perm.npy") and "perm_seed" not in ds.info
    assert ds.info["perm_sha256"] == permutation_hash(perm)


@pytest.mark.parametrize(
    "content,message",
    [
        (np.arange(783), r"shape \(783,\), expected \(784,\)"),
        (np.r_[np.arange(783), 5], "not a permutation of 0..783 \\(index 5 appears 2 times\\)"),
        (np.r_[np.arange(783), 784], "index 784, outside 0..783"),
        (np.arange(784) + 0.5, "holds float64, expected integer"),
        (None, "not a readable .npy"),
    ],
)
def test_bad_permutation_file(mnist_dir, content, message):
    tmp_path, *_ = mnist_dir
    path = tmp_path / "perm.npy"
    if content is None:
        path.write_bytes(b"garbage")
    else:
        np.save(path, content)
    with pytest.raises(EvsimError, match=message):
        open_task("psmnist", tmp_path, permutation=str(path))
    with pytest.raises(EvsimError, match="does not exist"):
        open_task("psmnist", tmp_path, permutation=str(tmp_path / "nope.npy"))


def test_missing_directory_and_files(tmp_path):
    with pytest.raises(EvsimError, match="does not exist"):
        open_task("smnist", tmp_path / "nope")
    with pytest.raises(EvsimError, match="t10k-images-idx3-ubyte"):
        open_task("smnist", tmp_path)
    with pytest.raises(EvsimError, match="--split"):
        open_task("smnist", tmp_path, split="valid")


def test_image_file_size_not_784_per_image(mnist_dir):
    tmp_path, images, _ = mnist_dir
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(EvsimError, match="t10k-images-idx3-ubyte: image file size is not 784 per image"):
        open_task("smnist", tmp_path)
    write_idx(path, images, 0x803, n_override=10)  # header claims 10 images, data holds 9
    with pytest.raises(EvsimError, match="image file size is not 784 per image"):
        open_task("smnist", tmp_path)


def test_bad_headers_and_counts(mnist_dir):
    tmp_path, images, labels = mnist_dir
    img = tmp_path / "t10k-images-idx3-ubyte"
    lab = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(img, images, 0x801)
    with pytest.raises(EvsimError, match="magic number 0x00000801, expected 0x00000803"):
        open_task("smnist", tmp_path)
    write_idx(img, images.reshape(9, 49, 16), 0x803)
    with pytest.raises(EvsimError, match="dimensions 9x49x16, expected Nx28x28"):
        open_task("smnist", tmp_path)
    img.write_bytes(b"\x00\x00")
    with pytest.raises(EvsimError, match="too short for an IDX header"):
        open_task("smnist", tmp_path)
    write_idx(img, images, 0x803)
    write_idx(lab, labels[:8], 0x801)
    with pytest.raises(EvsimError, match="holds 9 images but .* holds 8 labels"):
        open_task("smnist", tmp_path)
    bad = labels.copy()
    bad[4] = 10
    write_idx(lab, bad, 0x801)
    with pytest.raises(EvsimError, match="t10k-labels-idx1-ubyte: sample 4 has label 10, outside 0..9"):
        open_task("smnist", tmp_path)


def test_truncated_gz(tmp_path):
    rng = np.random.default_rng(2)
    images, labels = random_mnist(rng, 3)
    img, _ = write_mnist(tmp_path, images, labels, gz=True)
    img.write_bytes(img.read_bytes()[:-50])
    with pytest.raises(EvsimError, match="not a complete gzip file"):
        open_task("smnist", tmp_path)
    img.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 10))
    with pytest.raises(EvsimError, match="too short"):
        open_task("smnist", tmp_path)
