"""Training: surrogate, fused BPTT vs autograd, torch vs evsim engines, a smoke run, resume, CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import torch  # the test extra installs torch (README: the CPU wheel); a missing one fails here, never skips

from evsim.errors import EvsimError  # noqa: E402
from evsim.training import TrainConfig  # noqa: E402
from evsim.training.srnn import SRNN, sequence_loss, spike_fn, surrogate_derivative  # noqa: E402


def closed_form(x, sigma=0.5, h=0.15, s=6.0, gamma=0.5):
    n = lambda x, mu, sd: np.exp(-((x - mu) ** 2) / (2 * sd**2)) / (sd * math.sqrt(2 * math.pi))  # noqa: E731
    return gamma * ((1 + h) * n(x, 0, sigma) - h * n(x, sigma, s * sigma) - h * n(x, -sigma, s * sigma))


def test_surrogate_gradient_is_the_multi_gaussian():
    xs = np.array([-3.0, -1.2, -0.5, -0.1, 0.0, 1e-3, 0.3, 0.5, 0.9, 2.0, 4.0])
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    out = spike_fn(x, 0.5, 0.15, 6.0, 0.5)
    assert out.tolist() == [float(v > 0) for v in xs]  # Heaviside, strict >
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), closed_form(xs), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(surrogate_derivative(torch.tensor(xs)).numpy(), closed_form(xs), rtol=1e-12)
    from evsim.training.kernels import surrogate_grad

    np.testing.assert_allclose([surrogate_grad(v, 0.5, 0.15, 6.0, 0.5) for v in xs], closed_form(xs), rtol=1e-12)
    # the negative side lobes: the surrogate dips below zero away from threshold
    assert closed_form(np.array([1.5]))[0] < 0


def _random_model(config: TrainConfig, n_in=4, n_out=3, seed=0):
    torch.manual_seed(seed)
    m = SRNN(n_in, n_out, config).double()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("tau_"):
                continue
            p.add_(0.3 * torch.randn_like(p))
            if m.xylo and name.startswith(("ff.", "rec.")):
                p.mul_(2.5)  # Xylo's membrane has no (1 - alpha) gain: weights of threshold scale (1)
        for name in m.hidden_names:
            m.tau_m[name].uniform_(2.0, 30.0)
            m.tau_r()[name].uniform_(2.0, 8.0) if m.xylo else m.tau_adp[name].uniform_(3.0, 200.0)
    return m


XYLO = dict(dynamics="xylo", hidden_b_j0=1.0, output_neuron="leaky-integrator", output_beta=0.0, output_b_j0=0.0, epochs=2,
            dt=0.004)
CASES = [
    dict(),  # the ECG recipe: lif hidden, alif output
    dict(hidden_neuron="alif", hidden_beta=1.8, init_state="uniform"),
    dict(output_neuron="leaky-integrator", output_beta=0.0, init_state="uniform"),
    dict(output_neuron="lif", output_beta=0.0, recurrent=False),
    dict(hidden_size=[6, 5, 4], hidden_neuron="alif", hidden_beta=1.8, init_state="uniform"),  # three hidden layers
    XYLO,  # Xylo's neuron: current-based, several spikes per step, delay-1 readout
    {**XYLO, "hidden_size": [6, 5]},  # two hidden layers, the second fed at delay 1
    {**XYLO, "output_neuron": "lif", "output_b_j0": 0.8, "recurrent": False, "max_spikes": 1},
]


@pytest.mark.parametrize("overrides", CASES)
def test_fused_backward_equals_autograd(overrides):
    c = TrainConfig(**{"hidden_size": 7, "from_step": 3, **overrides})
    m = _random_model(c)
    x = (torch.rand(5, 40, 4, generator=torch.Generator().manual_seed(1)) < 0.3).double()
    y = torch.randint(0, 3, (5, 40), generator=torch.Generator().manual_seed(2))
    state = m.initial_state(5, generator=torch.Generator().manual_seed(3))
    results = {}
    for backend in ("fused", "autograd"):
        m.zero_grad()
        mem, s_h, _ = m(x, state, backend=backend)
        sequence_loss(mem, y, 3).backward()
        grads = {n: (p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for n, p in m.named_parameters()}
        results[backend] = (mem.detach(), s_h, grads)
    s_h = results["fused"][1]
    offsets = np.cumsum([0] + c.hidden_sizes)
    for lo, hi in zip(offsets[:-1], offsets[1:]):  # every hidden layer spikes: the test exercises the surrogate
        assert s_h[:, :, lo:hi].sum() > 0
    if c.dynamics == "xylo" and c.max_spikes > 1:
        assert s_h.max() > 1  # several spikes in one step: the multi-spike count and its surrogate
    np.testing.assert_allclose(results["fused"][0], results["autograd"][0], atol=1e-12)
    np.testing.assert_array_equal(results["fused"][1], results["autograd"][1])
    assert results["autograd"][2]
    for name, g in results["autograd"][2].items():
        np.testing.assert_allclose(results["fused"][2][name], g, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("overrides", CASES[:3] + CASES[4:])
@pytest.mark.parametrize("rule", ["zeros", "paper"])
def test_float64_forward_equals_evsim_engines(overrides, rule):
    from evsim import api
    from evsim.events import EventBatch
    from evsim.model import initial_state

    c = TrainConfig(**{"hidden_size": 9, "from_step": 2, **overrides})
    m = _random_model(c, seed=4)
    net = m.to_network("rand")
    x = (np.random.default_rng(5).random((3, 60, 4)) < 0.25).astype(np.float64)
    ids = np.arange(3)
    st = initial_state(net, ids, rule, seed=11)
    keys = ("mem", "spike", "syn") if c.dynamics == "xylo" else ("mem", "spike", "b")  # xylo: adp is the current
    tstate = [torch.from_numpy(np.concatenate([getattr(s, k) for s in st], axis=1)) for k in keys]
    with torch.no_grad():
        mem, s_h, _ = m(torch.from_numpy(x), tstate, backend="fused")
    assert s_h.sum() > 0
    for engine in ("reference", "event"):
        res = api.simulate(net, EventBatch.from_dense(x), ids, engine=engine, init=rule, seed=11)
        np.testing.assert_allclose(res.trace, mem.numpy(), rtol=0, atol=1e-9, err_msg=engine)


def _synthetic_config(**kw):
    base = dict(task="ecg-synthetic", task_options={"n": 6, "seed": 3}, hidden_size=8, epochs=2, batch_size=4,
                n_golden=2, lr=2e-2)
    base.update(kw)
    return TrainConfig(**base)


def test_training_smoke_and_export_round_trip(tmp_path):
    from evsim import api
    from evsim.formats.h5 import load_network
    from evsim.training.trainer import train

    c = _synthetic_config()
    torch.manual_seed(c.seed)
    before = SRNN(4, 6, c).state_dict()
    out = tmp_path / "m.h5"
    res = train(c, out=out, progress=False, log=lambda m: None, command="test")
    losses = [h["loss"] for h in res.history]
    assert len(losses) == 2 and all(np.isfinite(losses))
    after = res.model.state_dict()
    assert any(not torch.equal(before[k].double(), after[k].double()) for k in before)
    net = load_network(out)
    assert [layer.name for layer in net.layers] == ["h", "o"]
    assert [(p.source, p.target, p.delay) for p in net.projections] == [("input", "h", 0), ("h", "h", 1), ("h", "o", 0)]
    assert net.readout.from_step == 10 and net.readout.aggregate == "per_step"
    assert net.initial_state.default.mem == "uniform"
    np.testing.assert_array_equal(net.projections[0].weight, res.model.ff["h"].weight.detach().double().numpy())
    assert net.metadata["recipe"]["hidden_size"] == 8 and net.metadata["epochs"] == 2
    assert "torch" in net.metadata["versions"] and "evaluation" in net.metadata
    assert len(net.golden) == 2 and net.golden[0].tolerance == pytest.approx(1e-6)
    for check in api.check_golden(net):
        assert check.passed and check.max_abs_diff < 1e-9, check


XYLO_SYNTH = {**{k: v for k, v in XYLO.items() if k != "epochs"}, "hidden_size": [6, 5], "tau_snap_epoch": 1,
              "hidden_tau_m": 12.0, "hidden_tau_syn": 3.0}


@pytest.mark.parametrize("overrides", [{}, XYLO_SYNTH])
def test_resume_continues_exactly(tmp_path, overrides):
    """xylo: the time constants snap to powers of two at epoch 1 and stay frozen after the resume."""
    from evsim.training.trainer import train

    quiet = dict(progress=False, log=lambda m: None, evaluate_with_evsim=False)
    straight = train(_synthetic_config(epochs=3, **overrides), checkpoint=tmp_path / "a.ckpt", **quiet)
    train(_synthetic_config(epochs=2, **overrides), checkpoint=tmp_path / "b.ckpt", **quiet)
    lines = []
    resumed = train(_synthetic_config(epochs=3, **overrides), checkpoint=tmp_path / "b.ckpt", resume=tmp_path / "b.ckpt",
                    progress=False, log=lines.append, evaluate_with_evsim=False)
    assert len(resumed.history) == 3
    # epochs 0 and 1 were done: the message and the next epoch line agree on where it goes on
    resume_line = next(m for m in lines if "resumed" in m)
    assert "epochs 0..1 done, continuing with epoch 2" in resume_line
    assert [m.split()[1] for m in lines if m.startswith("epoch ")] == ["2"]
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_xylo_training_exports_xylo_neurons(tmp_path):
    """Learned time constants snap to dt * 2^dash; the export is cuba-lif / cuba-li with Xylo's
    delays, and evsim's engines reproduce the trainer's float64 trace (golden records)."""
    from evsim import api
    from evsim.formats.h5 import load_network
    from evsim.training.trainer import train

    c = _synthetic_config(**XYLO_SYNTH)
    torch.manual_seed(c.seed)
    res = train(c, out=tmp_path / "x.h5", progress=False, log=lambda m: None, command="test")
    net = load_network(tmp_path / "x.h5")
    assert [(layer.name, layer.neuron) for layer in net.layers] == [("h1", "cuba-lif"), ("h2", "cuba-lif"), ("o", "cuba-li")]
    assert [(p.source, p.target, p.delay) for p in net.projections] == [
        ("input", "h1", 0), ("h1", "h1", 1), ("h1", "h2", 1), ("h2", "h2", 1), ("h2", "o", 1)]
    assert net.dt == 0.004 and net.discretization == "euler"
    for layer in net.layers:
        for key in ("tau_mem", "tau_syn"):
            dash = np.log2(layer.params[key] / net.dt)
            np.testing.assert_array_equal(dash, np.round(dash))  # powers of two: Xylo's bit-shift decays
            assert dash.min() >= (1 if key == "tau_syn" else 0) and dash.max() <= 15
        assert not np.array_equal(layer.params["v_leak"], np.zeros(layer.size))  # the membrane biases were learned
    h1 = net.layer("h1")
    assert h1.options["max_spikes"] == 31 and h1.options["reset_at"] == "same-step" and h1.options["update"] == "sequential"
    # 1 - 1/tau_syn and the unit gains of Xylo's neuron, as the registry's coefficients
    coef = h1.coefficients(net.dt, net.discretization)
    np.testing.assert_array_equal(coef[:, 1], np.ones(h1.size))
    tau_syn_steps = res.model.tau_syn["h1"].detach().double().numpy()
    np.testing.assert_array_equal(coef[:, 6], 1 - 1 / tau_syn_steps)
    assert all(np.all(p.bias == 0) for p in net.projections)
    for check in api.check_golden(net):
        assert check.passed and check.max_abs_diff < 1e-9, check


def test_fixed_seed_reproduces():
    from evsim.training.trainer import train

    quiet = dict(progress=False, log=lambda m: None, evaluate_with_evsim=False)
    a = train(_synthetic_config(epochs=1, init_state="uniform"), **quiet)
    b = train(_synthetic_config(epochs=1, init_state="uniform"), **quiet)
    assert a.history[0]["loss"] == b.history[0]["loss"]
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k])


def test_config_errors(tmp_path):
    with pytest.raises(EvsimError, match="hidden_beta"):
        TrainConfig(hidden_neuron="lif", hidden_beta=1.0)
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"epochs": 3, "learning_rate": 1}))
    with pytest.raises(EvsimError, match="unknown key"):
        TrainConfig.from_json(bad)
    good = tmp_path / "g.json"
    good.write_text(json.dumps({"epochs": 3, "hidden_size": 20}))
    assert TrainConfig.from_json(good).hidden_size == 20
    from evsim.training.trainer import load_checkpoint

    with pytest.raises(EvsimError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.ckpt")


def test_cli_train_command(tmp_path, cli):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"hidden_size": 6, "batch_size": 3, "n_golden": 1}))
    out = tmp_path / "cli.h5"
    code, _, err = cli("train", "--task", "ecg-synthetic", "--task-option", "n=3", "--epochs", "1", "--config", cfg,
                       "--out", out, "--quiet", "--no-eval", "--set", "lr_step=5")
    assert code == 0, err
    from evsim.formats.h5 import load_network

    net = load_network(out)
    assert net.layer("h").size == 6 and net.metadata["recipe"]["lr_step"] == 5
    code, _, err = cli("train", "--task", "ecg-synthetic", "--set", "bogus=1", "--out", out)
    assert code == 2
    assert "bogus" in err


def test_importing_evsim_does_not_import_torch():
    code = "import sys, evsim, evsim.tasks, evsim.training, evsim.cli_train; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


class _RunsCode:
    """A pickle payload that would create a file when unpickled without weights_only."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_resume_refuses_a_checkpoint_that_would_run_code(tmp_path):
    from evsim.training.trainer import load_checkpoint

    marker = tmp_path / "code-ran"
    torch.save({"format": "evsim-train-checkpoint-1", "payload": _RunsCode(marker)}, tmp_path / "evil.ckpt")
    with pytest.raises(EvsimError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "evil.ckpt")
    assert not marker.exists(), "unpickling ran code from the checkpoint"
