"""netx HDF5 files (lava-dl): reading lava-dl's own PilotNet file, writing what netx reads, and one
line for every file or selection evsim cannot import."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from evsim.errors import EvsimError
from evsim.formats.netx import NetxFile, NetxLayer, NetxNeuron, parse_layers, read_netx, select, write_netx

DATA = Path(__file__).parent / "data" / "lava-dl-netx"
PILOT = DATA / "pilotnet_lif" / "network.net"


def readme_fields() -> dict[str, set[str]]:
    """The fields netx's README lists per layer type (its 'Supported layer types' block)."""
    text = (DATA / "netx_README.md").read_text()
    block = text.split("### Supported layer types", 1)[1].split("```")[1]
    fields: dict[str, set[str]] = {}
    for m in re.finditer(r"^(\w+)\s*:\s*\{([^}]*)\}", block, re.M):
        names = {f.strip().split("(")[0].strip() for f in m.group(2).replace("\n", " ").split(",")}
        fields[m.group(1)] = {n for n in names if n and not n.startswith("|")}
    compartment = re.search(r"\{(iDecay[^}]*)\}", block).group(1)
    fields["neuron"] = {f.strip() for f in compartment.split(",") if f.strip() and "..." not in f}
    return fields


def test_readme_lists_what_we_compare_against():
    f = readme_fields()
    assert f["dense"] == {"shape", "type", "neuron", "inFeatures", "outFeatures", "weight", "delay"}
    assert f["input"] == {"shape", "type"} and f["flatten"] == {"shape", "type"}
    assert f["neuron"] == {"iDecay", "vDecay", "vThMant", "refDelay"}


def test_read_pilotnet():
    nx = read_netx(PILOT)
    assert [layer.type for layer in nx.layers] == ["input"] + ["conv"] * 5 + ["flatten"] + ["dense"] * 4
    fc0 = nx.layers[7]
    assert fc0.shape == (100, 1, 1) and fc0.weight.shape == (100, 2560) and fc0.weight.dtype == np.int64
    with h5py.File(PILOT, "r") as f:
        assert np.array_equal(fc0.weight, f["layer/7/weight"][()].astype(np.int64))
        assert np.array_equal(fc0.bias, f["layer/7/bias"][()].astype(np.int64))
    n = fc0.neuron
    assert (n.type, int(n.i_decay), int(n.v_decay), int(n.vth_mant), n.ref_delay) == ("LOIHI", 4096, 1024, 25, 1)
    assert set(n.extra) == {"scaleRho", "tauRho", "theta", "wgtExp"}  # LOIHI extras netx ignores
    assert int(nx.layers[10].neuron.v_decay) == 0 and int(nx.layers[10].neuron.vth_mant) == 131071
    assert (nx.ts, nx.t_sample) == (1, 16)


def test_the_whole_pilotnet_is_refused_naming_the_first_conv_layer():
    nx = read_netx(PILOT)
    with pytest.raises(EvsimError) as e:
        select(nx, None)
    msg = str(e.value)
    assert "\n" not in msg and "layer 1 ('conv')" in msg and "dense layers here: 7..10" in msg and "--layers" in msg


def test_layers_selects_a_dense_sub_stack():
    nx = read_netx(PILOT)
    chosen, n_inputs = select(nx, parse_layers("7:11", len(nx.layers)))
    assert [layer.index for layer in chosen] == [7, 8, 9, 10] and n_inputs == 2560
    chosen, n_inputs = select(nx, parse_layers("6:9", len(nx.layers)))  # from the flatten
    assert [layer.index for layer in chosen] == [6, 7, 8] and n_inputs == 2560
    chosen, n_inputs = select(nx, parse_layers("8:", len(nx.layers)))
    assert [layer.index for layer in chosen] == [8, 9, 10] and n_inputs == 100
    with pytest.raises(EvsimError, match=r"layer 5 \('conv'\) is not supported"):
        select(nx, parse_layers("5:11", len(nx.layers)))
    with pytest.raises(EvsimError, match="hold no dense layer"):
        select(nx, parse_layers("6:7", len(nx.layers)))


@pytest.mark.parametrize("spec", ["7", "7:11:2", "a:b", "11:7", "7:12", "-1:3"])
def test_bad_layer_ranges(spec):
    with pytest.raises(EvsimError, match="--layers"):
        parse_layers(spec, 11)


def _small(rec=False) -> NetxFile:
    rng = np.random.default_rng(0)
    neuron = NetxNeuron("CUBA", np.int64(1024), np.int64(128), np.int64(80))
    hidden = NetxLayer(
        index=1, type="dense_rec" if rec else "dense", shape=(5, 1, 1), neuron=neuron,
        weight=rng.integers(-128, 128, (5, 3)), weight_rec=rng.integers(-128, 128, (5, 5)) if rec else None,
        bias=rng.integers(-50, 50, 5), in_features=3, out_features=5,
    )  # fmt: skip
    out = NetxLayer(index=2, type="dense", shape=(2, 1, 1), neuron=neuron, weight=rng.integers(-128, 128, (2, 5)), in_features=5, out_features=2)
    return NetxFile(layers=[NetxLayer(index=0, type="input", shape=(3, 1, 1)), hidden, out], ts=1, t_sample=100)


@pytest.mark.parametrize("rec", [False, True])
def test_written_records_read_back_identically(tmp_path, rec):
    nx = _small(rec)
    write_netx(nx, tmp_path / "n.net")
    back = read_netx(tmp_path / "n.net")
    for a, b in zip(nx.layers, back.layers, strict=True):
        assert (a.type, a.shape, a.in_features, a.out_features) == (b.type, b.shape, b.in_features, b.out_features)
        for key in ("weight", "weight_rec", "bias"):
            x, y = getattr(a, key), getattr(b, key)
            assert (x is None and y is None) or np.array_equal(x, y)
        if a.neuron is not None:
            assert (a.neuron.type, int(a.neuron.i_decay), int(a.neuron.v_decay), int(a.neuron.vth_mant)) == (
                b.neuron.type, int(b.neuron.i_decay), int(b.neuron.v_decay), int(b.neuron.vth_mant))  # fmt: skip
    assert (back.ts, back.t_sample) == (1, 100)


def assert_netx_layout(path) -> None:
    """Field for field: the README's fields per layer type are present, nothing the README and
    slayer's export do not write is added (slayer writes `bias` beside them, and `weight_rec`
    for dense_rec), and each field has the shape kind and dtype kind of the same field in
    lava-dl's own PilotNet file."""
    spec = readme_fields()
    with h5py.File(path, "r") as f, h5py.File(PILOT, "r") as ref:
        assert set(f) == {"layer", "simulation"} and set(f["simulation"]) <= {"Ts", "tSample"} and "Ts" in f["simulation"]
        for key in f["layer"]:
            g = f["layer"][key]
            kind = g["type"][0].decode()
            readme_kind = "dense" if kind == "dense_rec" else kind
            ref_g = ref["layer/0" if kind == "input" else "layer/7"]
            required = spec[readme_kind] - {"delay"}  # delay: "if available"
            assert required <= set(g), (kind, set(g))
            extra = set(g) - spec[readme_kind] - {"bias", "weight_rec"}
            assert not extra, extra
            for name in g:
                if isinstance(g[name], h5py.Dataset) and name in ref_g:
                    a, b = g[name], ref_g[name]
                    assert (a.shape == ()) == (b.shape == ()), name
                    assert a.dtype.kind == b.dtype.kind or {a.dtype.kind, b.dtype.kind} <= {"S", "O"}, (name, a.dtype, b.dtype)
            assert g["type"].shape == (1,) and g["type"].dtype == np.dtype("S10")
            if readme_kind == "dense":
                assert spec["neuron"] <= set(g["neuron"])
                for name in spec["neuron"]:
                    assert g["neuron"][name].shape == ref_g["neuron"][name].shape == ()
                    assert g["neuron"][name].dtype == ref_g["neuron"][name].dtype == np.int64
                assert g["neuron/type"][()] == b"CUBA"
                assert g["weight"].shape == (int(g["outFeatures"][()]), int(g["inFeatures"][()]))


@pytest.mark.parametrize("rec", [False, True])
def test_written_layout_matches_the_readme_and_lava_dls_own_file(tmp_path, rec):
    write_netx(_small(rec), tmp_path / "n.net")
    assert_netx_layout(tmp_path / "n.net")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda f: f["layer/1/neuron"].__delitem__("vThMant"), "missing 'vThMant'"),
        (lambda f: _replace(f, "layer/1/neuron/type", "SDNN"), "neuron type 'SDNN' is not supported"),
        (lambda f: _replace(f, "layer/1/neuron/iDecay", 5000), "iDecay must lie in 0..4096"),
        (lambda f: _replace(f, "layer/1/weight", np.full((5, 3), 0.5)), "non-integer"),
        (lambda f: _replace(f, "layer/1/weight", np.zeros((4, 3))), "expected 5 rows"),
        (lambda f: _replace(f, "layer/1/neuron/refDelay", 2), "refDelay 2"),
        (lambda f: f.__delitem__("layer/1"), "numbered 0..1"),
    ],
)
def test_broken_files_fail_with_one_line(tmp_path, edit, message):
    path = tmp_path / "n.net"
    write_netx(_small(), path)
    with h5py.File(path, "a") as f:
        edit(f)
    with pytest.raises(EvsimError) as e:
        nx = read_netx(path)
        select(nx, None)
    assert message in str(e.value) and "\n" not in str(e.value) and str(path) in str(e.value)


def _replace(f, key, value):
    del f[key]
    f[key] = value


def test_not_hdf5(tmp_path):
    path = tmp_path / "x.net"
    path.write_text("not hdf5")
    with pytest.raises(EvsimError, match="not an HDF5 file"):
        read_netx(path)
