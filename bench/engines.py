"""Engine speed, side by side in one process: event-driven (Numba) vs reference (NumPy/BLAS),
and the event engine against the machine's row-add roofline (bench/roofline.py).

    python bench/engines.py [--samples N] [--repeat R] [--json]

For each paper model (ecg_icons2020 on the shipped QTDB test set; shd_nmi2021 and ssc_nmi2021
on random binary input, 5 % density, 250 steps) both engines run the same batches on the same
cores, after a warm-up that compiles the kernels.  Each repetition times the event engine in
float64 and right after it the float64 roofline (for about as long as the engine ran), the same
in float32 (`--precision float32`), then the reference, so that each engine and its roofline
see about the same machine; the best of `repeat` counts.  Printed: samples/s and the speed ratio; the
event engine's delivered accumulates (row elements added) per second per core, and that as a
fraction of the roofline of its precision per core (both cores busy), by wall time and by this
process's CPU time.
Quote the ratios; absolute figures depend on the machine and its load (printed).
"""

from __future__ import annotations

from shared_machine import timed  # first: sets the thread environment before NumPy/Numba/torch load

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import roofline  # noqa: E402

from evsim import api  # noqa: E402
from evsim.engines import event  # noqa: E402
from evsim.tasks import open_task  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PRECISIONS = ("float64", "float32")


def measure(network, dataset, n: int, repeat: int, batch_event: int, batch_ref: int) -> dict:
    batches_e = list(dataset.batches(batch_event, 0, n))
    batches_r = list(dataset.batches(batch_ref, 0, n))
    n = sum(len(b.sample_ids) for b in batches_e)
    runs, replay, delivered = {}, {}, {}
    for precision in PRECISIONS:
        prepared = event.prepare(network, precision)
        runs[precision] = lambda prepared=prepared, precision=precision: [  # noqa: E731
            api.simulate(network, b.inputs, b.sample_ids, "event", prepared=prepared, precision=precision) for b in batches_e]
        results = runs[precision]()  # warm-up: JIT compile (cached on disk after the first run)
        first = batches_e[0]
        recorded = api.simulate(network, first.inputs, first.sample_ids, "event", record=True, prepared=prepared, precision=precision)
        replay[precision] = roofline.replay_rows(network, first.inputs, recorded.spikes, min(2, len(first.sample_ids)))
        delivered[precision] = roofline.delivered_accumulates(network, sum(r.counts.events.sum(axis=0) for r in results))
    run_r = lambda: [api.simulate(network, b.inputs, b.sample_ids, "reference") for b in batches_r]  # noqa: E731
    run_r()
    best = {p: {"wall": float("inf"), "cpu": float("inf")} for p in PRECISIONS}
    roof = {p: [] for p in PRECISIONS}
    t_r = float("inf")
    # The roofline runs for about as long as the engine, each right after it: on a shared machine
    # a long roofline sees more of the other tenants than a short engine run, and vice versa.
    seconds = {p: max(0.05, timed(runs[p])[0]) for p in PRECISIONS}
    for _ in range(repeat):  # each repetition: each precision's engine then its roof, then the reference
        for precision in PRECISIONS:
            wall, cpu = timed(runs[precision])
            best[precision] = {"wall": min(best[precision]["wall"], wall), "cpu": min(best[precision]["cpu"], cpu)}
            roof[precision].append(roofline.row_add_rate(network, np.dtype(precision), replay[precision], seconds[precision]))
        t_r = min(t_r, timed(run_r)[0])
    threads = roof["float64"][0]["threads"]
    row = {"model": network.name, "input": dataset.source, "samples": n, "reference_samples_per_s": n / t_r}
    for precision in PRECISIONS:
        top = {m: max(r[m] for r in roof[precision]) for m in ("per_core_wall", "per_core_cpu")}
        wall, cpu = best[precision]["wall"], best[precision]["cpu"]
        row[precision] = {
            "event_samples_per_s": n / wall,
            "speedup_over_float64_reference": t_r / wall,
            "accumulates_per_s_per_core": delivered[precision] / wall / threads,
            "accumulates_per_cpu_s": delivered[precision] / cpu,
            "roofline_per_core": top,
            "fraction_of_roofline": delivered[precision] / wall / threads / top["per_core_wall"],
            "fraction_of_roofline_cpu": delivered[precision] / cpu / top["per_core_cpu"],
        }
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    load_before = roofline.load_average()
    for name in ("ecg_icons2020", "shd_nmi2021", "ssc_nmi2021"):
        net = api.load_model(name)[0]
        if name.startswith("ecg"):
            ds = open_task("ecg", None)  # the shipped QTDB test set
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
    env = {"numba_threads": numba.get_num_threads(), "blas": blas, "cpus": os.cpu_count(),
           "load_before": load_before, "load_after": roofline.load_average()}
    if args.json:
        print(json.dumps({"environment": env, "results": rows}, indent=2))
        return 0
    print(f"cores {env['cpus']}, numba threads {env['numba_threads']}, BLAS {env['blas']}")
    print(f"load average before {env['load_before']}; after {env['load_after']}")
    head = (f"{'model':<15} {'samples':>7} {'ref samp/s':>10} {'f64 samp/s':>10} {'/ref':>6} {'acc/s/core':>10} "
            f"{'of roof':>7} {'(cpu)':>6} {'f32 samp/s':>10} {'/ref':>6} {'of roof':>7} {'(cpu)':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        a, b = r["float64"], r["float32"]
        print(f"{r['model']:<15} {r['samples']:>7} {r['reference_samples_per_s']:>10.1f} {a['event_samples_per_s']:>10.1f} "
              f"{a['speedup_over_float64_reference']:>5.1f}x {a['accumulates_per_s_per_core']:>10.3g} "
              f"{100 * a['fraction_of_roofline']:>6.0f}% {100 * a['fraction_of_roofline_cpu']:>5.0f}% "
              f"{b['event_samples_per_s']:>10.1f} {b['speedup_over_float64_reference']:>5.1f}x "
              f"{100 * b['fraction_of_roofline']:>6.0f}% {100 * b['fraction_of_roofline_cpu']:>5.0f}%")
    print("f64/f32 samp/s: the event engine in each precision; /ref: over the float64 reference.  acc/s/core: row")
    print("elements the float64 event engine added per second per core (wall time, all threads busy).  of roof: that")
    print("as a fraction of the roofline in the same precision (bench/roofline.py: the rows the engine added for two")
    print("samples, in its order, added again and nothing else); (cpu): the same fraction by CPU time.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
