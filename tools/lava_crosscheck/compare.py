"""Compare evsim's `loihi2` run of a model with Lava's run of the same network (run_netx.py's
npz): spikes, v and u of every layer on every step must be identical.

    python compare.py MODEL.h5 X.npy LAVA_OUT.npz        (X: inputs x steps, 0/1)
    python compare.py NET.net X.npy LAVA_OUT.npz --layers 7:11 --reset-interval 17
"""

import argparse

import numpy as np

from evsim import api
from evsim.engines import fixed
from evsim.events import EventBatch
from evsim.formats.h5 import load_network
from evsim.hardware.profile import load_profile
from evsim.hardware.quantize import quantize

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("x")
ap.add_argument("lava")
ap.add_argument("--layers")
ap.add_argument("--reset-interval", type=int, default=0)
a = ap.parse_args()
net = api.import_netx(a.model, a.layers, a.reset_interval) if a.model.endswith(".net") else load_network(a.model)
x, out = np.load(a.x), np.load(a.lava)
q = quantize(net, load_profile("loihi2"))
r = fixed.simulate(q.record, EventBatch.from_dense(x.T[None].astype(float)), record_spikes=True, record_mem=True)
same = True
for k, layer in enumerate(net.layers):
    checks = {"spikes": np.array_equal(r.spikes[k][0].T > 0, out[f"{k}.s"] > 0), "v": np.array_equal(r.mem[k][0].T, out[f"{k}.v"])}
    if r.syn[k] is not None:
        checks["u"] = np.array_equal(r.syn[k][0].T, out[f"{k}.u"])
    same &= all(checks.values())
    print(layer.name, f"{int(r.spikes[k].sum())} spikes", " ".join(f"{key} {'identical' if ok else 'DIFFERENT'}" for key, ok in checks.items()))
raise SystemExit(0 if same else 1)
