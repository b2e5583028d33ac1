"""The model file round-trips exactly; every kind of bad input is one line and exit code 2."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from evsim.errors import EvsimError
from evsim.formats.h5 import load_network, save_network
from evsim.model import GoldenRecord, InitialState, Layer, LayerInit, Network, Projection, Readout

from conftest import TEST_DATA, tiny_network


def assert_same_network(a: Network, b: Network) -> None:
    assert (a.name, a.n_inputs, a.dt, a.discretization, a.metadata) == (b.name, b.n_inputs, b.dt, b.discretization, b.metadata)
    assert a.readout == b.readout and a.initial_state == b.initial_state
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert (la.name, la.size, la.neuron, la.options) == (lb.name, lb.size, lb.neuron, lb.options)
        assert la.params.keys() == lb.params.keys()
        for key in la.params:
            assert np.array_equal(la.params[key], lb.params[key])
    for pa, pb in zip(a.projections, b.projections, strict=True):
        assert (pa.source, pa.target, pa.delay) == (pb.source, pb.target, pb.delay)
        assert np.array_equal(pa.weight, pb.weight) and np.array_equal(pa.bias, pb.bias)
    assert len(a.golden) == len(b.golden)
    for ga, gb in zip(a.golden, b.golden):
        assert np.array_equal(ga.input, gb.input) and np.array_equal(ga.output, gb.output)
        assert (ga.init, ga.label, ga.tolerance) == (gb.init, gb.label, gb.tolerance)


def test_round_trip_is_exact_with_every_field(tmp_path):
    net = tiny_network(
        initial_state=InitialState(default=LayerInit("uniform", "b_j0"), layers={"o": LayerInit("zeros")}),
        metadata={"task": "ecg", "claimed_accuracy": 0.85, "training": {"epochs": 3}},
        golden=[GoldenRecord(np.eye(5, 2), np.arange(10.0).reshape(5, 2) / 7, label=1, tolerance=1e-6)],
        dt=0.5,
    )
    path = tmp_path / "m.h5"
    save_network(net, path)
    assert_same_network(net, load_network(path))


@pytest.mark.parametrize("name", ["ecg_icons2020", "shd_nmi2021", "ssc_nmi2021"])
def test_paper_models_round_trip(paper_network, tmp_path, name):
    net = paper_network(name)
    save_network(net, tmp_path / "m.h5")
    assert_same_network(net, load_network(tmp_path / "m.h5"))


def test_importer_honours_manifest_fields(paper_network):
    ecg = paper_network("ecg_icons2020")
    assert np.all(ecg.layers[0].tau_mem == 20.0), "constant tau_m from the manifest"
    assert ecg.layers[0].neuron == "lif" and ecg.layers[0].options == {"reset": "subtract", "reset_at": "next-step", "max_spikes": 1}
    ssc = paper_network("ssc_nmi2021")
    assert ssc.initial_state.for_layer("o").mem == "zeros" and ssc.initial_state.default.mem == "uniform"
    assert ssc.layers[2].neuron == "li" and set(ssc.layers[2].params) == {"tau_mem", "r", "v_leak"}, "an integrator's tau_adp is present in the file but unused"
    assert ssc.layers[2].coefficients(1.0, "exact")[:, 0].max() < 1e-8, "tau_m of 0.02 makes alpha ~0 without crashing"
    assert ssc.readout.aggregate == "mean" and ssc.readout.from_step == 1


def test_builtin_paper_model_is_what_the_importer_makes_of_the_manifest():
    """The shipped ecg_icons2020.h5 is exactly `evsim import` of the authors' manifest (tests/data)."""
    from evsim import api
    from evsim.formats.manifest import import_manifest

    imported = import_manifest(TEST_DATA / "paper-models" / "ecg_icons2020.json")
    shipped, integrity = api.load_model("ecg_icons2020")
    assert integrity == "verified"
    imported.metadata["imported_from"] = shipped.metadata["imported_from"]  # the path it was run from
    assert_same_network(imported, shipped)
    with np.load(TEST_DATA / "paper-models" / "ecg_icons2020.npz") as z:
        # the recurrent projection h->h is the checkpoint's float32 h2h.weight, widened exactly
        assert np.array_equal(shipped.projections[1].weight, z["h2h.weight"].astype(np.float64))


def test_manifest_with_b_j0_scale_and_constant_parameters(tmp_path):
    manifest = {
        "name": "m",
        "layers": [
            {"name": "h", "size": 2, "neuron": "alif", "beta": 1.8, "b_j0": 0.2, "tau_m": 0.5, "tau_adp": "ta",
             "inputs": [{"from": "input", "weight": "w", "bias": "b", "delay": 0}]},
        ],
        "readout": {"layer": "h", "variable": "spike", "aggregate": "sum", "from_step": 0},
        "initial_state": {"*": {"mem": "uniform", "scale": "b_j0"}},
    }
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    np.savez(tmp_path / "m.npz", ta=np.array([3.0, 4.0], np.float32), w=np.ones((2, 3), np.float32), b=np.zeros(2, np.float32))
    from evsim.formats.manifest import import_manifest
    from evsim.model import initial_state

    net = import_manifest(tmp_path / "m.json")
    state = initial_state(net, np.arange(50), "paper", seed=0)
    assert 0 < state[0].mem.max() <= 0.2, "U(0,1) scaled by b_j0"
    assert np.array_equal(state[0].spike, state[0].mem)


def test_torch_state_dict_import_matches_npz(tmp_path):
    import torch

    from evsim.formats.manifest import import_manifest

    folder = TEST_DATA / "paper-models"
    with np.load(folder / "ecg_icons2020.npz") as z:
        torch.save({k: torch.from_numpy(z[k]) for k in z.files}, tmp_path / "ecg.pth")
    net = import_manifest(folder / "ecg_icons2020.json", tmp_path / "ecg.pth")
    ref = import_manifest(folder / "ecg_icons2020.json")
    for a, b in zip(net.projections, ref.projections, strict=True):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
    for a, b in zip(net.layers, ref.layers, strict=True):
        assert a.neuron == b.neuron and a.params.keys() == b.params.keys() and a.options == b.options
        for key in a.params:
            assert np.array_equal(a.params[key], b.params[key]), (a.name, key)


# ---- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Layer("h", 3, "alif", tau_m=[1.0, np.nan, 2.0], tau_adp=5.0, b_j0=0.1), "tau_m: 1 value(s) are NaN"),
        (lambda: Layer("h", 3, "alif", tau_m=[1.0, 0.0, 2.0], tau_adp=5.0, b_j0=0.1), "tau_m must be positive"),
        (lambda: Layer("h", 3, "alif", tau_m=1.0, tau_adp=-5.0, b_j0=0.1), "tau_adp must be positive"),
        (lambda: Layer("h", 3, "alif", tau_m=1.0, tau_adp=[1.0, 2.0], b_j0=0.1), "expected 3 values"),
        (lambda: Layer("h", 3, "izhikevich", tau_m=1.0), "unknown neuron type"),
        (lambda: Layer("input", 3, "lif", tau_mem=1.0, v_threshold=0.1), "layer name"),
        (lambda: Layer("h", 3, "lif", tau_mem=1.0, v_threshold=0.1, beta=1.8), "lif has no parameter(s) beta"),
        (lambda: Layer("h", 3, "lif", tau_mem=1.0), "needs v_threshold"),
        (lambda: Layer("h", 3, "lif", tau_mem=1.0, v_threshold=0.1, reset="hard"), "option reset must be one of"),
        (lambda: Layer("h", 3, "cuba-lif", tau_syn=2.0, tau_mem=1.0, v_threshold=0.1, max_spikes=0), "max_spikes must be an integer in 1..255"),
        (lambda: tiny_network(layers=[Layer("h", 3, "lif", tau_mem=5.0, v_threshold=0.1, max_spikes=3, reset="zero"), tiny_network().layers[1]]), "max_spikes > 1 needs reset 'subtract'"),
        (lambda: tiny_network(discretization="euler", layers=[Layer("h", 3, "lif", tau_mem=0.5, v_threshold=0.1), tiny_network().layers[1]]), "euler discretization needs tau_mem >= dt"),
        (lambda: tiny_network(discretization="rk4"), "discretization must be one of"),
        (lambda: Projection("input", "h", np.ones((3, 2)), np.ones(2)), "bias has shape"),
        (lambda: Projection("input", "h", np.full((3, 2), np.inf), np.ones(3)), "NaN or infinite"),
        (lambda: Projection("input", "h", np.ones((3, 2)), np.ones(3), delay=-1), "delay must be an integer in 0..4096"),
        (lambda: tiny_network(projections=tiny_network().projections[:2] + [Projection("h", "o", np.ones((2, 4)), np.zeros(2))]), "expected (2, 3)"),
        (lambda: tiny_network(projections=tiny_network().projections + [Projection("o", "h", np.ones((3, 2)), np.zeros(3), 1)]), "non-spiking (li) layer"),
        (lambda: tiny_network(projections=[Projection("input", "h", np.ones((3, 2)), np.zeros(3)), Projection("h", "h", np.ones((3, 3)), np.zeros(3), 0), Projection("h", "o", np.ones((2, 3)), np.zeros(2))]), "delay 0 needs a source updated earlier"),
        (lambda: tiny_network(readout=Readout("x")), "readout: layer 'x' does not exist"),
        (lambda: Readout("o", aggregate="median"), "aggregate must be one of"),
    ],
)
def test_model_validates_itself(build, message):
    with pytest.raises(EvsimError) as info:
        build()
    assert message in str(info.value)


# ---- bad files through the CLI: one line on stderr, exit 2, no traceback ----------------------


def one_line_error(code, out, err, *fragments):
    assert code == 2, (code, out, err)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "tiny.h5"
    save_network(tiny_network(), path)
    return path


def edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)
    return path


def test_missing_file(cli, tmp_path):
    one_line_error(*cli("info", tmp_path / "nope.h5"), "nope.h5", "file not found")


def test_not_hdf5(cli, tmp_path):
    p = tmp_path / "bad.h5"
    p.write_text("hello, I am not HDF5")
    one_line_error(*cli("info", p), "bad.h5", "not an HDF5 file")


def test_truncated(cli, model_file):
    data = model_file.read_bytes()
    model_file.write_bytes(data[: len(data) // 2])
    one_line_error(*cli("info", model_file), "tiny.h5")


def test_missing_dataset(cli, model_file):
    edit(model_file, lambda f: f.__delitem__("projections/1/weight"))
    one_line_error(*cli("info", model_file), "/projections/1/weight", "missing")


def test_wrong_shape(cli, model_file):
    def change(f):
        del f["projections/0/weight"]
        f["projections/0/weight"] = np.ones((3, 5))

    edit(model_file, change)
    one_line_error(*cli("info", model_file), "/projections/0/weight", "expected shape (3, 2), found (3, 5)")


def test_nan_parameter(cli, model_file):
    edit(model_file, lambda f: f["layers/h/params/tau_adp"].__setitem__(1, np.nan))
    one_line_error(*cli("info", model_file), "/layers/h/params/tau_adp", "NaN")


def test_non_positive_time_constant(cli, model_file):
    edit(model_file, lambda f: f["layers/o/params/tau_mem"].__setitem__(0, -2.0))
    one_line_error(*cli("info", model_file), "layer 'o'", "tau_mem must be positive")


def test_unknown_parameter_and_bad_options(cli, model_file, tmp_path):
    import shutil

    other = tmp_path / "other.h5"
    shutil.copy(model_file, other)
    edit(model_file, lambda f: f["layers/o/params"].create_dataset("tau_adp", data=np.ones(2)))
    one_line_error(*cli("info", model_file), "/layers/o/params", "li has no parameter(s) tau_adp")
    edit(other, lambda f: f["layers/h"].attrs.__setitem__("options", '{"reset": "zero"}'))
    one_line_error(*cli("info", other), "layer 'h'", "alif has no option(s) reset")


def test_hostile_size(cli, model_file):
    edit(model_file, lambda f: f["layers/h"].attrs.__setitem__("size", 10**12))
    one_line_error(*cli("info", model_file), "outside 1..16777216")


def test_wrong_format_version(cli, model_file):
    edit(model_file, lambda f: f.attrs.__setitem__("format_version", 99))
    one_line_error(*cli("info", model_file), "format_version 99 is not supported")


def test_input_width_does_not_fit_task(cli, model_file, data_dir):
    one_line_error(*cli("run", "--weights", model_file, "--task", "ecg", "--data", data_dir), "4 input channels", "expects 2")


def test_missing_data_directory_with_a_real_model(cli, paper_network, tmp_path):
    path = tmp_path / "ecg.h5"
    save_network(paper_network("ecg_icons2020"), path)
    one_line_error(*cli("run", "--weights", path, "--task", "ecg", "--data", tmp_path / "none"), "does not exist")


def test_unknown_task_and_bad_option(cli, model_file):
    one_line_error(*cli("run", "--weights", model_file, "--task", "nope"), "unknown task 'nope'")
    one_line_error(*cli("run", "--weights", model_file, "--task", "random", "--density", "lots"), "not a valid float")


def test_broken_manifest(cli, tmp_path):
    (tmp_path / "m.json").write_text("{not json")
    one_line_error(*cli("import", tmp_path / "m.json", "-o", tmp_path / "m.h5"), "not a valid JSON manifest")
