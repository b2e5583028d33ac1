"""evsim against a plain PyTorch step loop of the same network, side by side in one process.

    python bench/peers.py [--models shd_nmi2021,ssc_nmi2021] [--samples 64] [--samples-b1 16]
                          [--repeat 3] [--density 0.05] [--threads N] [--json]

Peers, all on the same random binary inputs (5 % density, 250 steps) from the all-zero state:
  evsim event       the event engine, batches of api.default_batch_size, samples over threads
  evsim event b1    the event engine one sample per call (what a device serving one stream does)
  ... f32           the same with --precision float32 (weights and state in float32)
  evsim step        the event engine one step per call (engines.step, the `evsim stream` path)
  evsim reference   the dense NumPy reference, batches of 64
  torch b64 / b1    a PyTorch CPU loop over steps and layers (I = bias + s @ W.T, the neuron
                    update as in evsim.model), batch 64 and batch 1, in float32 (PyTorch's
                    default) and float64; torch's threads = Numba's threads
torch is optional: without it its rows say so.  Each repetition runs every peer once, one after
the other, and the best of `repeat` counts.  Printed: samples/s, per-step latency where one
call is one sample or one step, and the event engine's ratio to each peer; the torch rows also
give their prediction agreement with the event engine (a check that they run the same network).
Times are wall and CPU seconds (all threads of the process); on a shared machine the CPU-time
ratios are the steadier.  Quote ratios; absolute figures depend on the machine and its load
(printed).
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
from evsim import stream as streaming  # noqa: E402
from evsim.engines import event, step  # noqa: E402
from evsim.model import decide, initial_state  # noqa: E402
from evsim.tasks import open_task  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


class TorchLoop:
    """The network as a PyTorch step loop: one matrix product per projection and step, each
    layer's update by its neuron type's own step function (evsim/neurons) applied to tensors."""

    def __init__(self, torch, network, dtype):
        from evsim.engines.record import prepare

        self.torch, self.network, self.dtype = torch, network, dtype
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=dtype)  # noqa: E731
        rec = prepare(network)
        self.index = {layer.name: i for i, layer in enumerate(network.layers)}
        bounds = list(zip(rec.layer_off[:-1], rec.layer_off[1:]))
        self.coef = [tuple(t(col) for col in rec.coef[lo:hi].T) for lo, hi in bounds]
        self.bias = [t(rec.bias[lo:hi]) for lo, hi in bounds]
        self.opts = [tuple(int(o) for o in row) for row in rec.layer_opts]
        self.incoming = [[(p.source, p.delay, t(p.weight.T.copy())) for p in network.incoming(layer.name)]
                         for layer in network.layers]
        self.readout = self.index[network.readout.layer]

    def run(self, x):
        """x: (samples, steps, inputs) tensor, from the all-zero state; returns the readout trace
        (samples, steps, size)."""
        torch, net = self.torch, self.network
        n, steps, _ = x.shape
        layers = net.layers
        init = initial_state(net, np.arange(n), "zeros")
        as_t = lambda a: torch.as_tensor(a, dtype=self.dtype)  # noqa: E731
        v, i, a, s = ([as_t(getattr(st, k)) for st in init] for k in ("mem", "syn", "b", "spike"))
        history = [{-1: s[li]} for li in range(len(layers))]
        trace = torch.empty(n, steps, layers[self.readout].size, dtype=self.dtype)
        with torch.no_grad():
            for t in range(steps):
                for li, layer in enumerate(layers):
                    current = self.bias[li].expand(n, -1).clone()
                    for source, delay, w_t in self.incoming[li]:
                        ts = t - delay
                        if source == "input":
                            if ts < 0:
                                continue
                            current += x[:, ts] @ w_t
                        else:
                            src = history[self.index[source]].get(ts)
                            if src is not None:
                                current += src @ w_t
                    v[li], i[li], a[li], s[li] = (
                        out.to(self.dtype) for out in layer.type.step(self.coef[li], self.opts[li], v[li], i[li], a[li], s[li], current))
                    if layer.spiking:
                        history[li][t] = s[li]
                        history[li].pop(t - net.max_delay - 1, None)
                    if li == self.readout:
                        trace[:, t] = v[li]
        return trace


def measure(network, dataset, n: int, n_b1: int, repeat: int, torch) -> dict:
    prepared = event.prepare(network)
    prepared32 = event.prepare(network, "float32")
    steps = dataset.n_steps
    batches = list(dataset.batches(api.default_batch_size(network, "event"), 0, n))
    batches_ref = list(dataset.batches(64, 0, n))
    singles = list(dataset.batches(1, 0, n_b1))
    dense = np.concatenate([b.inputs.to_dense() for b in batches])
    zeros = initial_state(network, np.arange(1), "zeros")

    def run_event(prepared=prepared, precision="float64"):
        return [api.simulate(network, b.inputs, b.sample_ids, "event", prepared=prepared, precision=precision) for b in batches]

    def run_b1(prepared=prepared, precision="float64"):
        for b in singles:
            api.simulate(network, b.inputs, b.sample_ids, "event", prepared=prepared, precision=precision)

    def run_steps():
        go = step.Stepper(prepared)
        for b in singles:
            st = step.start(prepared, zeros)
            for channel, value in streaming.steps_of(b.inputs, 0):
                go(st, channel, value)

    def run_reference():
        for b in batches_ref:
            api.simulate(network, b.inputs, b.sample_ids, "reference")

    peers = {"evsim event": (run_event, n, False), "evsim event b1": (run_b1, n_b1, True),
             "evsim event f32": (lambda: run_event(prepared32, "float32"), n, False),
             "evsim event b1 f32": (lambda: run_b1(prepared32, "float32"), n_b1, True),
             "evsim step": (run_steps, n_b1, True), "evsim reference": (run_reference, n, False)}
    trace_event = np.concatenate([r.trace for r in run_event()])  # also the warm-up
    pred_event = decide(network.readout, trace_event)
    agreement = {}
    if torch is not None:
        for dtype_name in ("float32", "float64"):
            dtype = getattr(torch, dtype_name)
            loop = TorchLoop(torch, network, dtype)
            x = torch.as_tensor(dense, dtype=dtype)
            x1 = x[:n_b1]
            peers[f"torch b64 {dtype_name}"] = (lambda loop=loop, x=x: [loop.run(x[i : i + 64]) for i in range(0, len(x), 64)], n, False)
            peers[f"torch b1 {dtype_name}"] = (lambda loop=loop, x1=x1: [loop.run(x1[i : i + 1]) for i in range(len(x1))], n_b1, True)
            pred = decide(network.readout, loop.run(x).double().numpy())
            agreement[f"torch b64 {dtype_name}"] = agreement[f"torch b1 {dtype_name}"] = float(np.mean(pred == pred_event))
    for fn, _, _ in peers.values():  # warm-up (compiles, caches)
        fn()
    best = {name: [float("inf"), float("inf")] for name in peers}
    for _ in range(repeat):
        for name, (fn, _, _) in peers.items():
            wall, cpu = timed(fn)
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
    rows = []
    rate = {name: (count / best[name][0], count / best[name][1]) for name, (_, count, _) in peers.items()}
    for name, (_, count, per_stream) in peers.items():
        wall_rate, cpu_rate = rate[name]
        ratio = lambda ref, k: rate[ref][k] / rate[name][k]  # noqa: E731
        rows.append({
            "peer": name, "samples": count, "samples_per_s": wall_rate, "samples_per_cpu_s": cpu_rate,
            "step_latency_us": 1e6 / (wall_rate * steps) if per_stream else None,
            "event_over_peer": ratio("evsim event", 0), "event_over_peer_cpu": ratio("evsim event", 1),
            "event_b1_over_peer": ratio("evsim event b1", 0) if per_stream else None,
            "event_b1_over_peer_cpu": ratio("evsim event b1", 1) if per_stream else None,
            "event_f32_over_peer": ratio("evsim event f32", 0),
            "event_b1_f32_over_peer": ratio("evsim event b1 f32", 0) if per_stream else None,
            "prediction_agreement_with_event": agreement.get(name),
        })
    if torch is None:
        rows.append({"peer": "torch", "samples": 0, "samples_per_s": None, "note": "torch is not installed: no PyTorch rows"})
    return {"model": network.name, "input": dataset.source, "steps": steps, "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="shd_nmi2021,ssc_nmi2021")
    ap.add_argument("--samples", type=int, default=64, help="samples for the batched peers")
    ap.add_argument("--samples-b1", type=int, default=16, help="samples for the one-at-a-time peers")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--density", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=None, help="threads for Numba and torch (default: Numba's)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch = torch_or_none()
    import numba

    if args.threads:
        numba.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(numba.get_num_threads())
    load_before = roofline.load_average()
    results = []
    for name in args.models.split(","):
        net = api.load_model(name)[0]
        ds = open_task("random", None, n=args.samples, channels=net.n_inputs, steps=250, density=args.density, seed=0)
        results.append(measure(net, ds, args.samples, min(args.samples_b1, args.samples), args.repeat, torch))
    env = {"numba_threads": numba.get_num_threads(), "torch": torch.__version__ if torch else None,
           "torch_threads": torch.get_num_threads() if torch else None, "cpus": os.cpu_count(),
           "load_before": load_before, "load_after": roofline.load_average()}
    if args.json:
        print(json.dumps({"environment": env, "results": results}, indent=2))
        return 0
    print(f"cores {env['cpus']}, numba threads {env['numba_threads']}, torch {env['torch']} ({env['torch_threads']} threads)")
    print(f"load average before {env['load_before']}; after {env['load_after']}")
    for r in results:
        print(f"\n{r['model']} on {r['input']}")
        head = (f"{'peer':<18} {'samples':>7} {'samples/s':>9} {'/cpu-s':>7} {'µs/step':>8} {'event/peer':>10} {'(cpu)':>7} "
                f"{'b1/peer':>8} {'(cpu)':>7} {'f32/peer':>8} {'b1f32/p':>8} {'agree':>6}")
        print(head)
        print("-" * len(head))
        col = lambda v, width, suffix="": ("-" if v is None else f"{v:.2f}{suffix}").rjust(width)  # noqa: E731
        for row in r["rows"]:
            if row["samples_per_s"] is None:
                print(f"{row['peer']:<18} {row['note']}")
                continue
            print(f"{row['peer']:<18} {row['samples']:>7} {row['samples_per_s']:>9.1f} {row['samples_per_cpu_s']:>7.1f} "
                  f"{col(row['step_latency_us'], 8)} {col(row['event_over_peer'], 10, 'x')} {col(row['event_over_peer_cpu'], 7, 'x')} "
                  f"{col(row['event_b1_over_peer'], 8, 'x')} {col(row['event_b1_over_peer_cpu'], 7, 'x')} "
                  f"{col(row['event_f32_over_peer'], 8, 'x')} {col(row['event_b1_f32_over_peer'], 8, 'x')} "
                  f"{col(row['prediction_agreement_with_event'], 6)}")
    print("\nevent/peer: the batched event engine's samples/s over the peer's; b1/peer: evsim one sample per call over")
    print("the one-at-a-time peers; (cpu): the same by CPU time (samples per CPU-second of the process, all threads);")
    print("f32/peer, b1f32/p: the same for the event engine in float32 (--precision float32), by wall time.")
    print("agree: fraction of the torch loop's predictions equal to the event engine's.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
