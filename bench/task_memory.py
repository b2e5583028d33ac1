"""Peak memory of streaming an SSC-sized file through the `ssc` task (not a unit test).

Writes a synthetic file in the real layout (tests/datagen.py) into a temporary directory:
20,000 samples (about the size of ssc_test.h5) with Poisson(8,000) spikes each, uniform over
~1 s and 700 units, float16 times; then iterates every batch of `ssc` in a fresh subprocess (so
the generator's memory does not count) and prints the subprocess's peak RSS (getrusage maxrss)
and the tracemalloc peak of the iteration, beside the file size and a dense array's size.

    python bench/task_memory.py [--samples 20000] [--spikes 8000] [--batch 256] [--gz]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n < 2**30 else f"{n / 2**30:,.1f} GiB"


def generate(directory: Path, samples: int, spikes: float, gz: bool, seed: int = 0) -> Path:
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests"))
    from datagen import random_spikes, write_spike_file_chunked

    rng = np.random.default_rng(seed)
    chunk = 500

    def chunks():
        for start in range(0, samples, chunk):
            yield random_spikes(rng, min(chunk, samples - start), spikes, t_max=1.0)

    labels = rng.integers(0, 35, samples)
    name = "ssc_test.h5.gz" if gz else "ssc_test.h5"
    return write_spike_file_chunked(directory / name, samples, chunks(), labels)


def iterate(directory: str, batch: int) -> None:
    """Child process: open, iterate all batches, report memory as JSON on stdout."""
    import tracemalloc

    from evsim.tasks import open_task

    rss_before_open = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t_open = time.perf_counter()
    ds = open_task("ssc", directory)
    t_open = time.perf_counter() - t_open
    rss_open = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    t0 = time.perf_counter()
    events = 0
    largest_batch = 0
    for b in ds.batches(batch):
        events += b.inputs.n_events
        nbytes = b.inputs.step_ptr.nbytes + b.inputs.channel.nbytes + b.inputs.value.nbytes
        largest_batch = max(largest_batch, nbytes)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ds.close()
    print(json.dumps({
        "samples": ds.n_samples, "events": events, "seconds": seconds, "open_seconds": t_open, "tracemalloc_peak": peak,
        "maxrss_before_open": rss_before_open, "maxrss_after_open": rss_open, "maxrss": rss,
        "largest_event_batch": largest_batch,
    }))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--spikes", type=float, default=8_000, help="mean spikes per sample (Poisson)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--gz", action="store_true", help="gzip the file (the task decompresses it to TMPDIR)")
    ap.add_argument("--iterate", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.iterate:
        iterate(args.iterate, args.batch)
        return
    with tempfile.TemporaryDirectory(prefix="evsim-bench-") as tmp:
        t0 = time.perf_counter()
        path = generate(Path(tmp), args.samples, args.spikes, args.gz)
        print(f"generated {path.name}: {args.samples} samples x ~{args.spikes:,.0f} spikes, "
              f"{mib(path.stat().st_size)} in {time.perf_counter() - t0:.0f} s")
        out = subprocess.run(
            [sys.executable, __file__, "--iterate", tmp, "--batch", str(args.batch)],
            check=True, capture_output=True, text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        file_size = path.stat().st_size
    cells = r["samples"] * 250 * 700
    print(f"iterated {r['samples']} samples in batches of {args.batch}: {r['events']:,} events, {r['seconds']:.1f} s "
          f"(open {r['open_seconds']:.1f} s)")
    print(f"  peak RSS (maxrss) of the process : {mib(r['maxrss'])}  "
          f"(after imports {mib(r['maxrss_before_open'])}, after open {mib(r['maxrss_after_open'])})")
    print(f"  tracemalloc peak of the iteration: {mib(r['tracemalloc_peak'])}  "
          f"(largest EventBatch {mib(r['largest_event_batch'])})")
    print(f"  file size                        : {mib(file_size)}")
    print(f"  dense samples x 250 x 700        : {mib(cells)} as uint8/bool, {mib(cells * 4)} float32, {mib(cells * 8)} float64")


if __name__ == "__main__":
    main()
