"""Run a netx file's dense stack in Lava's bit-accurate CPU models (Loihi2SimCfg, fixed_pt) on
given input spikes; save spikes, u and v of every block per step (npz)."""
import sys
import numpy as np
import stub  # noqa: F401
from lava.lib.dl.netx import hdf5
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.source import RingBuffer
from lava.proc.monitor.process import Monitor

path, x_path, out_path = sys.argv[1:4]
skip, num, interval, offset = (int(a) for a in sys.argv[4:8])
x = np.load(x_path)  # (inputs, steps)
steps = x.shape[1]
kw = dict(net_config=path, skip_layers=skip)
if num:
    kw["num_layers"] = num
if interval:
    kw.update(reset_interval=interval, reset_offset=offset)
net = hdf5.Network(**kw)
src = RingBuffer(data=x.astype(np.int32))
src.s_out.connect(net.inp)
mons = []
for block in net.layers:
    m = {}
    for var in ("u", "v"):
        mon = Monitor()
        mon.probe(getattr(block.neuron, var), steps)
        m[var] = mon
    mons.append(m)
spk = []
for block in net.layers:
    mon = Monitor()
    mon.probe(block.neuron.s_out, steps)
    spk.append(mon)
net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
out = {}
for k, (m, s) in enumerate(zip(mons, spk)):
    for var in ("u", "v"):
        d = m[var].get_data()
        out[f"{k}.{var}"] = np.asarray(list(list(d.values())[0].values())[0]).T
    d = s.get_data()
    out[f"{k}.s"] = np.asarray(list(list(d.values())[0].values())[0]).T
net.stop()
np.savez(out_path, **out)
print("ok", {k: v.shape for k, v in out.items()})
