"""The conventions of the Loihi ground truth, established with the NumPy transcription of Lava
(tests/lava_cuba.py) alone, before any evsim code touches the files.

These tests pin down what the recordings are (docs/hardware.md, "Loihi, bit for bit"), so that
evsim's own Loihi runs (tests/test_loihi.py) can be held to the files *and* to this independent
peer:

- NIR paper, one LIF neuron: Lava's fixed-point CPU trace is the plain update with weight 10,
  du_eff 4096, dv 163, vth 25 and Lava's one-step dense delivery; the Loihi 2 chip trace is the
  same but reads 128 at the four spike steps.
- lava-dl PilotNet LIF, fc-0..fc-3 replayed from conv-4: flatten in netx's order, one-step
  delivery, each layer's state zeroed at its netx reset offset with a reset interval of 17, and
  the probe reading 128 (refDelay * 128) at a spike step.  fc-3's files come from another run:
  they agree up to step 7 and the departures after it are located here.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from lava_cuba import run_layer

DATA = Path(__file__).parent / "data"
PILOT = DATA / "lava-dl-netx" / "pilotnet_lif"
NIR_LAVA = DATA / "nir-paper" / "01_lif"  # the NIR paper files (their README has the provenance)
REFRACTORY_PROBE = 128  # what Loihi's voltage probe shows at a spike step with refDelay = 1


def _csv(name):
    return np.loadtxt(NIR_LAVA / name, delimiter=",")


def _nir_neuron(x):
    # nir_to_lava.py: dv = int(dt/tau * 4095) = 163; du = int(1.0 * 4095) = 4095 (Lava adds its
    # ds_offset 1: an effective current decay of 4096, no current memory); vth = int(0.1 * 131071)
    # >> 9 = 25; the LIF's input weight int(dt/tau * 256) = 10.
    S, U, V = run_layer(np.array([[10]]), x[None, :], i_decay=4095 + 1, v_decay=163, vth_mant=25, bias_mant=0)
    return S[0], V[0]


def test_nir_lif_lava_cpu_fixed_is_the_plain_update():
    cpu = _csv("lif_lava_cpu_fixed.csv")
    spikes, v = _nir_neuron(cpu[:, 0].astype(np.int64))
    assert np.array_equal(v, cpu[:, 1].astype(np.int64))  # all 1000 steps
    assert np.array_equal(spikes, cpu[:, 2] > 0)
    assert np.flatnonzero(spikes).tolist() == [461, 511, 711, 761]


def test_nir_lif_loihi2_chip_differs_only_by_the_probe_at_spike_steps():
    chip = _csv("lif_lava_loihi_fixed.csv")
    cpu = _csv("lif_lava_cpu_fixed.csv")
    assert np.array_equal(chip[:, 0], cpu[:, 0])
    spikes, v = _nir_neuron(chip[:, 0].astype(np.int64))
    assert np.array_equal(spikes, chip[:, 2] > 0)
    probe = np.where(spikes, REFRACTORY_PROBE, v)
    assert np.array_equal(probe, chip[:, 1].astype(np.int64))
    assert np.flatnonzero(v != chip[:, 1]).tolist() == [461, 511, 711, 761]


# ---- PilotNet LIF ------------------------------------------------------------------------------

FC = {k: 7 + k for k in range(4)}  # netx layer index of fc-k
NETX_POSITION = {k: 6 + k for k in range(4)}  # fc-k's position among netx's generated blocks (input, 5 conv, ...)


def _layer(k):
    with h5py.File(PILOT / "network.net", "r") as f:
        g = f["layer"][str(FC[k])]
        n = g["neuron"]
        return dict(
            weights=g["weight"][()].astype(np.int64).reshape(int(g["outFeatures"][()]), -1),
            bias_mant=g["bias"][()].astype(np.int64),
            i_decay=int(n["iDecay"][()]),
            v_decay=int(n["vDecay"][()]),
            vth_mant=int(n["vThMant"][()]),
            ref_delay=int(n["refDelay"][()]),
        )


def _truth(k):
    spikes = np.load(PILOT / ("fc-3-s.npy" if k == 3 else f"fc-{k}.npy")) > 0
    return spikes, np.load(PILOT / f"fc-{k}-u.npy").astype(np.int64), np.load(PILOT / f"fc-{k}-v.npy").astype(np.int64)


def _conv4_flat():
    conv4 = np.load(PILOT / "conv-4.npy")  # (W, H, C, steps)
    # netx: layers[-2].out.transpose([2, 1, 0]).flatten(): the WHC tensor read in C order as CHW,
    # i.e. index (c * H + h) * W + w: the (W, H, C) array in Fortran (column-major) order.
    return conv4.reshape(-1, conv4.shape[-1], order="F"), conv4


def _replay(k, spikes_in, reset_interval, steps=None):
    p = _layer(k)
    ref_delay = p.pop("ref_delay")
    assert ref_delay == 1  # the only refractory delay the files use (and Lava models)
    # netx.hdf5.Network._create: reset_offset = 1 + the block's position ("time starts from 1 in hardware")
    return run_layer(
        spikes_in=spikes_in, reset_interval=reset_interval, reset_offset=1 + NETX_POSITION[k], steps=steps, **p
    )


def test_flatten_order_is_netx_transpose_then_flatten():
    flat, conv4 = _conv4_flat()
    W, H, C, _ = conv4.shape
    w, h, c = 3, 1, 17
    assert np.array_equal(flat[(c * H + h) * W + w], conv4[w, h, c])
    other = conv4.reshape(W * H * C, -1)  # channel fastest: the wrong order
    S, U, V = _replay(0, other, reset_interval=17)
    assert not np.array_equal(U, _truth(0)[1])


@pytest.mark.parametrize("k", [0, 1, 2])
def test_fc_layers_replay_exactly(k):
    """Spikes, u and v of fc-0..fc-2 on every recorded step, each layer fed the recorded spikes of
    the layer before (fc-0: conv-4 through the flatten)."""
    spikes_in = _conv4_flat()[0] if k == 0 else _truth(k - 1)[0]
    gS, gU, gV = _truth(k)
    S, U, V = _replay(k, spikes_in, reset_interval=17)
    assert np.array_equal(S, gS)
    assert np.array_equal(U, gU)
    assert np.array_equal(np.where(S, REFRACTORY_PROBE, V), gV)
    # without the probe convention v departs exactly at the spikes (and nowhere else)
    assert np.array_equal(V != gV, S & (V != REFRACTORY_PROBE))
    assert S.sum() > 0


def test_fc_stack_replays_from_conv4_alone():
    x = _conv4_flat()[0]
    for k in range(3):
        S, U, V = _replay(k, x, reset_interval=17)
        gS, gU, gV = _truth(k)
        assert np.array_equal(S, gS) and np.array_equal(U, gU)
        assert np.array_equal(np.where(S, REFRACTORY_PROBE, V), gV)
        x = S


def test_the_recorded_restarts_and_what_netx_reset_interval_16_would_give():
    """Each layer's state is zeroed before its update at 0-based step 6 + k (netx's offset
    1 + position, hardware time starting at 1); fc-0's second restart is at step 23, so the
    interval of the recording is 17 (the files end before fc-1's and fc-2's second restart).
    With netx's reset_interval=16 (lava-dl's test_hdf5_nx) fc-0 departs at steps 22-23 only."""
    x = _conv4_flat()[0]
    gS, gU, gV = _truth(0)
    S, U, V = _replay(0, x, reset_interval=16)
    probe = np.where(S, REFRACTORY_PROBE, V)
    steps_off = np.unique(np.nonzero((S != gS) | (U != gU) | (probe != gV))[1])
    assert steps_off.tolist() == [22, 23]
    S, U, V = _replay(0, x, reset_interval=None)  # no restart at all: v departs from step 6 on
    first = np.nonzero(np.where(S, REFRACTORY_PROBE, V) != gV)[1].min()
    assert first == 6


def test_fc3_agrees_until_step_7_and_then_records_another_run():
    gS2 = _truth(2)[0]
    gS, gU, gV = _truth(3)
    S, U, V = _replay(3, gS2, reset_interval=17, steps=gU.shape[1])
    assert not S.any() and not gS.any()  # vThMant 131071: fc-3 never spikes
    assert np.array_equal(U[:, :8], gU[:, :8]) and np.array_equal(V[:, :8], gV[:, :8])
    # step 8: fc-2 neuron 5 spiked at step 7 (weight -24), which fc-3's u does not show
    w = _layer(3)["weights"][0]
    assert gS2[5, 7] and w[5] == -24 and U[0, 8] == -24 * 64 and gU[0, 8] == 0
    # step 11: fc-3's u is -84 * 64; the only subset of its weights summing to -84 is all four
    # negative ones (fc-2 neurons 0, 1, 2, 5), but fc-2 recorded only neuron 4 at step 10
    assert gU[0, 11] == -84 * 64 and sorted(w[w < 0]) == [-24, -20, -20, -20] and w[w > 0].min() > 0
    assert np.flatnonzero(gS2[:, 10]).tolist() == [4]
