"""Xylo design rules: networks just inside each published limit are accepted, just outside refused,
per chip (Rockpool's Xylo family table and mappers; docs/hardware.md lists which rule comes from
where), and what Xylo's neuron and delivery cannot hold is refused with the same reasons Rockpool
gives."""

from __future__ import annotations

import numpy as np
import pytest

from evsim import audit
from evsim.hardware.mapping import DesignRuleError, map_network
from evsim.hardware.profile import load_profile
from evsim.model import Layer, Network, Projection, Readout

CHIPS = {  # profile: inputs, hidden, outputs, recurrent fan-out, recurrent weights, input / output projection
    "xylo-audio2": (16, 1000, 8, 64, 64000, 1000, 1000),
    "xylo-audio3": (16, 992, 32, 1024, 63488, 128, 128),
    "xylo-imu": (16, 496, 16, 512, 31744, 128, 128),
}


def hidden(name, size, **kw):
    return Layer(name, size, "cuba-lif", tau_syn=2.0, tau_mem=8.0, v_threshold=1.0, max_spikes=kw.pop("max_spikes", 31), update="sequential", **kw)


def network(sizes=(4, 8), n_in=2, n_out=2, rec=None, readout=None) -> Network:
    """input -> h0 -> h1 -> ... -> o.  Each hidden source reaches one neuron of the next layer
    (so feed-forward weights add one to its fan-out), `rec[k]` (or nothing) is h_k's recurrence."""
    layers = [hidden(f"h{k}", n) for k, n in enumerate(sizes)]
    layers.append(readout or Layer("o", n_out, "cuba-li", tau_syn=2.0, tau_mem=8.0, update="sequential"))
    projections = [Projection("input", "h0", np.ones((sizes[0], n_in)), np.zeros(sizes[0]))]
    for k, n in enumerate(sizes):
        if rec is not None and rec[k] is not None:
            projections.append(Projection(f"h{k}", f"h{k}", rec[k], np.zeros(n), 1))
        if k + 1 < len(sizes):
            ff = np.zeros((sizes[k + 1], n))
            ff[np.arange(n) % sizes[k + 1], np.arange(n)] = 1.0
            projections.append(Projection(f"h{k}", f"h{k + 1}", ff, np.zeros(sizes[k + 1]), 1))
    last = layers[-1]
    projections.append(Projection(f"h{len(sizes) - 1}", last.name, np.ones((last.size, sizes[-1])), np.zeros(last.size), 1))
    return Network("rules", n_in, layers, projections, Readout(last.name), discretization="euler")


def recurrence(n: int, per_source: list[int]) -> np.ndarray:
    """An n x n recurrent matrix whose source j reaches per_source[j] distinct targets."""
    w = np.zeros((n, n))
    for j, k in enumerate(per_source):
        w[(j + np.arange(k)) % n, j] = 1.0
    return w


def limits_broken(net, profile) -> set[str]:
    return {v.limit for v in map_network(net, load_profile(profile)).violations}


@pytest.mark.parametrize("profile", CHIPS)
def test_sizes_just_inside_and_just_outside(profile):
    n_in, n_hid, n_out, _, _, ien, oen = CHIPS[profile]
    middle = n_hid - 2 * 128  # input layer, a middle layer, readout-source layer
    inside = network((128, middle, 128), n_in=n_in, n_out=n_out)
    assert limits_broken(inside, profile) == set()
    assert limits_broken(network((128, middle + 1, 128), n_in=n_in, n_out=n_out), profile) == {"cores_per_chip"}  # one core of n_hid
    assert limits_broken(network((4, 8), n_in=n_in + 1), profile) == {"input_channels"}
    assert limits_broken(network((4, 8), n_out=n_out + 1), profile) == {"output_neurons"}
    if ien < n_hid:  # Audio 3 and IMU: input and readout matrices reach 128 hidden neurons
        assert limits_broken(network((ien + 1, 8)), profile) == {"input_projection_neurons"}
        assert limits_broken(network((8, oen + 1)), profile) == {"output_projection_neurons"}
        assert limits_broken(network((ien, oen)), profile) == set()


@pytest.mark.parametrize("profile", CHIPS)
def test_recurrent_fan_out_and_weight_budget(profile):
    _, n_hid, _, fan_out, budget, ien, oen = CHIPS[profile]
    if profile == "xylo-audio2":
        # one layer of 1000: fan-out 64 each is the budget exactly; one weight more breaks both
        assert limits_broken(network((n_hid,), rec=[recurrence(n_hid, [fan_out] * n_hid)]), profile) == set()
        more = [fan_out + 1] + [fan_out] * (n_hid - 1)
        assert limits_broken(network((n_hid,), rec=[recurrence(n_hid, more)]), profile) == {"recurrent_fan_out_per_neuron", "recurrent_weights_per_chip"}
        return
    # Audio 3 (1024) and IMU (512): a neuron may reach every hidden neuron there is
    middle = n_hid - ien - oen
    assert limits_broken(network((ien, middle, oen), rec=[None, recurrence(middle, [middle] * 1 + [0] * (middle - 1)), None]), profile) == set()
    feed_forward = ien + middle  # one weight per h0 and h1 neuron
    need = budget - feed_forward
    per, extra = divmod(need, middle)
    counts = [per + (1 if j < extra else 0) for j in range(middle)]
    net = network((ien, middle, oen), rec=[None, recurrence(middle, counts), None])
    assert limits_broken(net, profile) == set()
    counts[-1] += 1
    assert limits_broken(network((ien, middle, oen), rec=[None, recurrence(middle, counts), None]), profile) == {"recurrent_weights_per_chip"}


def test_spikes_per_step_and_time_constants():
    ok = network()
    assert limits_broken(ok, "xylo-audio2") == set()
    many = Network("x", 2, [hidden("h0", 4, max_spikes=32), *ok.layers[1:]], ok.projections, ok.readout, discretization="euler")
    assert limits_broken(many, "xylo-audio2") == {"spikes_per_step"}
    lif_out = Layer("o", 2, "cuba-lif", tau_syn=2.0, tau_mem=8.0, v_threshold=1.0, max_spikes=1, update="sequential")
    assert limits_broken(network(readout=lif_out), "xylo-audio2") == set()
    lif_out2 = Layer("o", 2, "cuba-lif", tau_syn=2.0, tau_mem=8.0, v_threshold=1.0, max_spikes=2, update="sequential")
    assert limits_broken(network(readout=lif_out2), "xylo-audio2") == {"readout_spikes_per_step"}
    for tau, broken in ((1.0, {"time_constants"}), (1.01, set()), (2 ** 15.49, set()), (2 ** 15.51, {"time_constants"})):
        layers = [Layer("h0", 4, "cuba-lif", tau_syn=2.0, tau_mem=tau, v_threshold=1.0, max_spikes=31, update="sequential"), *ok.layers[1:]]
        assert limits_broken(Network("x", 2, layers, ok.projections, ok.readout, discretization="exact"), "xylo-audio2") == broken, tau


def test_what_the_chip_cannot_hold_is_refused_with_every_reason():
    ok = network()
    wrong = [
        Layer("h0", 4, "lif", tau_mem=8.0, v_threshold=1.0, reset="zero"),  # Xylo subtracts
        Layer("h1", 8, "cuba-lif", tau_syn=2.0, tau_mem=8.0, v_threshold=1.0),  # simultaneous update
        ok.layers[2],
    ]
    projections = ok.projections + [Projection("input", "o", np.ones((2, 2)), np.zeros(2))]
    net = Network("x", 2, wrong, projections, ok.readout)
    with pytest.raises(DesignRuleError) as info:
        audit.prepare_hardware(net, "xylo-audio2")
    assert {v.limit for v in info.value.violations} == {"reset", "update", "projections"}
    alif = Layer("h0", 4, "alif", tau_m=8.0, tau_adp=50.0, beta=0.1, b_j0=1.0)
    net = Network("x", 2, [alif, *ok.layers[1:]], ok.projections, ok.readout)
    with pytest.raises(DesignRuleError, match="neuron_types is alif"):
        audit.prepare_hardware(net, "xylo-imu")
    from evsim.errors import EvsimError

    with pytest.raises(EvsimError, match="--ignore-violations cannot run this model"):
        audit.prepare_hardware(net, "xylo-imu", ignore_violations=True)
