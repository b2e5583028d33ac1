"""float32 against float64: how far the float32 engines' results move, on the paper models and
the shipped ECG models.

    python bench/precision.py [--samples 64] [--json]

For each model both precisions of the event engine run the same inputs from the all-zero state
(ecg_icons2020 and the built-in ecg and ecg-xylo models on the shipped QTDB test set; shd_nmi2021 and ssc_nmi2021 on random binary input, 5 % density, 250
steps).  Printed: prediction agreement (per step for ECG), spike agreement (equal spike values
over samples x steps x neurons), samples whose every spike train is identical, the largest
readout difference, and the accuracy of each where the task has labels.  Also the float32
event engine against the float32 reference (`api.crosscheck`): these must agree bit for bit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from evsim import api
from evsim.engines import event
from evsim.model import decide
from evsim.tasks import open_task

ROOT = Path(__file__).resolve().parents[1]


def compare(network, dataset, limit: int) -> dict:
    prepared = {p: event.prepare(network, p) for p in ("float64", "float32")}
    agree = total = identical = pred_agree = pred_total = n = 0
    readout_diff = 0.0
    tallies = {p: api.Tally(network) for p in prepared}
    score = dataset.n_classes is not None
    for batch in dataset.batches(16, 0, limit):
        runs = {p: api.simulate(network, batch.inputs, batch.sample_ids, "event", record=True, prepared=prepared[p], precision=p)
                for p in prepared}
        a, b = runs["float64"], runs["float32"]
        eq, cmp, ident = api.spike_agreement(a, b)
        agree, total, identical = agree + eq, total + cmp, identical + ident
        pa, pb = decide(network.readout, a.trace), decide(network.readout, b.trace)
        if pa.ndim == 2:
            pa, pb = pa[:, network.readout.from_step :], pb[:, network.readout.from_step :]
        pred_agree += int((pa == pb).sum())
        pred_total += pa.size
        readout_diff = max(readout_diff, float(np.abs(a.trace - b.trace).max()))
        for p in prepared:
            tallies[p].add(runs[p], batch, score)
        n += len(batch.sample_ids)
    cross = api.crosscheck(network, dataset, limit=min(limit, 16), precision="float32")
    return {
        "model": network.name,
        "input": dataset.source,
        "samples": n,
        "prediction_agreement": pred_agree / pred_total,
        "spike_agreement": agree / total,
        "samples_identical": identical,
        "max_readout_diff": readout_diff,
        "accuracy_float64": tallies["float64"].accuracy if score else None,
        "accuracy_float32": tallies["float32"].accuracy if score else None,
        "float32_event_vs_reference": {"samples": cross.samples, "spike_agreement": cross.spike_agreement,
                                       "prediction_agreement": cross.prediction_agreement,
                                       "max_abs_mem_diff": cross.max_abs_mem_diff, "sops_agree": cross.sops_agree,
                                       "passed": cross.passed},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ecg_data = open_task("ecg", None)  # the shipped QTDB test set
    cases = [(name, api.load_model(name)[0], ecg_data) for name in ("ecg_icons2020", "ecg", "ecg-xylo")]
    for name in ("shd_nmi2021", "ssc_nmi2021"):
        net = api.load_model(name)[0]
        cases.append((name, net, open_task("random", None, n=args.samples, channels=net.n_inputs, steps=250, density=0.05, seed=0)))
    # rows named by the built-in name: the files' own names repeat (both evsim ECG models are 'ecg_srnn')
    rows = [{**compare(net, ds, args.samples), "model": name} for name, net, ds in cases]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    head = (f"{'model':<15} {'samples':>7} {'pred agree':>10} {'spike agree':>11} {'identical':>9} {'max |d readout|':>15} "
            f"{'acc f64':>8} {'acc f32':>8}  f32 event = f32 reference")
    print(head)
    print("-" * len(head))
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}%"  # noqa: E731
    for r in rows:
        c = r["float32_event_vs_reference"]
        print(f"{r['model']:<15} {r['samples']:>7} {pct(r['prediction_agreement']):>10} {100 * r['spike_agreement']:>10.4f}% "
              f"{r['samples_identical']:>4}/{r['samples']:<4} {r['max_readout_diff']:>15.3g} {pct(r['accuracy_float64']):>8} "
              f"{pct(r['accuracy_float32']):>8}  {'yes' if c['passed'] else 'NO'} ({c['samples']} samples, "
              f"spikes {100 * c['spike_agreement']:.4f}%, max |d mem| {c['max_abs_mem_diff']:.3g})")
    print("all from the all-zero state; inputs as the module doc says.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
