"""How cost grows with the work: input density, hidden size and sequence length.

    python bench/scaling.py [--samples 32] [--repeat 2] [--out bench/out/scaling] [--torch-dtype float32]

Three sweeps around the SHD paper model (random binary input, all-zero state):
  density   input spike probability 1 % .. 30 %, 250 steps
  hidden    hidden layers of 64 .. 1024 neurons, 5 % density, 250 steps: the SHD model resized
            (neuron i copies trained neuron i mod 128, with its time constants; weights from a
            hidden layer are scaled by 128 / size so that each neuron's input keeps its scale,
            and jittered by 5 % so that copies do not fire in lockstep)
  steps     sequences of 50 .. 1000 steps, 5 % density
For each point the event engine, the dense reference and the PyTorch step loop of bench/peers.py
(batch = all samples; skipped, and said so, without torch) run the same inputs; the best of
`repeat` counts.  Everything runs on one thread (Numba, BLAS, torch) and is timed in CPU seconds
of this process: the cost of the work, which other tenants of a shared machine disturb far less
than wall time (rates are per CPU-second, i.e. per core).  Written: a CSV (one row per sweep point and engine: samples/s, accumulates/s,
firing rate) and a PNG with samples/s and accumulates/s per sweep.  Accumulates: row elements
the event engine added (bench/roofline.delivered_accumulates); for the dense engines every
synapse every step (what they compute, zeros included).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy, Numba and torch start their thread pools

import argparse  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import roofline  # noqa: E402
from peers import TorchLoop, torch_or_none  # noqa: E402

from evsim import api  # noqa: E402
from evsim.engines import event  # noqa: E402
from evsim.model import Layer, Network, Projection  # noqa: E402
from evsim.tasks import open_task  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DENSITIES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3]
HIDDEN = [64, 128, 256, 512, 1024]
STEPS = [50, 100, 250, 500, 1000]


def resized(network: Network, size: int, seed: int = 0) -> Network:
    """The network with every hidden (spiking) layer resized to `size` neurons (see the module doc)."""
    rng = np.random.default_rng(seed)
    new_size = {layer.name: (size if layer.spiking else layer.size) for layer in network.layers}
    pick = {layer.name: np.arange(new_size[layer.name]) % layer.size for layer in network.layers}
    layers = []
    for layer in network.layers:
        i = pick[layer.name]
        params = {k: np.asarray(v)[i] for k, v in layer.params.items()}
        layers.append(Layer(layer.name, new_size[layer.name], layer.neuron, params, dict(layer.options)))
    projections = []
    for p in network.projections:
        rows = pick[p.target]
        cols = np.arange(network.n_inputs) if p.source == "input" else pick[p.source]
        scale = 1.0 if p.source == "input" else network.layer(p.source).size / new_size[p.source]
        w = p.weight[np.ix_(rows, cols)] * scale * (1 + 0.05 * rng.standard_normal((len(rows), len(cols))))
        projections.append(Projection(p.source, p.target, w, p.bias[rows], p.delay))
    return network.replace(name=f"{network.name}@{size}", layers=layers, projections=projections, golden=[])


def best_time(fn, repeat: int) -> float:
    """The least CPU time of `repeat` calls (after a warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def point(network: Network, n: int, steps: int, density: float, repeat: int, torch, torch_dtype) -> list[dict]:
    data = open_task("random", None, n=n, channels=network.n_inputs, steps=steps, density=density, seed=0)
    batch = next(data.batches(n))
    prepared = event.prepare(network)
    result = api.simulate(network, batch.inputs, batch.sample_ids, "event", prepared=prepared)
    delivered = roofline.delivered_accumulates(network, result.counts.events.sum(axis=0))
    neurons = sum(layer.size for layer in network.layers if layer.spiking)
    rate = float(result.counts.spikes.sum() / (n * steps * neurons))
    dense = api.dense_equivalent_per_step(network) * steps * n
    runs = {
        "event": (lambda: api.simulate(network, batch.inputs, batch.sample_ids, "event", prepared=prepared), delivered),
        "reference": (lambda: api.simulate(network, batch.inputs, batch.sample_ids, "reference"), dense),
    }
    if torch is not None:
        loop = TorchLoop(torch, network, getattr(torch, torch_dtype))
        x = torch.as_tensor(batch.inputs.to_dense(), dtype=getattr(torch, torch_dtype))
        runs[f"pytorch {torch_dtype}"] = (lambda: loop.run(x), dense)
    rows = []
    for engine, (fn, accumulates) in runs.items():
        t = best_time(fn, repeat)
        rows.append({"engine": engine, "samples_per_cpu_s": n / t, "accumulates_per_cpu_s": accumulates / t,
                     "accumulates_per_sample": accumulates / n, "firing_rate": rate})
    return rows


def plot(rows: list[dict], path: Path, torch_note: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweeps = [("density", "input density", True), ("hidden", "hidden neurons per layer", True), ("steps", "steps per sample", True)]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    engines = list(dict.fromkeys(r["engine"] for r in rows))
    style = {"event": ("tab:red", "o"), "reference": ("tab:blue", "s")}
    for col, (sweep, label, logx) in enumerate(sweeps):
        for engine in engines:
            pts = [r for r in rows if r["sweep"] == sweep and r["engine"] == engine]
            xs = [r["value"] for r in pts]
            color, marker = style.get(engine, ("tab:green", "^"))
            axes[0, col].plot(xs, [r["samples_per_cpu_s"] for r in pts], marker=marker, color=color, label=engine)
            axes[1, col].plot(xs, [r["accumulates_per_cpu_s"] for r in pts], marker=marker, color=color, label=engine)
        for row in (0, 1):
            ax = axes[row, col]
            ax.set_yscale("log")
            if logx:
                ax.set_xscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.set_xlabel(label)
        axes[0, col].set_ylabel("samples / CPU-second (one thread)")
        axes[1, col].set_ylabel("accumulates / CPU-second\n(event: delivered; dense: every synapse)")
        axes[0, col].set_title(f"sweep: {sweep}")
    axes[0, 0].legend()
    title = "evsim event engine vs dense reference vs PyTorch step loop (SHD model, random input)"
    if torch_note:
        title += f"\n{torch_note}"
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scaling")
    ap.add_argument("--torch-dtype", choices=("float32", "float64"), default="float32")
    args = ap.parse_args()
    torch = torch_or_none()
    if torch is not None:
        torch.set_num_threads(1)
    torch_note = None if torch else "torch is not installed: no PyTorch series"
    shd = api.load_model("shd_nmi2021")[0]
    load_before = roofline.load_average()
    rows = []
    plan = ([("density", d, shd, 250, d) for d in DENSITIES]
            + [("hidden", h, resized(shd, h), 250, 0.05) for h in HIDDEN]
            + [("steps", s, shd, s, 0.05) for s in STEPS])
    for sweep, value, net, steps, density in plan:
        for r in point(net, args.samples, steps, density, args.repeat, torch, args.torch_dtype):
            rows.append({"sweep": sweep, "value": value, **r})
            print(f"{sweep:<8} {value:>7g}  {r['engine']:<16} {r['samples_per_cpu_s']:>10.1f} samples/cpu-s  "
                  f"{r['accumulates_per_cpu_s']:>10.3g} acc/cpu-s  firing rate {r['firing_rate']:.3f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = args.out.with_suffix(".csv"), args.out.with_suffix(".png")
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, png_path, torch_note)
    print(f"load average before {load_before}; after {roofline.load_average()}")
    if torch_note:
        print(torch_note)
    print(f"wrote {csv_path} and {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
