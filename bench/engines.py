"""Engine speed, side by side in one process: event-driven (Numba) vs reference (NumPy/BLAS).

    python bench/engines.py [--samples N] [--repeat R] [--json]

For each paper model (ecg_icons2020 on the QTDB test set when EVSIM_DATA_DIR has it, else on
random 4-channel input; shd_nmi2021 and ssc_nmi2021 on random binary input, 5 % density,
250 steps) both engines run the same batches on the same cores, after a warm-up that compiles
the kernels.  Printed: samples/s, delivered events/s (event engine) and the speed ratio.
Quote the ratios; absolute times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


from evsim import api
from evsim.engines import event
from evsim.formats.manifest import import_manifest
from evsim.tasks import open_task

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(network, dataset, n: int, repeat: int, batch_event: int, batch_ref: int) -> dict:
    prepared = event.prepare(network)
    batches_e = list(dataset.batches(batch_event, 0, n))
    batches_r = list(dataset.batches(batch_ref, 0, n))
    n = sum(len(b.sample_ids) for b in batches_e)
    run_e = lambda: [api.simulate(network, b.inputs, b.sample_ids, "event", prepared=prepared) for b in batches_e]  # noqa: E731
    run_r = lambda: [api.simulate(network, b.inputs, b.sample_ids, "reference") for b in batches_r]  # noqa: E731
    results = run_e()  # warm-up: JIT compile (cached on disk after the first run)
    run_r()
    events = int(sum(r.counts.events.sum() for r in results))
    synaptic = int(sum((r.counts.ac + r.counts.mac).sum() for r in results))
    t_e, t_r = best_of(run_e, repeat), best_of(run_r, repeat)
    return {
        "model": network.name,
        "input": dataset.source,
        "samples": n,
        "event_samples_per_s": n / t_e,
        "reference_samples_per_s": n / t_r,
        "event_delivered_events_per_s": events / t_e,
        "event_synaptic_ops_per_s": synaptic / t_e,
        "speedup_event_over_reference": t_r / t_e,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    models = Path(os.environ.get("EVSIM_PAPER_MODELS", ROOT.parent / "shared" / "paper-models"))
    data = Path(os.environ.get("EVSIM_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not models.is_dir():
        print(f"bench: paper models not found at {models} (set EVSIM_PAPER_MODELS)", file=sys.stderr)
        return 2
    rows = []
    for name in ("ecg_icons2020", "shd_nmi2021", "ssc_nmi2021"):
        net = import_manifest(models / f"{name}.json")
        if name.startswith("ecg") and (data / "qtdb" / "QTDB_test.mat").is_file():
            ds = open_task("ecg", data)
        else:
            ds = open_task("random", None, n=args.samples, channels=net.n_inputs, steps=250, density=0.05, seed=0)
        rows.append(measure(net, ds, args.samples, args.repeat, api.default_batch_size(net, "event"),
                            api.default_batch_size(net, "reference")))
    import numba

    try:  # optional: says which BLAS kernel the reference ran on
        from threadpoolctl import threadpool_info

        blas = [(i.get("internal_api"), i.get("num_threads"), i.get("architecture")) for i in threadpool_info()]
    except ImportError:
        blas = "unknown (pip install threadpoolctl)"
    env = {"numba_threads": numba.get_num_threads(), "blas": blas, "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps({"environment": env, "results": rows}, indent=2))
        return 0
    print(f"cores {env['cpus']}, numba threads {env['numba_threads']}, BLAS {env['blas']}")
    head = f"{'model':<15} {'samples':>7} {'event samp/s':>13} {'ref samp/s':>11} {'events/s':>12} {'syn.ops/s':>12} {'event/ref':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['model']:<15} {r['samples']:>7} {r['event_samples_per_s']:>13.1f} {r['reference_samples_per_s']:>11.1f} "
              f"{r['event_delivered_events_per_s']:>12.3g} {r['event_synaptic_ops_per_s']:>12.3g} {r['speedup_event_over_reference']:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
