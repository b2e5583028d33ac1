"""A 2-D bit-width sweep, serial against a local Dask cluster, side by side in one run.

    python bench/cluster.py [--samples N] [--workers W] [--json]

The SHD paper model (shd_nmi2021, imported from $EVSIM_PAPER_MODELS like `evsim import`) is
swept over weight bits 4,6,8 x state bits 12,16 of the `loihi` profile (6 settings + the float
side) on a generated SHD file (random spikes, the real SHD layout, read by the real reader).
Measured, after a warm-up that loads the Numba kernels everywhere:

  serial         audit.sweep in this process, Numba on all cores (the default) and on one
  distributed    evsim.distributed.sweep on W worker processes (one Numba thread per core each),
                 with the default chunking and with one batch per chunk
  overhead       per chunk: (one-batch chunks - default chunks) / (their chunk counts' difference);
                 the workers' time not spent in chunks (W x wall - compute) / chunks; and the
                 scheduler's round trip for an empty task

The two sweeps' CSVs are compared byte for byte.  Quote the ratios with the machine's load
(printed): on a machine shared with other work, wall-clock speedups understate what idle cores give.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from distributed import get_task_stream  # Dask's; evsim.distributed is imported below

from evsim import audit as hwapi
from evsim import distributed
from evsim.formats.h5 import save_network
from evsim.formats.manifest import import_manifest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from datagen import random_spikes, write_spike_file  # noqa: E402

WEIGHT_BITS, STATE_BITS = [4, 6, 8], [12, 16]
BATCH = 16


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _task_numba_threads() -> int:
    import numba

    distributed._numba_threads()
    return numba.get_num_threads()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--spikes", type=float, default=3000, help="mean input spikes per sample (SHD's test set: ~8,000)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import numba

    models = Path(os.environ.get("EVSIM_PAPER_MODELS", ROOT.parent / "shared" / "paper-models"))
    tmp = Path(tempfile.mkdtemp(prefix="evsim-bench-cluster-"))
    save_network(import_manifest(models / "shd_nmi2021.json"), tmp / "shd_nmi2021.h5")
    times, units = random_spikes(np.random.default_rng(0), args.samples, args.spikes)
    write_spike_file(tmp / "shd_test.h5", times, units, np.arange(args.samples) % 20)
    source = distributed.Source(str(tmp / "shd_nmi2021.h5"), "shd", str(tmp))
    network, dataset = source.open()
    sweep_args = ("loihi", WEIGHT_BITS, STATE_BITS)
    load = [os.getloadavg()[0]]

    hwapi.sweep(network, dataset, *sweep_args, limit=BATCH, batch_size=BATCH)  # warm-up: kernels loaded
    cores = numba.get_num_threads()
    t_serial, serial = timed(lambda: hwapi.sweep(network, dataset, *sweep_args, batch_size=BATCH))
    numba.set_num_threads(1)
    t_serial1, _ = timed(lambda: hwapi.sweep(network, dataset, *sweep_args, batch_size=BATCH))
    numba.set_num_threads(cores)
    load.append(os.getloadavg()[0])

    t_start, ctx = timed(lambda: distributed.connect(workers=args.workers))
    t_enter, session = timed(ctx.__enter__)
    try:
        t_warm, _ = timed(lambda: distributed.sweep(session, source, *sweep_args, limit=BATCH * args.workers, batch_size=BATCH))
        threads = session.client.gather(session.client.submit(_task_numba_threads, pure=False))
        n_default = []
        with get_task_stream(client=session.client) as stream:
            t_dist, dist = timed(lambda: distributed.sweep(session, source, *sweep_args, batch_size=BATCH, progress=lambda d, n: n_default.append(n)))
        computing = sum(x["stop"] - x["start"] for task in stream.data for x in task["startstops"] if x["action"] == "compute")
        n_small = []
        t_small, _ = timed(lambda: distributed.sweep(session, source, *sweep_args, batch_size=BATCH, chunk_samples=BATCH,
                                                     progress=lambda d, n: n_small.append(n)))  # fmt: skip
        t_empty, _ = timed(lambda: session.client.gather([session.client.submit(int, i, pure=False) for i in range(200)]))
    finally:
        ctx.__exit__(None, None, None)
    load.append(os.getloadavg()[0])

    serial.write_csv(tmp / "serial.csv")
    dist.write_csv(tmp / "dist.csv")
    identical = (tmp / "serial.csv").read_bytes() == (tmp / "dist.csv").read_bytes()
    chunks, chunks_small = n_default[-1], n_small[-1]
    result = {
        "samples": args.samples,
        "settings": len(WEIGHT_BITS) * len(STATE_BITS),
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "load_average_1min": load,
        "serial_s": t_serial,
        "serial_1_thread_s": t_serial1,
        "numba_threads_serial": cores,
        "cluster_start_s": t_start + t_enter,
        "cluster_warmup_sweep_s": t_warm,
        "distributed_s": t_dist,
        "chunks": chunks,
        "distributed_one_batch_chunks_s": t_small,
        "chunks_one_batch": chunks_small,
        "speedup_vs_serial": t_serial / t_dist,
        "speedup_vs_serial_1_thread": t_serial1 / t_dist,
        "speedup_vs_serial_incl_start": t_serial / (t_dist + t_start + t_enter),
        "numba_threads_per_worker": threads,
        "worker_compute_s": computing,
        "idle_worker_time_per_chunk_s": (args.workers * t_dist - computing) / chunks,
        "overhead_per_chunk_s": (t_small - t_dist) / (chunks_small - chunks) if chunks_small != chunks else None,
        "empty_task_round_trip_s": t_empty / 200,
        "csv_identical": identical,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.samples} SHD-layout samples x ({result['settings']} settings + float), shd_nmi2021, loihi; "
              f"{os.cpu_count()} cores, load average {' -> '.join(f'{x:.1f}' for x in load)}")  # fmt: skip
        print(f"serial, Numba on {cores} threads     {t_serial:8.2f} s")
        print(f"serial, Numba on 1 thread       {t_serial1:8.2f} s")
        print(f"--workers {args.workers}: start {t_start + t_enter:.2f} s, warm-up {t_warm:.2f} s")
        print(f"--workers {args.workers}, {chunks:3d} chunks        {t_dist:8.2f} s   speedup {result['speedup_vs_serial']:.2f}x "
              f"(vs 1 thread {result['speedup_vs_serial_1_thread']:.2f}x; with start-up {result['speedup_vs_serial_incl_start']:.2f}x)")  # fmt: skip
        print(f"  chunks' compute time on the workers {computing:.2f} s ({computing / t_serial1:.2f}x the 1-thread serial run), "
              f"idle worker time {result['idle_worker_time_per_chunk_s'] * 1e3:.0f} ms per chunk; Numba threads per worker {threads}")  # fmt: skip
        print(f"--workers {args.workers}, {chunks_small:3d} chunks        {t_small:8.2f} s")
        oh = result["overhead_per_chunk_s"]
        print(f"overhead per chunk             {oh * 1e3 if oh is not None else float('nan'):8.1f} ms  "
              f"(empty task round trip {result['empty_task_round_trip_s'] * 1e3:.1f} ms)")  # fmt: skip
        print(f"CSV byte-identical             {identical}")
    if not identical:
        sys.exit("distributed CSV differs from the serial one")


if __name__ == "__main__":
    main()
