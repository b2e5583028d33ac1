"""The paper models and an S-MNIST-shaped model run through `evsim run` / `evsim crosscheck`
on files generated in the real distributed layouts (the data sets themselves are not here)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from datagen import random_mnist, random_spikes, write_mnist, write_spike_file
from evsim.formats.h5 import save_network
from evsim.model import Layer, Network, Projection, Readout


@pytest.mark.parametrize("name, task, classes", [("shd_nmi2021", "shd", 20), ("ssc_nmi2021", "ssc", 35)])
def test_paper_model_runs_and_crosschecks_through_the_task(cli, paper_network, tmp_path, name, task, classes):
    rng = np.random.default_rng(3)
    times, units = random_spikes(rng, 5, 3000)  # ~3000 spikes in 1 s: a busy SHD-like sample
    labels = rng.integers(0, classes, 5)
    write_spike_file(tmp_path / f"{task}_test.h5.gz", times, units, labels)
    model = tmp_path / "m.h5"
    save_network(paper_network(name), model)
    code, out, err = cli("run", "--weights", model, "--task", task, "--data", tmp_path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["samples"] == 5 and report["steps"] == 250
    # accuracy recomputed independently: the documented binning written out by hand (step i
    # holds t <= i*4 ms with edges in the times' float16; channel 700 - unit; unit 0 and times
    # past step 249 dropped), the dense NumPy reference engine, and the labels as generated
    from evsim.engines import reference
    from evsim.model import decide, initial_state

    edges = np.array([float(np.float16(i * 4 / 1000)) for i in range(250)])
    dense = np.zeros((5, 250, 700))
    for b, (t, u) in enumerate(zip(times, units)):
        for ti, ui in zip(t.astype(np.float64), u):
            step = int(np.searchsorted(edges, ti, side="left"))
            if ui > 0 and step < 250:
                dense[b, step, 700 - ui] = 1.0
    net = paper_network(name)
    trace = reference.simulate(net, dense, initial_state(net, np.arange(5)), record_spikes=False, record_mem=False).trace
    assert report["accuracy"] == np.mean(decide(net.readout, trace) == labels)
    assert report["sops_per_sample"]["by_projection"]["input->h1"]["events"] > 1000
    assert report["sops_per_sample"]["mac"] == 0, "binned spikes are binary: accumulates only"
    code, out, err = cli("crosscheck", "--weights", model, "--task", task, "--data", tmp_path, "--init", "paper", "--json")
    assert code == 0, err
    check = json.loads(out)
    assert check["passed"] and check["spike_agreement"] == 1.0 and check["samples"] == 5
    # the task's own options reach the reader: 125 steps of 8 ms
    code, out, err = cli("run", "--weights", model, "--task", task, "--data", tmp_path, "--dt", "0.008", "--steps", "125", "--json")
    assert code == 0, err
    assert json.loads(out)["steps"] == 125


def smnist_network(window: int = 8) -> Network:
    rng = np.random.default_rng(0)
    return Network(
        name="smnist-tiny",
        n_inputs=window,
        layers=[
            Layer("h", 24, "alif", tau_m=rng.uniform(5, 30, 24), tau_adp=rng.uniform(50, 300, 24), beta=1.8, b_j0=0.01),
            Layer("o", 10, "alif", tau_m=10.0, tau_adp=100.0, beta=1.8, b_j0=0.01),
        ],
        projections=[
            Projection("input", "h", rng.normal(0, 1.0, (24, window)), rng.normal(0, 0.05, 24), 0),
            Projection("h", "h", rng.normal(0, 0.3, (24, 24)), np.zeros(24), 1),
            Projection("h", "o", rng.normal(0, 0.5, (10, 24)), np.zeros(10), 0),
        ],
        readout=Readout("o", "spike", "sum", 0),
    )


@pytest.mark.parametrize("task", ["smnist", "psmnist"])
def test_smnist_model_counts_macs_for_analog_pixels(cli, tmp_path, task):
    rng = np.random.default_rng(1)
    images, labels = random_mnist(rng, 3)
    write_mnist(tmp_path, images, labels, gz=True)
    model = tmp_path / "m.h5"
    save_network(smnist_network(), model)
    code, out, err = cli("run", "--weights", model, "--task", task, "--data", tmp_path, "--json")
    assert code == 0, err
    report = json.loads(out)
    inp = report["sops_per_sample"]["by_projection"]["input->h"]
    assert inp["mac"] > 0, "pixel values are analog: multiply-accumulates"
    nonbinary = np.count_nonzero((images > 0) & (images < 255))
    assert nonbinary > 0
    code, out, err = cli("crosscheck", "--weights", model, "--task", task, "--data", tmp_path, "--json")
    assert code == 0, err
    assert json.loads(out)["passed"]
