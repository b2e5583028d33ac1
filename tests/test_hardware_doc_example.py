"""docs/counting.md's three-neuron worked example: build that exact network, run it on Loihi
(integer) and cmos45-fp32 (float), and check every number of the doc's table as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from evsim import audit
from evsim.engines import fixed
from evsim.engines.record import weight_matrix
from evsim.neurons import lif
from evsim.events import EventBatch
from evsim.hardware.energy import baseline_report, energy_report
from evsim.model import Layer, Network, Projection, Readout

DOC = Path(__file__).resolve().parents[1] / "docs" / "counting.md"


def doc_table() -> dict[str, str]:
    text = DOC.read_text()
    block = text.split("<!-- example:begin -->", 1)[1].split("<!-- example:end -->", 1)[0]
    rows = {}
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1]
    return rows


def three_neurons() -> Network:
    return Network(
        name="three",
        n_inputs=1,
        layers=[
            Layer("h", 2, "lif", tau_mem=0.01, v_threshold=0.5, reset_at="next-step"),
            Layer("o", 1, "li", tau_mem=0.01),
        ],
        projections=[
            Projection("input", "h", np.array([[2.0], [0.2]]), np.zeros(2), 0),
            Projection("h", "o", np.array([[1.0, 1.0]]), np.zeros(1), 0),
        ],
        readout=Readout("o", "mem", "per_step", 0),
    )


def inputs() -> np.ndarray:
    x = np.zeros((1, 5, 1))
    x[0, [0, 2, 3], 0] = 1.0
    return x


def per_sample(counts) -> dict[str, np.ndarray]:
    return {k: getattr(counts, k).astype(np.float64).mean(axis=0) for k in ("events", "ac", "ac_structural", "mac", "spikes", "neuron_updates")}


def test_the_three_neuron_example_as_written():
    doc = doc_table()
    num = lambda key: float(doc[key])  # noqa: E731
    net = three_neurons()
    hw = audit.prepare_hardware(net, "loihi")
    fa = hw.quantized.record
    assert [int(w) for w in weight_matrix(fa, 0).ravel()] == [8128, 832] and int(fa.coef[0, lif.V_TH]) == 2032

    ev = fixed.simulate(fa, EventBatch.from_dense(inputs()), record_spikes=True, record_mem=True)
    ref = fixed.simulate_reference(fa, inputs(), record_mem=True)
    assert ev.counts.equals(ref.counts)
    assert " ".join(str(v) for v in ev.mem[0][0, :, 0]) == doc["h0 membrane, steps 0..4 (integer)"]
    assert " ".join(str(v) for v in ev.spikes[0][0, :, 0]) == doc["h0 spikes, steps 0..4"]
    c = ev.counts
    assert c.events[0].tolist() == [num("events input->h"), num("events h->o")]
    assert c.ac[0].tolist() == [num("ac input->h"), num("ac h->o")]
    assert c.ac_structural[0, 0] == num("ac_structural input->h")
    assert c.spikes[0, 0] == num("spikes h")
    assert c.neuron_updates[0].tolist() == [num("neuron_updates h"), num("neuron_updates o")]

    e = energy_report(net, hw.profile, hw.mapping, per_sample(c), 5)
    pj = lambda joules: round(joules * 1e12, 6)  # noqa: E731
    assert pj(e["by_kind"]["ac"]) == num("loihi ac pJ")
    assert pj(e["by_kind"]["neuron_update_active"]) == num("loihi neuron_update_active pJ")
    assert pj(e["by_kind"]["neuron_update_inactive"]) == num("loihi neuron_update_inactive pJ")
    assert pj(e["by_kind"]["spike_routed"]) == num("loihi spike_routed pJ")
    assert pj(e["by_layer"]["h"]) == num("loihi layer h pJ")
    assert pj(e["by_layer"]["o"]) == num("loihi layer o pJ")
    assert pj(e["total"]) == num("loihi total pJ")
    assert pj(e["per_step"]) == num("loihi per step pJ")

    # the float run (delay 0, as the model says) spikes one step earlier and delivers all 3
    # spikes to o: its counts cost 164.1 pJ under cmos45-fp32
    fp = audit.prepare_hardware(net, "cmos45-fp32")
    from evsim import api

    f = api.simulate(net, EventBatch.from_dense(inputs()), np.array([0]), "event", "zeros", record=True)
    assert f.spikes[0][0, :, 0].tolist() == [1, 0, 1, 1, 0] and f.counts.ac[0].tolist() == [6, 3]
    e32 = energy_report(net, fp.profile, fp.mapping, per_sample(f.counts), 5)
    assert pj(e32["total"]) == num("cmos45-fp32 total pJ")
    base = baseline_report(net, fp.profile, 5, e32["total"])
    assert base["lstm"]["macs_per_inference"] == num("dense baseline MACs")
    assert pj(base["lstm"]["energy_per_inference_j"]) == num("dense baseline pJ at 4.6 pJ/MAC")


def test_the_doc_names_the_numbers_it_derives():
    """The prose and the table agree on the integer quantities the hand computation uses."""
    text = DOC.read_text()
    for figure in ("**8128**", "**832**", "**2032**", "## Hardware profiles and energy"):
        assert figure in text
    assert re.search(r"\| loihi total pJ \| 1060\.9 \|", text)
