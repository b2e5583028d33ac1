"""The event engine against another version of evsim, interleaved in one process.

    python bench/engines_against.py REV [--samples N] [--repeat R]

REV is a git revision of this repository (e.g. main).  Its `evsim` package is extracted to a
temporary folder as `evsim_other` and both versions run the same batches of the three paper
models (ECG on the QTDB test set, SHD and SSC on random 5 % input, 250 steps), alternating
run by run, so that both see the same machine load; the results must be identical.  Printed:
samples/s of each and the speed ratio this/other (best of R, and the ratio of the medians).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rev")
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="evsim-other-"))
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", args.rev, "evsim"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(tmp, filter="data")
    (tmp / "evsim").rename(tmp / "evsim_other")  # the package uses relative imports within itself
    sys.path.insert(0, str(tmp))
    import evsim_other.api as api_o
    import evsim_other.engines.event as event_o
    from evsim_other.formats.manifest import import_manifest as import_o

    from evsim import api
    from evsim.engines import event
    from evsim.formats.manifest import import_manifest
    from evsim.tasks import open_task

    models = Path(os.environ.get("EVSIM_PAPER_MODELS", ROOT.parent / "shared" / "paper-models"))
    data = Path(os.environ.get("EVSIM_DATA_DIR", ROOT.parent / "shared" / "data"))
    for name in ("ecg_icons2020", "shd_nmi2021", "ssc_nmi2021"):
        net, net_o = import_manifest(models / f"{name}.json"), import_o(models / f"{name}.json")
        if name.startswith("ecg") and (data / "qtdb" / "QTDB_test.mat").is_file():
            ds = open_task("ecg", data)
        else:
            ds = open_task("random", None, n=args.samples, channels=net.n_inputs, steps=250, density=0.05, seed=0)
        batches = list(ds.batches(32, 0, args.samples))
        p, p_o = event.prepare(net), event_o.prepare(net_o)
        run = lambda: [api.simulate(net, b.inputs, b.sample_ids, "event", prepared=p) for b in batches]  # noqa: E731
        run_o = lambda: [api_o.simulate(net_o, b.inputs, b.sample_ids, "event", prepared=p_o) for b in batches]  # noqa: E731
        for a, b in zip(run(), run_o()):  # warm-up (compiles) and the same results
            assert np.array_equal(a.trace, b.trace) and a.counts.equals(b.counts), f"{name}: the versions disagree"
        t, t_o = [], []
        for _ in range(args.repeat):
            for fn, acc in ((run_o, t_o), (run, t)):
                t0 = time.perf_counter()
                fn()
                acc.append(time.perf_counter() - t0)
        n = sum(len(b.sample_ids) for b in batches)
        print(f"{name:15s} {n:4d} samples: {args.rev} {n / min(t_o):7.1f} samp/s, this {n / min(t):7.1f} samp/s, "
              f"this/{args.rev} {min(t_o) / min(t):.2f} (medians {np.median(t_o) / np.median(t):.2f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
