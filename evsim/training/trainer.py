"""The training loop: data, optimiser, progress, checkpoints, export to evsim's HDF5 format."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..errors import EvsimError
from .config import TrainConfig
from .data import DenseData, load_dense, open_dataset
from .srnn import SRNN, sequence_loss

CHECKPOINT_FORMAT = "evsim-train-checkpoint-2"  # 2: layers by name (ff.h, rec.h, tau_m.h, ...)


@dataclass
class TrainResult:
    model: SRNN
    config: TrainConfig
    history: list[dict[str, Any]]
    seconds: float
    network: Any = None  # evsim.model.Network, when exported
    evaluation: dict[str, Any] = field(default_factory=dict)


def _dtype(config: TrainConfig) -> torch.dtype:
    return torch.float64 if config.dtype == "float64" else torch.float32


def build_optimizer(model: SRNN, c: TrainConfig):
    hidden_taus = [p for name in model.hidden_names for p in model.time_constants(name)]
    output_taus = model.time_constants("o")
    taus = {id(p) for p in hidden_taus + output_taus}
    base = [p for p in model.parameters() if id(p) not in taus and p.requires_grad]
    groups = [{"params": base}]
    if c.learn_tau:
        groups += [
            {"params": hidden_taus, "lr": c.lr * c.lr_tau_hidden},
            {"params": output_taus, "lr": c.lr * c.lr_tau_output},
        ]
    opt = torch.optim.Adam(groups, lr=c.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=c.lr_step, gamma=c.lr_gamma)
    return opt, sched


def split_train_val(n: int, c: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """A fixed (seeded) held-out share of the training data; the test set is never used to select."""
    perm = np.random.default_rng([c.seed, 7919]).permutation(n)
    n_val = int(round(n * c.val_fraction))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


@torch.no_grad()
def evaluate(model: SRNN, data: DenseData, batch_size: int = 128, init: str = "zeros") -> dict[str, float]:
    """Per-step accuracy from from_step (unlabelled steps count as class 0) and over labelled steps."""
    fs = model.config.from_step
    correct = scored = correct_lab = scored_lab = 0
    dt = model.dtype
    for s in range(0, len(data), batch_size):
        x = torch.from_numpy(data.x[s : s + batch_size]).to(dt)
        gen = torch.Generator().manual_seed(s)
        mem, _, _ = model(x, model.initial_state(x.shape[0], init, gen), backend="fused")
        pred = mem[:, fs:].argmax(2).numpy()
        hit = pred == data.labels[s : s + batch_size, fs:]
        mask = data.mask[s : s + batch_size, fs:]
        correct += int(hit.sum())
        scored += hit.size
        correct_lab += int(hit[mask].sum())
        scored_lab += int(mask.sum())
    return {"accuracy": correct / max(scored, 1), "accuracy_labelled": correct_lab / max(scored_lab, 1)}


def _save_checkpoint(path: Path, model, opt, sched, config, epoch, history, best) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "epoch": epoch,
            "config": config.to_dict(),
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "history": history,
            "best": best,
            "n_inputs": model.n_inputs,
            "n_outputs": model.n_outputs,
        },
        tmp,
    )
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise EvsimError(f"--resume {path}: no such checkpoint")
    try:
        # weights_only: a checkpoint is data (tensors, numbers, strings, lists, dicts); unpickling
        # anything else could run code from the file, so it is refused.
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a broken file
        raise EvsimError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise EvsimError(f"{path}: not an evsim training checkpoint")
    return ckpt


def library_versions() -> dict[str, str]:
    import numba
    import scipy

    from importlib.metadata import PackageNotFoundError, version

    try:
        evsim_version = version("evsim")
    except PackageNotFoundError:
        evsim_version = "unknown"
    return {
        "evsim": evsim_version,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def train(
    config: TrainConfig,
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    checkpoint: str | Path | None = None,
    resume: str | Path | None = None,
    progress: bool = True,
    evaluate_with_evsim: bool = True,
    log: Callable[[str], None] | None = None,
    command: str | None = None,
) -> TrainResult:
    """Train an SRNN by `config`; write checkpoints each epoch and, if `out` is given, the model
    (with golden records and metadata) in evsim's HDF5 format."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    log = log or (lambda msg: console.print(msg, highlight=False))
    history: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    start_epoch = 0
    ckpt = None
    if resume is not None:
        ckpt = load_checkpoint(resume)
        saved = TrainConfig.from_dict(ckpt["config"], where=f"{resume}: config")
        if saved.replace(epochs=config.epochs) != config:
            log(f"[yellow]resume: using the checkpoint's recipe (only epochs={config.epochs} taken from this run)")
        config = saved.replace(epochs=config.epochs)
    c = config
    torch.set_num_threads(c.threads)
    torch.manual_seed(c.seed)

    dataset = open_dataset(c.task, data_dir, c.split, c.task_options)
    data = load_dense(dataset)
    tr_idx, val_idx = split_train_val(len(data), c)
    train_data, val_data = data.subset(tr_idx), data.subset(val_idx) if len(val_idx) else None
    if data.x.shape[1] <= c.from_step:
        raise EvsimError(f"training: sequences have {data.x.shape[1]} steps, fewer than from_step={c.from_step}")

    model = SRNN(data.x.shape[2], data.n_classes, c).to(_dtype(c))
    opt, sched = build_optimizer(model, c)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        history = list(ckpt["history"])
        best = ckpt.get("best")
        start_epoch = int(ckpt["epoch"]) + 1
        log(f"resumed from {resume}: epochs 0..{start_epoch - 1} done, continuing with epoch {start_epoch}")
    ckpt_path = Path(checkpoint) if checkpoint else (Path(str(out) + ".ckpt") if out else None)
    if ckpt_path is not None:
        ckpt_path.parent.mkdir(parents=True, exist_ok=True)

    n_train = len(train_data)
    n_batches = (n_train + c.batch_size - 1) // c.batch_size
    t_start = time.perf_counter()
    columns = [TextColumn("epoch {task.fields[epoch]:>3}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]:.4f} acc {task.fields[acc]:.4f}"), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True, disable=not progress) as bar:
        for epoch in range(start_epoch, c.epochs):
            t0 = time.perf_counter()
            if model.xylo and epoch >= c.tau_snap_epoch:
                model.snap_time_constants()  # idempotent: also right after a resume
            task = bar.add_task("train", total=n_batches, epoch=epoch, loss=0.0, acc=0.0)
            order = np.random.default_rng([c.seed, epoch]).permutation(n_train)
            loss_sum = 0.0
            correct = scored = 0
            model.train()
            for bi in range(n_batches):
                sel = order[bi * c.batch_size : (bi + 1) * c.batch_size]
                x = torch.from_numpy(train_data.x[sel]).to(_dtype(c))
                y = torch.from_numpy(train_data.labels[sel])
                gen = torch.Generator().manual_seed(c.seed * 1_000_003 + epoch * 1009 + bi)
                state = model.initial_state(len(sel), c.init_state, gen)
                opt.zero_grad()
                mem, _, _ = model(x, state)
                loss = sequence_loss(mem, y, c.from_step)
                if not torch.isfinite(loss):
                    raise EvsimError(f"training: the loss became {loss.item()} at epoch {epoch}, batch {bi} (lower --lr?)")
                loss.backward()
                if c.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
                opt.step()
                model.clamp_time_constants()
                hit = mem[:, c.from_step :].argmax(2) == y[:, c.from_step :]
                correct += int(hit.sum())
                scored += hit.numel()
                loss_sum += loss.item()
                bar.update(task, advance=1, loss=loss_sum / (bi + 1) / (mem.shape[1] - c.from_step), acc=correct / scored)
            sched.step()
            bar.remove_task(task)
            rec = {
                "epoch": epoch,
                "loss": loss_sum / n_batches / (data.x.shape[1] - c.from_step),
                "train_accuracy": correct / max(scored, 1),
                "seconds": time.perf_counter() - t0,
                "lr": opt.param_groups[0]["lr"],
            }
            if val_data is not None:
                model.eval()
                rec["val_accuracy"] = evaluate(model, val_data)["accuracy"]
                # xylo: only epochs with Xylo's power-of-two time constants can be exported
                selectable = not model.xylo or epoch >= c.tau_snap_epoch
                if selectable and (best is None or rec["val_accuracy"] > best["val_accuracy"]):
                    best = {"epoch": epoch, "val_accuracy": rec["val_accuracy"],
                            "state": {k: v.clone() for k, v in model.state_dict().items()}}
            history.append(rec)
            msg = f"epoch {epoch:3d}  loss {rec['loss']:.4f}  train acc {rec['train_accuracy']:.4f}"
            if "val_accuracy" in rec:
                msg += f"  val acc {rec['val_accuracy']:.4f}"
            log(msg + f"  {rec['seconds']:.1f} s")
            if ckpt_path is not None:
                _save_checkpoint(ckpt_path, model, opt, sched, c, epoch, history, best)
    seconds = time.perf_counter() - t_start
    if best is not None:
        log(f"selected epoch {best['epoch']} (best validation accuracy {best['val_accuracy']:.4f})")
        model.load_state_dict(best["state"])
    result = TrainResult(model=model, config=c, history=history, seconds=seconds)
    if out is not None:
        export(result, data, out, data_dir, dataset, evaluate_with_evsim=evaluate_with_evsim, log=log, command=command)
    return result


def _evsim_accuracy(network, dataset) -> dict[str, Any]:
    from evsim import api

    report = api.run(network, dataset, engine="event", init="zeros")
    return {"accuracy": report.accuracy, "accuracy_labelled": report.accuracy_labelled, "engine": "event",
            "init": "zeros", "source": report.source, "samples": report.samples,
            "spikes_per_sample": report.spikes_per_sample}


def export(result: TrainResult, data: DenseData, out: str | Path, data_dir, dataset, evaluate_with_evsim=True,
           log=print, command: str | None = None) -> None:
    """Write the trained model, golden records and metadata to `out` (evsim HDF5)."""
    from evsim.formats.h5 import save_network

    c, model = result.config, result.model
    total_train = sum(h["seconds"] for h in result.history)
    meta: dict[str, Any] = {
        "trained_by": "evsim.training",
        "task": c.task,
        "data": data.source,
        "recipe": c.to_dict(),
        "epochs": len(result.history),
        "seconds_per_epoch": total_train / max(len(result.history), 1),
        "training_seconds": total_train,
        "final_train_accuracy_running": result.history[-1]["train_accuracy"] if result.history else None,
        "versions": library_versions(),
        "command": command or " ".join(sys.argv),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, {c.threads} torch threads",
    }
    network = model.to_network(name=f"{c.task}_srnn", metadata=meta)
    k = min(c.n_golden, len(data))
    network.golden = model.golden_records(data.x[:k].astype(np.float64))
    network.validate()
    evaluation: dict[str, Any] = {}
    evaluation["train_torch64"] = evaluate(model.double(), data)
    model.to(_dtype(c))
    if evaluate_with_evsim:
        evaluation["train"] = _evsim_accuracy(network, dataset)
        if any(o.name == "split" for o in _task_options(c.task)):
            test_ds = open_dataset(c.task, data_dir, "test", c.task_options)
            evaluation["test"] = _evsim_accuracy(network, test_ds)
    for key, ev in evaluation.items():
        log(f"{key}: accuracy {ev['accuracy']:.4f} (labelled steps {ev['accuracy_labelled']:.4f})")
    network.metadata["evaluation"] = evaluation
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_network(network, out)
    result.network = network
    result.evaluation = evaluation
    log(f"wrote {out}")


def _task_options(task: str):
    from evsim.tasks import get_task

    return get_task(task).options
