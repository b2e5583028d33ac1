"""Every hostile input the fresh-clone audit found (issue 9): one line on stderr, exit 2, no
traceback, no hang, bounded memory.  Property-based mutations of the same readers are in
test_fuzz.py; the contract helpers in hostile.py."""

from __future__ import annotations

import gzip
import json

import h5py
import numpy as np
import pytest

from evsim.errors import EvsimError
from evsim.formats.h5 import CHECKSUM_ATTR, load_network, read_network, save_network

from conftest import tiny_network
from datagen import random_mnist, write_mnist, write_spike_file
from hostile import assert_one_line_exit_2, outcome, run_cli_subprocess


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m.h5"
    save_network(tiny_network(), path)
    return path


def edit(path, where: str, key: str, value, keep_checksum: bool = False):
    """Set an attribute in place; unless keep_checksum, drop the checksum so that the value
    itself (not the integrity check) is what the reader must refuse."""
    with h5py.File(path, "r+") as f:
        f[where].attrs[key] = value
        if not keep_checksum and CHECKSUM_ATTR in f.attrs:
            del f.attrs[CHECKSUM_ATTR]
    return path


INFINITE_INTEGERS = [
    ("/", "format_version"),
    ("/", "n_inputs"),
    ("/layers/h", "size"),
    ("/projections/0", "delay"),
    ("/projections", "count"),
    ("/readout", "from_step"),
]


@pytest.mark.parametrize("where, key", INFINITE_INTEGERS)
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan, 1e300])
def test_non_finite_or_huge_integer_attributes(cli, model, where, key, value):
    edit(model, where, key, value)
    code, out, err = cli("info", model)
    assert_one_line_exit_2(code, err, key if where != "/" or key != "format_version" else "format_version")


def test_golden_count_and_label_inf(cli, tmp_path):
    from evsim.model import GoldenRecord

    net = tiny_network(golden=[GoldenRecord(np.zeros((4, 2)), np.zeros((4, 2)), label=1)])
    for where, key in (("/golden", "count"), ("/golden/0", "label")):
        path = tmp_path / f"{key}.h5"
        save_network(net, path)
        edit(path, where, key, np.inf)
        code, _, err = cli("info", path)
        assert_one_line_exit_2(code, err, key)


@pytest.mark.parametrize("metadata", ["[1, 2]", "3", '"text"', "null", "{not json"])
def test_metadata_that_is_not_a_json_object(cli, model, metadata):
    edit(model, "/", "metadata", metadata)
    code, _, err = cli("info", model)
    assert_one_line_exit_2(code, err, "metadata")


@pytest.mark.parametrize("delay", [10**9, 2**40, 1e300])
def test_huge_delays_are_refused_before_any_engine_sees_them(cli, model, delay):
    edit(model, "/projections/1", "delay", delay)
    code, _, err = cli("run", "-w", model, "--task", "random", "--channels", "2", "--n", "1", "--steps", "5")
    assert_one_line_exit_2(code, err, "delay")


def test_a_delay_beyond_the_bound_is_refused_by_the_model_itself():
    from evsim.model import MAX_DELAY, Projection

    Projection("input", "h", np.ones((1, 1)), np.zeros(1), MAX_DELAY)  # the bound itself is fine
    with pytest.raises(EvsimError, match="delay must be an integer in 0..4096"):
        Projection("input", "h", np.ones((1, 1)), np.zeros(1), MAX_DELAY + 1)


def test_a_changed_number_fails_the_content_checksum(cli, model):
    """A flipped byte that still parses (dt 1.0 -> 1.000108, as the audit saw) is caught."""
    edit(model, "/", "dt", 1.000108, keep_checksum=True)
    code, _, err = cli("info", model)
    assert_one_line_exit_2(code, err, "content checksum mismatch")


def test_changed_weights_fail_the_content_checksum(cli, model):
    with h5py.File(model, "r+") as f:
        f["/projections/1/weight"][0, 0] += 1e-12
    code, _, err = cli("info", model)
    assert_one_line_exit_2(code, err, "content checksum mismatch")


def test_a_file_without_checksum_loads_and_info_says_so(cli, model):
    with h5py.File(model, "r+") as f:
        del f.attrs[CHECKSUM_ATTR]
    assert read_network(model)[1] == "absent"
    code, out, err = cli("info", model)
    assert code == 0 and "content checksum: none stored" in out
    save_network(load_network(model), model)
    code, out, err = cli("info", model)
    assert code == 0 and "content checksum: verified" in out


def test_the_checksum_is_over_content_not_layout(tmp_path):
    """Two files with the same content written in different object orders hash alike; it is
    what lets the checksum survive a format version bump that keeps the content."""
    from evsim.formats.h5 import content_checksum

    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    with h5py.File(a, "w") as f:
        f.attrs["x"] = 1
        f.create_dataset("g/d", data=np.arange(3.0))
        f.create_dataset("e", data=np.ones(2), compression="gzip")
    with h5py.File(b, "w") as f:
        f.create_dataset("e", data=np.ones(2))  # stored differently (no compression)
        f.create_dataset("g/d", data=np.arange(3.0))
        f.attrs["x"] = 1
    with h5py.File(a) as fa, h5py.File(b) as fb:
        assert content_checksum(fa) == content_checksum(fb)
    with h5py.File(b, "r+") as f:
        f["g/d"][1] = 5.0
    with h5py.File(a) as fa, h5py.File(b) as fb:
        assert content_checksum(fa) != content_checksum(fb)


def test_external_link_is_refused(cli, model, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("w", data=np.full((3, 3), 7.0))
    with h5py.File(model, "r+") as f:
        del f["/projections/1/weight"]
        f["/projections/1/weight"] = h5py.ExternalLink(str(other), "w")
    code, _, err = cli("info", model)
    assert_one_line_exit_2(code, err, "external link")


def test_soft_link_is_refused(cli, model):
    with h5py.File(model, "r+") as f:
        del f["/projections/1/bias"]
        f["/projections/1/bias"] = h5py.SoftLink("/layers/h/b_j0")
    code, _, err = cli("info", model)
    assert_one_line_exit_2(code, err, "soft link")


def test_virtual_dataset_with_a_missing_source_is_refused(cli, model, tmp_path):
    layout = h5py.VirtualLayout(shape=(3, 3), dtype="f8")
    layout[:] = h5py.VirtualSource(str(tmp_path / "gone.h5"), "w", shape=(3, 3))
    with h5py.File(model, "r+") as f:
        del f["/projections/1/weight"]
        f.create_virtual_dataset("/projections/1/weight", layout, fillvalue=0.0)
    code, _, err = cli("info", model)
    assert_one_line_exit_2(code, err, "virtual dataset")


def test_size_cap_holds_for_every_dataset_and_compression_bombs(cli, model, tmp_path):
    """A small file declaring a huge, highly compressed dataset is refused before it is read."""
    with h5py.File(model, "r+") as f:
        f.create_dataset("/extra", shape=(1 << 22, 8), dtype="f8", chunks=(1 << 16, 8), compression="gzip", fillvalue=0.0)
        f["/extra"][:1 << 16] = 0.0  # one chunk written: the rest reads as fill
    assert model.stat().st_size < 200_000
    code, _, err = cli("info", model)
    assert_one_line_exit_2(code, err, "/extra")
    with h5py.File(model, "r+") as f:
        del f["/extra"]
        f.create_dataset("/extra", shape=(1 << 29,), dtype="u1", chunks=(1 << 20,))
    code, _, err = cli("info", model)
    assert_one_line_exit_2(code, err, "2^28")


def test_a_huge_size_attribute_allocates_nothing(model):
    edit(model, "/layers/h", "size", 1 << 28)
    message = outcome("h5 size 2^28", lambda: load_network(model))
    assert message is not None and "size" in message


def test_h5_reader_does_not_hide_evsim_bugs(model, monkeypatch):
    """Only h5py's own failures read as a corrupt file; a bug in evsim keeps its traceback."""
    import evsim.formats.h5 as h5

    def broken(*a, **k):
        raise KeyError("a bug in evsim")

    monkeypatch.setattr(h5, "Readout", broken)
    with pytest.raises(KeyError, match="a bug in evsim"):
        load_network(model)


def test_initial_state_naming_a_missing_layer_exits_promptly(model):
    """The audit saw this print its error and then hang for two minutes."""
    with h5py.File(model, "r+") as f:
        f.create_group("/initial_state/layers/ghost")
        f["/initial_state/layers/ghost"].attrs["mem"] = "zeros"
        f["/initial_state/layers/ghost"].attrs["scale"] = 1.0
        del f.attrs[CHECKSUM_ATTR]
    proc = run_cli_subprocess("run", "-w", model, "--task", "random", "--channels", "2", "--n", "1", "--steps", "5", timeout=120)
    assert_one_line_exit_2(proc.code, proc.err, "ghost")


def test_golden_tolerance_inf_is_refused(cli, tmp_path):
    from evsim.model import GoldenRecord

    path = tmp_path / "g.h5"
    save_network(tiny_network(golden=[GoldenRecord(np.zeros((4, 2)), np.zeros((4, 2)))]), path)
    edit(path, "/golden/0", "tolerance", np.inf)
    code, _, err = cli("crosscheck", "-w", path)
    assert_one_line_exit_2(code, err, "tolerance")


# ---- manifests -------------------------------------------------------------------------------


def write_manifest(tmp_path, **changes):
    manifest = {
        "name": "m",
        "layers": [{"name": "h", "size": 2, "neuron": "alif", "beta": 1.8, "b_j0": 0.1, "tau_m": 5.0, "tau_adp": 50.0,
                    "inputs": [{"from": "input", "weight": "w", "delay": 0}]}],
        "readout": {"layer": "h", "variable": "spike", "aggregate": "sum"},
    }
    tensors = {"w": np.ones((2, 3))}
    tensors.update(changes.pop("tensors", {}))
    manifest.update(changes)
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    np.savez(tmp_path / "m.npz", **tensors)
    return tmp_path / "m.json"


@pytest.mark.parametrize(
    "changes, expect",
    [
        ({"dt": "1.0"}, "dt must be a positive number"),
        ({"dt": [1.0]}, "dt must be a positive number"),
        ({"R_m": None}, "R_m must be a positive number"),
        ({"tensors": {"w": np.array([["a", "b", "c"], ["d", "e", "f"]])}}, "expected real numbers"),
        ({"tensors": {"w": np.ones((2, 3)) * (1 + 1j)}}, "expected real numbers"),
        ({"initial_state": [1]}, "'initial_state' must be an object"),
    ],
)
def test_manifest_fields_of_the_wrong_type(cli, tmp_path, changes, expect):
    path = write_manifest(tmp_path, **changes)
    code, _, err = cli("import", path, "-o", tmp_path / "out.h5")
    assert_one_line_exit_2(code, err, expect)


# ---- options and output paths --------------------------------------------------------------


def test_negative_seed_with_the_paper_state(cli):
    code, _, err = cli("run", "--task", "ecg", "--init", "paper", "--seed", "-5", "--limit", "1")
    assert_one_line_exit_2(code, err, "--seed must be an integer >= 0")


@pytest.mark.parametrize("option", ["--csv", "--predictions"])
def test_output_paths_in_a_missing_directory_or_naming_a_directory(cli, tmp_path, option):
    for target, expect in ((tmp_path / "nope" / "x.csv", "does not exist"), (tmp_path, "is a directory")):
        code, _, err = cli("run", "--task", "ecg", "--limit", "1", option, target)
        assert_one_line_exit_2(code, err, expect)


def test_import_output_in_a_missing_directory(cli, tmp_path):
    path = write_manifest(tmp_path)
    for target, expect in ((tmp_path / "nope" / "m.h5", "does not exist"), (tmp_path, "is a directory")):
        code, _, err = cli("import", path, "-o", target)
        assert_one_line_exit_2(code, err, expect)


def test_sweep_over_a_huge_bit_range(cli):
    code, _, err = cli("sweep", "--task", "ecg", "--profile", "loihi", "--weight-bits", "2..100000000", "--limit", "1")
    assert_one_line_exit_2(code, err, "--weight-bits")


def test_shd_steps_far_too_many(cli, tmp_path):
    write_spike_file(tmp_path / "shd_test.h5", [[0.1]], [[5]], [0])
    code, _, err = cli("run", "-w", "shd_nmi2021", "--task", "shd", "--data", tmp_path, "--steps", "100000000")
    assert_one_line_exit_2(code, err, "--steps must be an integer in 1..131072")


def test_shd_times_in_milliseconds_are_refused_not_dropped(cli, tmp_path):
    rng = np.random.default_rng(0)
    times = [np.sort(rng.uniform(0, 1000, 200)) for _ in range(4)]  # ms, read as seconds
    units = [rng.integers(1, 700, 200) for _ in range(4)]
    write_spike_file(tmp_path / "shd_test.h5", times, units, [0, 1, 2, 3])
    code, _, err = cli("run", "-w", "shd_nmi2021", "--task", "shd", "--data", tmp_path)
    assert_one_line_exit_2(code, err, "are the times in seconds?")
    # the figure in the message is the count of times past (steps - 1) * dt, recounted here
    late = sum(int((t > 249 * 0.004).sum()) for t in times)
    assert f"{late:,} of 800 spikes" in err


def test_shd_dropped_spikes_are_reported(cli, tmp_path):
    write_spike_file(tmp_path / "shd_test.h5", [[0.1, 0.5, 2.0]], [[3, 4, 5]], [0])
    code, out, err = cli("run", "-w", "shd_nmi2021", "--task", "shd", "--data", tmp_path, "--json")
    assert code == 0, err
    info = json.loads(out)["task_info"]
    assert (info["spikes_read"], info["spikes_after_last_step"]) == (3, 1)


def test_gzip_bomb_as_mnist(cli, tmp_path):
    images, labels = random_mnist(np.random.default_rng(0), 2)
    write_mnist(tmp_path, images, labels, gz=True)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        header = np.array([0x803, 10_000_000, 28, 28], ">u4").tobytes()
        f.write(header)
        block = bytes(1 << 20)
        for _ in range(100):  # 100 MiB of zeros, about 100 KB on disk
            f.write(block)
    message = outcome("mnist gzip bomb", lambda: __import__("evsim.tasks", fromlist=["open_task"]).open_task("smnist", tmp_path))
    assert message is not None and "decompresses to more than" in message


def test_numpy_warnings_do_not_reach_stderr(cli, tmp_path):
    """Membranes overflowing to inf in float64 (weights near the float limit) would make NumPy
    warn; the CLI's stderr carries only evsim's own line, if any."""
    net = tiny_network()
    net.projections[1].weight[:] = 1e307
    path = tmp_path / "big.h5"
    save_network(net, path)
    code, out, err = cli("run", "-w", path, "--task", "random", "--channels", "2", "--n", "2", "--steps", "20")
    assert "Warning" not in err and "Traceback" not in err
    assert code in (0, 2)


@pytest.mark.parametrize("split", ["test", "train"])
def test_strict_mat_reader_matches_scipy_on_the_shipped_files(data_dir, split):
    """evsim reads QTDB with its own strict v5 reader (scipy.io.loadmat crashes the process on
    some damaged files); on the real files it must give exactly what scipy gives."""
    import scipy.io

    from evsim.tasks.mat5 import read_arrays

    path = data_dir / "qtdb" / f"QTDB_{split}.mat"
    ours = read_arrays(path, ("x", "y", "t", "max_i"), 1 << 25)
    theirs = scipy.io.loadmat(str(path))
    for key in ("x", "y", "t", "max_i"):
        assert ours[key].dtype == theirs[key].dtype and np.array_equal(ours[key], theirs[key]), key


def test_strict_mat_reader_on_uncompressed_files(tmp_path):
    import scipy.io

    from evsim.tasks.mat5 import read_arrays

    x = np.arange(24, dtype=np.int16).reshape(2, 3, 4) - 5
    scipy.io.savemat(tmp_path / "m.mat", {"x": x, "z": np.ones(3)}, do_compression=False)
    assert np.array_equal(read_arrays(tmp_path / "m.mat", ("x",), 100)["x"], x)
    with pytest.raises(EvsimError, match="beyond 10 values"):
        read_arrays(tmp_path / "m.mat", ("x",), 10)


def test_complex_tensor_in_a_state_dict(cli, tmp_path):
    import torch

    path = write_manifest(tmp_path)
    torch.save({"w": torch.ones((2, 3), dtype=torch.complex64)}, tmp_path / "m.pth")
    code, _, err = cli("import", path, "--tensors", tmp_path / "m.pth", "-o", tmp_path / "out.h5")
    assert_one_line_exit_2(code, err, "is complex")
