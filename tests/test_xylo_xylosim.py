"""evsim's Xylo integer neuron against SynSense's bit-exact simulator, xylosim 0.1.3.

On random integer configurations (weights, matrix shifts, dashes 0..15, thresholds, biases, one
or two synaptic states, dense and sparse inputs of up to 19 events per channel and step, which
the chip clips to 15) both of evsim's integer engines must reproduce xylosim's hidden and
readout spikes, membranes and synaptic currents at every step.  Then a float model mapped onto
Xylo by evsim, replayed on xylosim from the configuration evsim exports.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from xylosim_peer import run_xylosim

from evsim.engines import fixed
from evsim.events import EventBatch
from evsim.formats.xylo_config import XyloConfig
from evsim.hardware.xylo import record_from_config

N_CONFIGS = 210


def random_config(rng) -> XyloConfig:
    n_in, n_hid, n_out = (int(k) for k in (rng.integers(1, 17), rng.integers(1, 25), rng.integers(1, 9)))
    two = rng.random() < 0.5
    wmax = int(rng.choice([3, 20, 127]))

    def weights(shape, density):
        return rng.integers(-wmax, wmax + 1, size=shape) * (rng.random(shape) < density)

    saturating = rng.random() < 0.3  # low thresholds: membranes run into the int16 bounds
    top = 200 if saturating else 3000
    shape = (lambda a, b: (a, b, 2)) if two else (lambda a, b: (a, b))
    n_ien, n_oen = int(rng.integers(1, n_hid + 1)), int(rng.integers(1, n_hid + 1))
    return XyloConfig(
        weights_in=weights(shape(n_in, n_ien), rng.uniform(0.05, 1)),
        weights_rec=weights(shape(n_hid, n_hid), rng.uniform(0.05, 1)),
        weights_out=weights((n_oen, n_out), rng.uniform(0.05, 1)),
        dash_mem=rng.integers(0, 16, n_hid),
        dash_mem_out=rng.integers(0, 16, n_out),
        dash_syn=rng.integers(0, 16, n_hid),
        dash_syn_2=rng.integers(0, 16, n_hid),
        dash_syn_out=rng.integers(0, 16, n_out),
        threshold=rng.integers(-5 if rng.random() < 0.05 else 1, top, n_hid),
        threshold_out=rng.integers(1, top, n_out),
        bias=rng.integers(-2000, 2000, n_hid) * (rng.random() < 0.5),
        bias_out=rng.integers(-2000, 2000, n_out) * (rng.random() < 0.5),
        weight_shift_in=int(rng.integers(0, 8)),
        weight_shift_rec=int(rng.integers(0, 8)),
        weight_shift_out=int(rng.integers(0, 8)),
    )


def evsim_traces(result, b: int) -> dict[str, np.ndarray]:
    hid, out = 0, 1
    as64 = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731
    return {"spikes": as64(result.spikes[hid][b]), "spikes_out": as64(result.spikes[out][b]), "v": result.mem[hid][b],
            "i": result.syn[hid][b], "i2": result.syn2[hid][b], "v_out": result.mem[out][b], "i_out": result.syn[out][b]}


def test_random_configurations_equal_xylosim_bit_for_bit():
    rng = np.random.default_rng(2024)
    seen = {"multi_spike_steps": 0, "membrane_at_bound": 0, "current_overflows": 0, "two_synapses": 0, "readout_spikes": 0}
    for c in range(N_CONFIGS):
        cfg = random_config(rng)
        steps = int(rng.integers(5, 40))
        density = rng.choice([0.02, 0.2, 0.9])
        raw = rng.integers(0, 20, size=(2, steps, cfg.n_inputs)) * (rng.random((2, steps, cfg.n_inputs)) < density)
        chip = np.minimum(raw, 15)  # what the chip receives (XyloLayer clips to MAX_NUM_INP_SPIKES)
        rec, _ = record_from_config(cfg)
        results = {
            "event": fixed.simulate(rec, EventBatch.from_dense(chip.astype(float)), record_spikes=True, record_mem=True),
            "reference": fixed.simulate_reference(rec, chip, record_spikes=True, record_mem=True),
        }
        assert results["event"].counts.equals(results["reference"].counts)
        assert np.array_equal(results["event"].overflow, results["reference"].overflow)
        for b in range(2):
            peer = run_xylosim(cfg, raw[b])  # the raw counts: xylosim clips them itself
            for engine, result in results.items():
                mine = evsim_traces(result, b)
                for name, expected in peer.items():
                    assert np.array_equal(mine[name], expected), f"config {c}, sample {b}, {engine}: {name} differs"
            seen["multi_spike_steps"] += int((peer["spikes"] > 1).sum())
            seen["membrane_at_bound"] += int(np.isin(peer["v"], (-(1 << 15), (1 << 15) - 1)).sum())
            seen["readout_spikes"] += int(peer["spikes_out"].sum())
        seen["current_overflows"] += int(results["event"].overflow[:, :, 0].sum())
        seen["two_synapses"] += cfg.synapses == 2
    # the cases the configurations were drawn to reach did occur
    assert all(v > 0 for v in seen.values()), seen


def xylo_model(seed: int = 11):
    """A model Xylo can run: 4 inputs -> 24 cuba-lif (recurrent) -> 16 lif -> 6 cuba-li readout,
    euler decays with time constants that are powers of two (exact dashes), a bias on the second
    layer, every projection out of a hidden layer one step late as on the chip."""
    from evsim.model import Layer, Network, Projection, Readout

    rng = np.random.default_rng(seed)
    layers = [
        Layer("h1", 24, "cuba-lif", tau_syn=4.0, tau_mem=16.0, v_threshold=1.0, max_spikes=31, update="sequential"),
        Layer("h2", 16, "lif", tau_mem=8.0, v_threshold=0.5, max_spikes=31),
        Layer("o", 6, "cuba-li", tau_syn=2.0, tau_mem=32.0, update="sequential"),
    ]
    projections = [
        Projection("input", "h1", rng.normal(0, 3.0, (24, 4)), np.zeros(24)),
        Projection("h1", "h1", rng.normal(0, 0.4, (24, 24)) * (rng.random((24, 24)) < 0.5), np.zeros(24), 1),
        Projection("h1", "h2", rng.normal(0.2, 0.8, (16, 24)), rng.normal(0, 0.02, 16), 1),
        Projection("h2", "o", rng.normal(0, 1.0, (6, 16)), np.zeros(6), 1),
    ]
    return Network("xylo-test", 4, layers, projections, Readout("o", "mem", "per_step"), discretization="euler")


def test_a_mapped_model_replays_on_xylosim_from_its_exported_config(cli, data_dir, tmp_path):
    """A model with a lif layer (Xylo's shortest synaptic current stands in) and a membrane bias:
    evsim audit --export-config writes the configuration; xylosim built from that file, fed the
    inputs as the chip receives them, reproduces evsim's hidden and readout traces (24 QTDB test
    sequences of 1301 steps)."""
    from evsim import audit
    from evsim.formats.h5 import save_network
    from evsim.formats.xylo_config import load_xylo_config
    from evsim.hardware.xylo import chip_events
    from evsim.tasks import open_task

    net = xylo_model()
    save_network(net, tmp_path / "m.h5")
    code, out, err = cli("audit", "--weights", tmp_path / "m.h5", "--task", "ecg", "--data", data_dir, "--profile", "xylo-audio2",
                         "--limit", "2", "--export-config", tmp_path / "cfg.npz", "--json")
    assert code == 0, err
    report = json.loads(out)
    energy = report["energy_per_inference_j"]
    assert energy["total"] == pytest.approx(291e-6 * 1301 * 0.004)  # Bos & Muir's 291 uW over 1301 steps of 4 ms
    assert energy["modelled"]["cycles_per_step"] > 0 and energy["measured"]["dynamic_power_w"] == pytest.approx(291e-6)
    assert report["quantization"]["xylo"]["scheme"] == "global"
    assert report["chip_inputs"] == {"clipped": 0, "dropped_negative": 2}  # QTDB's -1 in each sequence's last step
    cfg = load_xylo_config(tmp_path / "cfg.npz")
    assert cfg.dt == 0.004 and cfg.n_hidden == 40 and cfg.n_outputs == 6
    hw = audit.prepare_hardware(net, "xylo-audio2")
    population = {name: slice(*span) for name, span in hw.quantized.report["xylo"]["hidden_population"].items()}
    spikes = {"h1": 0, "h2": 0}
    for batch in open_task("ecg", data_dir).batches(24, limit=24):
        events, counts = chip_events(batch.inputs, 15)
        assert counts["clipped"] == 0 and counts["dropped_negative"] == len(batch.sample_ids)  # QTDB's -1 artefact
        mine = fixed.simulate(hw.quantized.record, events, record_spikes=True, record_mem=True)
        raster = events.to_dense().astype(np.int64)
        for b in range(len(batch.sample_ids)):
            peer = run_xylosim(cfg, raster[b])
            for li, name in enumerate(("h1", "h2")):
                sl = population[name]
                assert np.array_equal(mine.spikes[li][b], peer["spikes"][:, sl])
                assert np.array_equal(mine.mem[li][b], peer["v"][:, sl]) and np.array_equal(mine.syn[li][b], peer["i"][:, sl])
                spikes[name] += int(peer["spikes"][:, sl].sum())
            assert np.array_equal(mine.mem[2][b], peer["v_out"]) and np.array_equal(mine.syn[2][b], peer["i_out"])
            assert not peer["spikes_out"].any()  # an integrating readout: threshold 32767, never reached
    assert spikes["h1"] > 3_000 and spikes["h2"] > 1_000  # both layers busy


def test_ecg_xylo_replays_on_xylosim_over_the_qtdb_test_set(cli, data_dir, tmp_path):
    """weights/ecg-xylo.h5 on Xylo Audio 2 with weight shift 2 (a user profile): the files evsim
    writes (--export-config, --record) replay on xylosim identically, and on all 141 QTDB test
    sequences xylosim's traces equal evsim's at every step; scored from xylosim's readout the model
    reaches 82.24%, the figure its trainer measured on xylosim with their own mapping
    (weights/README.md)."""
    from pathlib import Path

    from evsim import audit
    from evsim.formats.h5 import load_network
    from evsim.formats.xylo_config import load_xylo_config
    from evsim.hardware.xylo import chip_events
    from evsim.model import decide
    from evsim.tasks import open_task
    from evsim.traces import read_sample

    weights = Path(__file__).resolve().parents[1] / "weights" / "ecg-xylo.h5"
    shipped = (Path(audit.__file__).parent / "hardware" / "profiles" / "xylo-audio2.toml").read_text()
    assert "\nshift = 0 " in shipped
    profile = tmp_path / "xylo-shift2.toml"
    profile.write_text(shipped.replace('name = "xylo-audio2"', 'name = "xylo-shift2"').replace("\nshift = 0 ", "\nshift = 2 "))
    code, out, err = cli("audit", "--weights", weights, "--task", "ecg", "--data", data_dir, "--profile", profile, "--limit", "3",
                         "--export-config", tmp_path / "cfg.npz", "--record", tmp_path / "rec", "--json")
    assert code == 0, err
    assert json.loads(out)["violations"] == []
    cfg = load_xylo_config(tmp_path / "cfg.npz")
    assert (cfg.weight_shift_in, cfg.weight_shift_rec, cfg.weight_shift_out) == (2, 2, 2)
    net = load_network(weights)
    hw = audit.prepare_hardware(net, str(profile))
    population = {name: slice(*span) for name, span in hw.quantized.report["xylo"]["hidden_population"].items()}
    hidden = [layer.name for layer in net.layers if layer.name != net.readout.layer]
    for i in range(3):  # the recorded files, replayed
        rec = read_sample(tmp_path / "rec" / f"sample_{i}.npz")
        peer = run_xylosim(cfg, rec["input.spikes"])
        for name in hidden:
            for kind, key in (("spikes", "spikes"), ("v", "v"), ("i", "i"), ("i2", "i2")):
                assert np.array_equal(rec[f"{name}.{kind}"], peer[key][:, population[name]]), (i, name, kind)
        assert np.array_equal(rec["o.v"], peer["v_out"]) and np.array_equal(rec["o.i"], peer["i_out"])
    hit = total = hit_evsim = 0
    for batch in open_task("ecg", data_dir).batches(48):  # every test sequence, through the API
        events, _ = chip_events(batch.inputs, 15)
        mine = fixed.simulate(hw.quantized.record, events, record_spikes=True, record_mem=True)
        raster = events.to_dense().astype(np.int64)
        v_out = np.zeros((len(batch.sample_ids), raster.shape[1], cfg.n_outputs), dtype=np.int64)
        for b in range(len(batch.sample_ids)):
            peer = run_xylosim(cfg, raster[b])
            for li, name in enumerate(hidden):
                sl = population[name]
                assert np.array_equal(mine.spikes[li][b], peer["spikes"][:, sl]) and np.array_equal(mine.mem[li][b], peer["v"][:, sl])
                assert np.array_equal(mine.syn[li][b], peer["i"][:, sl])
            assert np.array_equal(mine.mem[-1][b], peer["v_out"]) and np.array_equal(mine.syn[-1][b], peer["i_out"])
            v_out[b] = peer["v_out"]
        scored = batch.labels[:, 10:]
        hit += int((decide(net.readout, v_out.astype(float))[:, 10:] == scored).sum())  # one readout scale: argmax of the integers
        hit_evsim += int((decide(net.readout, mine.trace)[:, 10:] == scored).sum())
        total += scored.size
    assert hit == hit_evsim and hit / total == pytest.approx(0.8224, abs=5e-5)
