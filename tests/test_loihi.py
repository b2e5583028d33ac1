"""Loihi bit for bit (issue 12): Lava's integer CUBA LIF under the `loihi`/`loihi2` profiles,
netx import and export, reset intervals, and the design-rule findings.

Every run is held to data evsim did not make: lava-dl's PilotNet recordings and the NIR paper's
Lava traces (tests/data), and the NumPy transcription of Lava in tests/lava_cuba.py, which shares
no code with evsim.  Both fixed-point engines (event-driven and dense reference) run each case.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evsim import api, audit
from evsim.engines import fixed
from evsim.errors import EvsimError
from evsim.events import EventBatch
from evsim.formats.h5 import load_network, save_network
from evsim.formats.netx import NetxFile, NetxLayer, NetxNeuron, import_netx, read_netx, write_netx
from evsim.hardware.netx_export import NetxExportError, netx_records
from evsim.hardware.profile import load_profile, profile_from_dict
from evsim.hardware.quantize import quantize
from evsim.model import Layer, Network, Projection, Readout
from evsim.neurons import lava

from lava_cuba import run_layer
from test_netx import assert_netx_layout

DATA = Path(__file__).parent / "data"
PILOT = DATA / "lava-dl-netx" / "pilotnet_lif"
NIR_LAVA = DATA / "nir-paper" / "01_lif"  # the NIR paper files (their README has the provenance)
PROBE_AT_SPIKE = 128  # a Loihi chip's voltage probe at a spike step (refDelay 1): docs/hardware.md


def both_engines(rec, x):
    """(event result, reference result) of the integer record on dense input x, recorded."""
    ev = fixed.simulate(rec, EventBatch.from_dense(x), record_spikes=True, record_mem=True)
    ref = fixed.simulate_reference(rec, x, record_mem=True)
    for a, b in zip(ev.spikes, ref.spikes, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(ev.mem, ref.mem, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(ev.syn, ref.syn, strict=True):
        assert (a is None and b is None) or np.array_equal(a, b)
    assert ev.counts.equals(ref.counts) and np.array_equal(ev.overflow, ref.overflow)
    return ev, ref


# ---- lava-dl's PilotNet LIF recordings --------------------------------------------------------


def _pilot_truth(k):
    spikes = np.load(PILOT / ("fc-3-s.npy" if k == 3 else f"fc-{k}.npy")) > 0
    return spikes, np.load(PILOT / f"fc-{k}-u.npy").astype(np.int64), np.load(PILOT / f"fc-{k}-v.npy").astype(np.int64)


def test_pilotnet_fc_stack_replays_the_recordings_on_loihi2(cli, tmp_path):
    """conv-4's spikes through netx's flatten into the imported fc-0..fc-3 (`evsim import
    network.net --layers 7:11 --reset-interval 17`): spikes and u exactly on every recorded
    step; v exactly with the chip probe's 128 at spike steps; fc-3 up to step 7, its files
    recording another run after that (tests/test_loihi_ground_truth.py locates why)."""
    code, _, err = cli("import", PILOT / "network.net", "-o", tmp_path / "p.h5", "--layers", "7:11", "--reset-interval", "17")
    assert code == 0, err
    net = load_network(tmp_path / "p.h5")
    assert [layer.name for layer in net.layers] == ["layer7", "layer8", "layer9", "layer10"]
    assert net.reset_interval == 17 and net.reset_offsets == {"layer7": 7, "layer8": 8, "layer9": 9, "layer10": 10}
    hw = audit.prepare_hardware(net, "loihi2")
    rep = hw.quantized.report
    assert rep["convention"] == "netx" and rep["emulated"] == {} and "delays_raised" not in rep
    assert all(sum(layer["clipped"].values()) == 0 and layer["weights"]["clipped"] == 0 for layer in rep["layers"].values())

    conv4 = np.load(PILOT / "conv-4.npy")  # (W, H, C, steps)
    x = conv4.transpose(2, 1, 0, 3).reshape(-1, conv4.shape[-1]).T[None].astype(np.float64)  # netx's flatten
    x = np.concatenate([x, np.zeros((1, 1, x.shape[2]))], axis=1)  # fc-3's files hold 25 steps
    ev, _ = both_engines(hw.quantized.record, x)
    for k in range(3):
        gS, gU, gV = _pilot_truth(k)
        steps = gS.shape[1]
        S, U, V = ev.spikes[k][0, :steps].T > 0, ev.syn[k][0, :steps].T, ev.mem[k][0, :steps].T
        assert np.array_equal(S, gS) and np.array_equal(U, gU)
        assert np.array_equal(np.where(S, PROBE_AT_SPIKE, V), gV)
        assert S.sum() > 0
    gS, gU, gV = _pilot_truth(3)
    S, U, V = ev.spikes[3][0].T > 0, ev.syn[3][0].T, ev.mem[3][0].T
    assert not S.any() and not gS.any()
    assert np.array_equal(U[:, :8], gU[:, :8]) and np.array_equal(V[:, :8], gV[:, :8])
    assert not np.array_equal(U[:, 8:], gU[:, 8:])  # the other run's input (ground-truth test)
    # and all of fc-3, against the transcription fed the spikes evsim's fc-2 fired
    p = read_netx(PILOT / "network.net").layers[10]
    S3, U3, V3 = run_layer(p.weight, ev.spikes[2][0].T, i_decay=int(p.neuron.i_decay), v_decay=int(p.neuron.v_decay),
                           vth_mant=int(p.neuron.vth_mant), bias_mant=p.bias, steps=25, reset_interval=17, reset_offset=10)
    assert np.array_equal(U3, U) and np.array_equal(V3, V) and np.array_equal(S3, S)


def test_netx_reset_interval_16_departs_where_the_recording_restarts_later():
    net = import_netx(PILOT / "network.net", "7:8", reset_interval=16)
    q = quantize(net, load_profile("loihi2"))
    conv4 = np.load(PILOT / "conv-4.npy")
    x = conv4.transpose(2, 1, 0, 3).reshape(-1, conv4.shape[-1]).T[None].astype(np.float64)
    r = fixed.simulate_reference(q.record, x, record_mem=True)
    gS, gU, gV = _pilot_truth(0)
    S, U, V = r.spikes[0][0].T > 0, r.syn[0][0].T, r.mem[0][0].T
    off = (S != gS) | (U != gU) | (np.where(S, PROBE_AT_SPIKE, V) != gV)
    assert np.unique(np.nonzero(off)[1]).tolist() == [22, 23]


# ---- the NIR paper's LIF neuron -----------------------------------------------------------------


@pytest.mark.parametrize("profile", ["loihi", "loihi2"])
def test_nir_lif_reproduces_lavas_cpu_and_chip_traces(cli, profile, tmp_path):
    """`evsim import lif_norse.nir -o lif.h5 --dt 1e-4` and `evsim run --weights lif.h5 --task
    array --data x.npy --profile P --record DIR` (x: the CSV's input column): Lava's CPU trace
    exactly (voltage on all 1000 steps, spikes), the Loihi 2 chip's but for 128 at its spikes."""
    cpu = np.loadtxt(NIR_LAVA / "lif_lava_cpu_fixed.csv", delimiter=",")
    chip = np.loadtxt(NIR_LAVA / "lif_lava_loihi_fixed.csv", delimiter=",")
    np.save(tmp_path / "x.npy", cpu[:, :1])
    code, _, err = cli("import", NIR_LAVA / "lif_norse.nir", "-o", tmp_path / "lif.h5", "--dt", "1e-4")
    assert code == 0, err
    code, _, err = cli("run", "--weights", tmp_path / "lif.h5", "--task", "array", "--data", tmp_path / "x.npy",
                       "--profile", profile, "--record", tmp_path / "rec")  # fmt: skip
    assert code == 0, err
    rec = np.load(tmp_path / "rec" / "sample_0.npz")
    (layer,) = {k.split(".")[0] for k in rec} - {"input"}  # --record also writes the input it ran
    v, s = rec[f"{layer}.v"][:, 0], rec[f"{layer}.spikes"][:, 0]
    assert np.array_equal(v, cpu[:, 1].astype(np.int64))  # all 1000 steps
    assert np.array_equal(s > 0, cpu[:, 2] > 0) and np.flatnonzero(s).tolist() == [461, 511, 711, 761]
    probe = np.where(s > 0, PROBE_AT_SPIKE, v)
    assert np.array_equal(probe, chip[:, 1].astype(np.int64)) and np.array_equal(s > 0, chip[:, 2] > 0)
    # NIR's converter's integers: weight int(0.04 * 256) = 10, dv int(0.04 * 4095) = 163, vth 25;
    # no current memory; Lava's Dense delivers at the next step
    q = quantize(load_network(tmp_path / "lif.h5"), load_profile(profile))
    rec_int = q.record
    assert q.report["convention"] == "nir" and rec_int.w.tolist() == [10 << 6]
    assert rec_int.coef[0, lava.DV] == 4096 - 163 and rec_int.coef[0, lava.VTH] == 25 << 6 and rec_int.coef[0, lava.DU] == 0
    assert rec_int.p_delay.tolist() == [1]
    both_engines(rec_int, cpu[:, 0][None, :, None])


# ---- Lava's step against the transcription on random netx networks ----------------------------


def random_netx(rng, big: bool) -> NetxFile:
    """input (n_in) -> dense_rec (40) -> dense (20); big: weights and decays that wrap u and
    saturate v (Lava's 24-bit arithmetic)."""
    n_in = 300

    def neuron(n):
        i_decay = rng.choice([0, 1, 700, 4095, 4096], size=n) if not big else np.zeros(n, np.int64)
        v_decay = rng.choice([0, 3, 1024, 4096], size=n) if not big else np.zeros(n, np.int64)
        vth = (1 << 17) - 1 if big else rng.integers(1, 4000)  # big: v climbs to the 24-bit ceiling
        return NetxNeuron("CUBA", np.int64(i_decay[0]), np.int64(v_decay[0]), np.int64(vth))

    def w(shape):
        lo = 100 if big else -127
        return rng.integers(lo, 128, shape) * (rng.random(shape) < 0.6)

    hidden = NetxLayer(index=1, type="dense_rec", shape=(40, 1, 1), neuron=neuron(40), weight=w((40, n_in)),
                       weight_rec=w((40, 40)), bias=rng.integers(-300, 300, 40), in_features=n_in, out_features=40)
    out = NetxLayer(index=2, type="dense", shape=(20, 1, 1), neuron=neuron(20), weight=w((20, 40)),
                    bias=rng.integers(-4096, 4096, 20), in_features=40, out_features=20)
    return NetxFile(layers=[NetxLayer(index=0, type="input", shape=(n_in, 1, 1)), hidden, out])


@pytest.mark.parametrize("big", [False, True], ids=["plain", "wrap-and-saturate"])
@pytest.mark.parametrize("seed", [0, 1])
def test_lava_step_matches_the_transcription(tmp_path, seed, big):
    rng = np.random.default_rng(seed)
    nx = random_netx(rng, big)
    write_netx(nx, tmp_path / "r.net")
    restart = seed == 1 and not big  # restarts would keep u and v from their 24-bit limits
    net = import_netx(tmp_path / "r.net", reset_interval=9 if restart else 0)
    q = quantize(net, load_profile("loihi2"))
    x = (rng.random((2, 50, 300)) < (0.5 if big else 0.1)).astype(np.float64)
    ev, _ = both_engines(q.record, x)
    h, o = nx.layers[1], nx.layers[2]
    for k in range(2):
        reset = {"reset_interval": 9, "reset_offset": 1} if restart else {}
        S1, U1, V1 = run_layer(h.weight, x[k].T, i_decay=int(h.neuron.i_decay), v_decay=int(h.neuron.v_decay),
                               vth_mant=int(h.neuron.vth_mant), bias_mant=h.bias, weights_rec=h.weight_rec, **reset)
        if restart:
            reset["reset_offset"] = 2
        S2, U2, V2 = run_layer(o.weight, S1, i_decay=int(o.neuron.i_decay), v_decay=int(o.neuron.v_decay),
                               vth_mant=int(o.neuron.vth_mant), bias_mant=o.bias, **reset)
        for li, (S, U, V) in enumerate(((S1, U1, V1), (S2, U2, V2))):
            assert np.array_equal(ev.spikes[li][k].T > 0, S)
            assert np.array_equal(ev.syn[li][k].T, U) and np.array_equal(ev.mem[li][k].T, V)
    if big:
        assert ev.overflow[:, :, 0].sum() > 0 and ev.overflow[:, :, 1].sum() > 0  # u wrapped, v saturated


# ---- export ---------------------------------------------------------------------------------


def float_cuba_network(rng, readout: str = "lif") -> Network:
    """A float network Lava's LIF holds: recurrent cuba-lif, then a lif readout (zero resets)
    or a leaky integrator (li)."""
    n_in, n_h, n_o = 12, 30, 5
    out = Layer("o", n_o, "lif", tau_mem=6.0, v_threshold=0.4, reset="zero") if readout == "lif" else Layer("o", n_o, "li", tau_mem=6.0)
    return Network(
        name="cuba", n_inputs=n_in,
        layers=[
            Layer("h", n_h, "cuba-lif", tau_syn=4.0, tau_mem=9.0, v_threshold=0.6, v_leak=0.05, reset="zero", update="sequential"),
            out,
        ],
        projections=[
            Projection("input", "h", rng.normal(0, 1.0, (n_h, n_in)), np.zeros(n_h), 0),
            Projection("h", "h", rng.normal(0, 0.3, (n_h, n_h)), np.zeros(n_h), 1),
            Projection("h", "o", rng.normal(0, 0.8, (n_o, n_h)), rng.normal(0, 0.02, n_o), 0),
        ],
        readout=Readout("o", "spike", "sum") if readout == "lif" else Readout("o", "mem", "per_step"),
    )  # fmt: skip


@pytest.mark.parametrize("readout", ["lif", "li"])
def test_export_then_import_is_bit_identical(cli, tmp_path, readout):
    rng = np.random.default_rng(3)
    net = float_cuba_network(rng, readout)
    save_network(net, tmp_path / "m.h5")
    code, out, err = cli("export", tmp_path / "m.h5", "-o", tmp_path / "m.net", "--profile", "loihi2", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert [layer["type"] for layer in summary["layers"]] == ["input", "dense_rec", "dense"]
    assert summary["delays_raised"] == ["projection input->h", "projection h->o"]
    assert_netx_layout(tmp_path / "m.net")
    q1 = quantize(net, load_profile("loihi2"))
    code, _, err = cli("import", tmp_path / "m.net", "-o", tmp_path / "back.h5")
    assert code == 0, err
    q2 = quantize(load_network(tmp_path / "back.h5"), load_profile("loihi2"))
    assert q2.report["convention"] == "netx" and q1.report["convention"] == "evsim"
    r1, r2 = q1.record, q2.record
    for key in ("coef", "bias", "w", "p_delay", "p_src", "layer_code", "layer_off", "arith"):
        assert np.array_equal(getattr(r1, key), getattr(r2, key)), key
    x = (rng.random((3, 80, 12)) < 0.3).astype(np.float64)
    a, _ = both_engines(r1, x)
    b, _ = both_engines(r2, x)
    for la, lb in zip(a.spikes + a.mem, b.spikes + b.mem, strict=True):
        assert np.array_equal(la, lb)
    assert np.array_equal(a.syn[0], b.syn[0]) and a.spikes[0].sum() > 0
    assert a.spikes[1].sum() > 0 if readout == "lif" else not b.spikes[1].any()
    assert np.array_equal(a.trace_int, b.trace_int)


def test_export_writes_the_quantized_integers_as_netx_reads_them(tmp_path):
    """The file's integers, read back independently of the importer: Lava's update on them
    (the transcription) gives the spikes and states evsim's loihi2 run gives."""
    rng = np.random.default_rng(5)
    net = float_cuba_network(rng)
    audit.export_netx(net, "loihi2", tmp_path / "m.net")
    nx = read_netx(tmp_path / "m.net")
    h, o = nx.layers[1], nx.layers[2]
    x = (rng.random((1, 60, 12)) < 0.3).astype(np.float64)
    ev, _ = both_engines(quantize(net, load_profile("loihi2")).record, x)
    S1, U1, V1 = run_layer(h.weight, x[0].T, i_decay=int(h.neuron.i_decay), v_decay=int(h.neuron.v_decay),
                           vth_mant=int(h.neuron.vth_mant), bias_mant=h.bias if h.bias is not None else 0, weights_rec=h.weight_rec)
    S2, _, V2 = run_layer(o.weight, S1, i_decay=int(o.neuron.i_decay), v_decay=int(o.neuron.v_decay),
                          vth_mant=int(o.neuron.vth_mant), bias_mant=o.bias if o.bias is not None else 0)
    assert np.array_equal(ev.spikes[0][0].T > 0, S1) and np.array_equal(ev.syn[0][0].T, U1) and np.array_equal(ev.mem[0][0].T, V1)
    assert np.array_equal(ev.spikes[1][0].T > 0, S2) and np.array_equal(ev.mem[1][0].T, V2)
    assert int(o.neuron.i_decay) == 4096  # a lif layer: a current that forgets each step


def test_export_refuses_the_ecg_model_with_every_reason(cli, paper_network, tmp_path):
    net = paper_network("ecg_icons2020")
    with pytest.raises(NetxExportError) as e:
        netx_records(quantize(net, load_profile("loihi2")))
    limits = {(v.layer, v.limit) for v in e.value.violations}
    assert limits == {("h", "neuron"), ("o", "neuron")}
    assert "microcode" in str(e.value) and "\n" not in str(e.value)
    save_network(net, tmp_path / "ecg.h5")
    code, _, err = cli("export", tmp_path / "ecg.h5", "-o", tmp_path / "ecg.net")
    assert code == 2 and err.count("\n") == 1 and "alif" in err and "reset 'subtract'" in err
    assert not (tmp_path / "ecg.net").exists()
    code, out, _ = cli("export", tmp_path / "ecg.h5", "-o", tmp_path / "ecg.net", "--json")
    assert code == 2 and {v["layer"] for v in json.loads(out)["violations"]} == {"h", "o"}


def test_export_refuses_per_neuron_decays_and_non_chains(tmp_path):
    rng = np.random.default_rng(1)
    net = float_cuba_network(rng)
    h = net.layers[0]
    tau = np.linspace(3.0, 12.0, h.size)
    varied = net.replace(layers=[Layer("h", h.size, "cuba-lif", params={**h.params, "tau_mem": tau}, options=h.options), net.layers[1]])
    skip = net.replace(projections=net.projections + [Projection("input", "o", np.ones((5, 12)), np.zeros(5), 1)])
    with pytest.raises(NetxExportError) as e:
        audit.export_netx(varied, "loihi2", tmp_path / "x.net")
    (v,) = e.value.violations
    assert (v.layer, v.limit, v.allowed) == ("h", "decays_per_layer", 1) and v.value > 1 and "group the neurons" in v.detail
    with pytest.raises(NetxExportError, match="netx_chain"):
        audit.export_netx(skip, "loihi2", tmp_path / "x.net")
    with pytest.raises(NetxExportError, match="weight_exponent"):  # Loihi 1's per-projection exponents
        audit.export_netx(net, "loihi", tmp_path / "x.net")
    with pytest.raises(EvsimError, match="float64"):
        audit.export_netx(net, "ideal", tmp_path / "x.net")


# ---- reset intervals ----------------------------------------------------------------------


def restarting_network(interval=7, offset=3) -> Network:
    return Network(
        name="r", n_inputs=4,
        layers=[Layer("h", 6, "cuba-lif", tau_syn=3.0, tau_mem=8.0, v_threshold=0.5, reset="zero", update="sequential")],
        projections=[Projection("input", "h", np.random.default_rng(0).normal(0.3, 0.4, (6, 4)), np.full(6, 0.02), 0)],
        readout=Readout("h", "spike", "sum"), reset_interval=interval, reset_offsets={"h": offset},
    )  # fmt: skip


def test_a_restart_starts_the_layer_afresh_in_every_engine(tmp_path):
    """A restart before step r (here r = 9: (9 + 1) % 7 == 3) zeroes v and i, so from r on the
    layer follows a fresh run on the input from r on (delay 0, no recurrence: nothing in flight)."""
    net = restarting_network()
    save_network(net, tmp_path / "r.h5")
    assert load_network(tmp_path / "r.h5").reset_offsets == {"h": 3}
    plain = net.replace(reset_interval=0, reset_offsets={})
    x = (np.random.default_rng(1).random((2, 20, 4)) < 0.5).astype(np.float64)
    r = 9
    for eng in ("event", "reference"):
        whole = api.simulate(net, EventBatch.from_dense(x), np.arange(2), eng, "zeros", record=True)
        fresh = api.simulate(plain, EventBatch.from_dense(x[:, r:]), np.arange(2), eng, "zeros", record=True)
        assert np.allclose(whole.mem[0][:, r:16], fresh.mem[0][:, : 16 - r], rtol=0, atol=1e-12)
        assert np.array_equal(whole.spikes[0][:, r:16], fresh.spikes[0][:, : 16 - r])
        unreset = api.simulate(plain, EventBatch.from_dense(x), np.arange(2), eng, "zeros", record=True)
        assert not np.allclose(whole.mem[0][:, r], unreset.mem[0][:, r])
    q = quantize(net, load_profile("cmos45-int32"))  # a fixed profile that delivers at once
    qp = quantize(plain, load_profile("cmos45-int32"))
    whole, _ = both_engines(q.record, x)
    fresh, _ = both_engines(qp.record, x[:, r:])
    assert np.array_equal(whole.mem[0][:, r:16], fresh.mem[0][:, : 16 - r])
    assert np.array_equal(whole.syn[0][:, r:16], fresh.syn[0][:, : 16 - r])


@pytest.mark.parametrize(
    "changes, message",
    [({"reset_interval": -1}, "reset_interval"), ({"reset_offsets": {"x": 1}}, "not a layer"), ({"reset_offsets": {"h": -2}}, ">= 0")],
)
def test_bad_reset_settings(changes, message):
    with pytest.raises(EvsimError, match=message):
        restarting_network().replace(**changes)


# ---- profiles and findings ------------------------------------------------------------------


def test_loihi_profiles_run_lavas_step_and_flag_emulations():
    for name in ("loihi", "loihi2"):
        p = load_profile(name)
        assert (p.dynamics.integer_step, p.dynamics.min_delay, p.dynamics.emulated_types) == ("lava", 1, ("alif",))
        assert "alif" not in p.limits.neuron_types
    l2 = load_profile("loihi2")
    assert (l2.weights.granularity, l2.weights.exponent, l2.weights.shift) == ("layer", None, 6)
    assert "Loihi 1" in l2.energy.source and "no per-operation energy for Loihi 2" in l2.energy.source
    assert l2.energy.ac_pj == load_profile("loihi").energy.ac_pj
    for bad, msg in (({"integer_step": "spinnaker"}, "integer_step"), ({"min_delay": -1}, "min_delay"), ({"emulated_types": ["x"]}, "emulated_types")):
        with pytest.raises(EvsimError, match=msg):
            profile_from_dict({"name": "x", "arithmetic": "fixed", "dynamics": bad})


def test_ecg_audit_on_loihi2_reports_its_findings_with_each_remedys_accuracy(paper_network, ecg_test):
    net = paper_network("ecg_icons2020")
    rep = audit.audit(net, ecg_test, "loihi2", limit=6)
    kinds = [(f["finding"], f.get("layer")) for f in rep.findings]
    assert kinds == [("delivery_delay", None), ("emulation", "h"), ("emulation", "o")]
    delay = rep.findings[0]
    assert delay["accuracy_float_with_chip_delays"] == rep.accuracy_float
    assert delay["accuracy_float_as_trained"] == audit.audit(net, ecg_test, "cmos45-fp32", limit=6).accuracy_float
    micro, nearest = rep.findings[1]["remedies"]
    assert micro["accuracy_hw"] == rep.accuracy_hw and micro["agreement_with_float"] == rep.agreement["predictions"]
    # the nearest-Lava-LIF remedy, recomputed: that network on the chip from the same samples
    from evsim.hardware.lava_rules import native_variant

    native = native_variant(net, {"h": 1, "o": 1})
    assert [layer.neuron for layer in native.layers] == ["lif", "lif"]
    assert nearest["accuracy_hw"] == audit.audit(native, ecg_test, "loihi2", limit=6).accuracy_hw


def test_per_neuron_decays_are_a_finding_with_both_remedies(tmp_path):
    rng = np.random.default_rng(2)
    net = float_cuba_network(rng)
    h = net.layers[0]
    varied = net.replace(layers=[Layer("h", h.size, "cuba-lif", params={**h.params, "tau_mem": np.linspace(3.0, 12.0, h.size)},
                                       options=h.options), net.layers[1]])
    from evsim.hardware.lava_rules import decay_groups, shared_decay_variant

    q = quantize(varied, load_profile("loihi2"))
    groups = decay_groups(q)
    assert list(groups) == ["h"] and groups["h"]["distinct_decays"] == len(set(q.record.coef[:30, lava.DV].tolist())) > 1
    shared = quantize(shared_decay_variant(varied, load_profile("loihi2"), ["h"]), load_profile("loihi2"))
    codes = q.record.coef[:30, lava.DV]
    assert set(shared.record.coef[:30, lava.DV].tolist()) == {int(np.sort(codes)[(len(codes) - 1) // 2])}
    assert decay_groups(shared) == {}
