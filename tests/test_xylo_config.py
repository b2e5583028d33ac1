"""Xylo configurations: Rockpool's quantization schemes (checked against Rockpool 3.1 itself) and
the .npz file evsim exports for XyloSim.from_specification."""

from __future__ import annotations

import numpy as np
import pytest
from rockpool.transform import quantize_methods as rockpool_quantize

from evsim.errors import EvsimError
from evsim.formats.xylo_config import XyloConfig, load_xylo_config, save_xylo_config
from evsim.hardware.xylo import quantize_channel, quantize_global


def float_spec(rng, n_in=5, n_hid=12, n_out=3, syn=1, threshold_scale=1.0):
    shape = (lambda a, b: (a, b, 2)) if syn == 2 else (lambda a, b: (a, b))
    w_in = rng.normal(0, 1, shape(n_in, n_hid)) * (rng.random(shape(n_in, n_hid)) < 0.7)
    w_rec = rng.normal(0, 0.5, shape(n_hid, n_hid)) * (rng.random(shape(n_hid, n_hid)) < 0.3)
    return {
        "weights_in": w_in,
        "weights_rec": w_rec,
        "weights_out": rng.normal(0, 1, (n_hid, n_out)),
        "threshold": rng.uniform(0.5, 2.0, n_hid) * threshold_scale,
        "threshold_out": rng.uniform(0.5, 2.0, n_out) * threshold_scale,
        "dash_mem": rng.uniform(0.6, 6.4, n_hid),
        "dash_mem_out": rng.uniform(0.6, 6.4, n_out),
        "dash_syn": rng.uniform(0.6, 6.4, n_hid),
        "dash_syn_2": rng.uniform(0.6, 6.4, n_hid),
        "dash_syn_out": rng.uniform(0.6, 6.4, n_out),
    }


def rockpool_config(spec, method, **kw):
    out = dict(spec)
    out.update(method(**spec, **kw))
    return out


FIELDS = ("weights_in", "weights_rec", "weights_out", "threshold", "threshold_out", "dash_mem", "dash_mem_out", "dash_syn", "dash_syn_2", "dash_syn_out")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("syn", [1, 2])
def test_global_and_channel_quantization_equal_rockpools(seed, syn):
    rng = np.random.default_rng(seed)
    spec = float_spec(rng, syn=syn)
    zeros = {"bias": np.zeros(12), "bias_out": np.zeros(3)}
    for ours, theirs in ((quantize_global, rockpool_quantize.global_quantize), (quantize_channel, rockpool_quantize.channel_quantize)):
        mine = ours({**spec, **zeros})
        ref = rockpool_config(spec, theirs)
        for name in FIELDS:
            assert np.array_equal(getattr(mine, name), np.asarray(ref[name]).reshape(getattr(mine, name).shape)), (ours.__name__, name)
        assert mine.synapses == syn


def test_biases_take_their_own_layer_scale():
    """Rockpool 3.1's global_quantize scales readout biases by the hidden scale; evsim by the readout's."""
    rng = np.random.default_rng(3)
    spec = float_spec(rng)
    spec["bias"] = rng.uniform(-0.5, 0.5, 12)
    spec["bias_out"] = rng.uniform(-0.5, 0.5, 3)
    cfg = quantize_global(spec)
    top_out = max(np.abs(spec["weights_out"]).max(), np.abs(spec["bias_out"]).max())
    assert np.array_equal(cfg.bias_out, np.round(spec["bias_out"] * 127 / top_out).astype(int))
    assert np.array_equal(cfg.threshold_out, np.round(spec["threshold_out"] * 127 / top_out).astype(int))
    ref = rockpool_config(spec, rockpool_quantize.global_quantize)
    assert np.array_equal(cfg.bias, ref["bias"]) and np.array_equal(cfg.weights_out, ref["weights_out"])


@pytest.mark.parametrize("ours, theirs", [(quantize_global, rockpool_quantize.global_quantize), (quantize_channel, rockpool_quantize.channel_quantize)])
def test_a_threshold_beyond_int16_limits_the_scale(ours, theirs):
    """Thresholds 1000x the weights: the largest becomes 32767 and the weights shrink with it.
    Rockpool rounds the weights twice on this path (global), so the two may differ by one; its
    global_quantize also shrinks the recurrent weights a second time by the readout's factor,
    which evsim does not (they keep the hidden neurons' scale, that of their thresholds)."""
    rng = np.random.default_rng(5)
    spec = float_spec(rng, threshold_scale=1000.0)
    mine = ours({**spec, "bias": np.zeros(12), "bias_out": np.zeros(3)})
    ref = rockpool_config(spec, theirs)
    assert mine.threshold.max() == 32767 and mine.threshold_out.max() == 32767
    names = ["weights_in", "weights_out", "threshold", "threshold_out"] + (["weights_rec"] if ours is quantize_channel else [])
    for name in names:
        assert np.abs(getattr(mine, name) - np.asarray(ref[name]).reshape(getattr(mine, name).shape)).max() <= 1, name
    if ours is quantize_global:
        scale = 32767 / spec["threshold"].max()
        assert np.abs(mine.weights_rec - spec["weights_rec"] * scale).max() <= 0.5


def test_config_file_round_trip_and_errors(tmp_path):
    cfg = quantize_global({**float_spec(np.random.default_rng(0), syn=2), "bias": np.zeros(12), "bias_out": np.zeros(3)}, dt=4e-3)
    path = tmp_path / "cfg.npz"
    save_xylo_config(cfg, path)
    with np.load(path) as z:  # what a user hands to XyloSim.from_specification
        assert set(z.files) == set(cfg.to_dict()) and z["weights_in"].shape == (5, 12, 2) and z["dt"] == 4e-3
    back = load_xylo_config(path)
    for name, value in cfg.to_dict().items():
        assert np.array_equal(getattr(back, name), value), name
    d = cfg.to_dict()
    d["weights_rec"] = d["weights_rec"] * 10
    np.savez(tmp_path / "bad.npz", **d)
    with pytest.raises(EvsimError, match=r"bad\.npz: xylo config: weights_rec must lie in -128\.\.127"):
        load_xylo_config(tmp_path / "bad.npz")
    d = cfg.to_dict()
    del d["threshold"]
    np.savez(tmp_path / "short.npz", **d)
    with pytest.raises(EvsimError, match="missing field"):
        load_xylo_config(tmp_path / "short.npz")
    with pytest.raises(EvsimError, match="dash_mem has shape"):
        XyloConfig(**{**cfg.to_dict(), "dash_mem": cfg.dash_mem[:3]})


def rockpool_cycle_models():
    """Rockpool's power_cycles_model modules, loaded on their own: their package imports samna (the
    closed-source chip driver), which the models use only for a type annotation."""
    import importlib.util
    import sys
    import types
    from types import SimpleNamespace as NS

    import rockpool

    fake = types.ModuleType("samna")
    for chip in ("xyloCore2", "xyloImu", "xyloAudio3"):
        setattr(fake, chip, NS(configuration=NS(XyloConfiguration=object)))
    saved = sys.modules.get("samna")
    sys.modules["samna"] = fake
    try:
        models = []
        for chip in ("syns61201", "syns63300"):
            spec = importlib.util.spec_from_file_location(f"rockpool_cycles_{chip}", f"{rockpool.__path__[0]}/devices/xylo/{chip}/power_cycles_model.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            models.append(module.cycles_model)
        return models
    finally:
        if saved is None:
            del sys.modules["samna"]
        else:
            sys.modules["samna"] = saved


def test_cycle_model_equals_rockpools():
    from types import SimpleNamespace as NS

    from evsim.hardware.xylo import cycles_per_step

    audio2, audio3_imu = rockpool_cycle_models()
    rng = np.random.default_rng(0)
    for _ in range(20):
        n_in, n_hid, n_out = (int(k) for k in (rng.integers(1, 17), rng.integers(2, 60), rng.integers(1, 9)))
        w_in = rng.integers(-3, 4, (n_in, n_hid)) * (rng.random((n_in, n_hid)) < 0.3)
        w_rec = rng.integers(-3, 4, (n_hid, n_hid)) * (rng.random((n_hid, n_hid)) < 0.2)
        w_out = rng.integers(-3, 4, (n_hid, n_out)) * (rng.random((n_hid, n_out)) < 0.3)
        z = lambda n: np.zeros(n, int)  # noqa: E731
        cfg = XyloConfig(w_in, w_rec, w_out, z(n_hid), z(n_out), z(n_hid), z(n_hid), z(n_out), z(n_hid) + 5, z(n_out) + 5, z(n_hid), z(n_out))
        rasters = (rng.integers(0, 3, (50, n_in)) * (rng.random((50, n_in)) < 0.2),
                   rng.integers(0, 3, (50, n_hid)) * (rng.random((50, n_hid)) < 0.1), rng.integers(0, 2, (50, n_out)))
        neurons = [NS(alias_target=None) for _ in range(n_hid)]
        ref2, _ = audio2(NS(input=NS(weights=w_in), reservoir=NS(neurons=neurons, weights=w_rec), readout=NS(weights=w_out), synapse2_enable=False), *rasters)
        ref3 = audio3_imu(NS(input=NS(weights=w_in), hidden=NS(neurons=neurons, weights=w_rec), readout=NS(weights=w_out)), *rasters)
        active = [np.count_nonzero(r) / r.size for r in rasters]
        assert cycles_per_step(cfg, "xylo-audio2", *active) == pytest.approx(ref2, rel=1e-12)
        assert cycles_per_step(cfg, "xylo-audio3-imu", *active) == pytest.approx(ref3, rel=1e-12)
