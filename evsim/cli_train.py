"""Command functions for `evsim train` and `evsim encode-ecg` (registered by evsim/cli.py).

Thin shells over evsim.training and evsim.tasks.ecg_encoder; torch is imported only when
`train` runs.  Standalone: `python -m evsim.cli_train train ...`.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import EvsimError


def _parse_pairs(pairs: list[str], what: str) -> dict:
    """KEY=VALUE pairs; values are read as JSON where they parse (numbers, true/false), else strings."""
    out = {}
    for item in pairs or []:
        if "=" not in item:
            raise EvsimError(f"{what} '{item}': expected KEY=VALUE")
        key, value = item.split("=", 1)
        try:
            out[key.strip().replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip().replace("-", "_")] = value
    return out


def train(
    task: str = typer.Option("ecg", "--task", "-t", help="task to train on (per-step tasks: ecg, ecg-synthetic)"),
    data: Optional[Path] = typer.Option(None, "--data", help="data directory (default: $EVSIM_DATA_DIR; none for ecg-synthetic)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write the trained model here (evsim HDF5)"),
    config: Optional[Path] = typer.Option(None, "--config", help="JSON file with TrainConfig fields (flags override it)"),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="number of epochs (default 100)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="seed of weights, data order and random initial states"),
    lr: Optional[float] = typer.Option(None, "--lr", help="Adam learning rate (time constants get a multiple)"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="sequences per step"),
    hidden: Optional[int] = typer.Option(None, "--hidden", help="hidden layer size (several layers: --set hidden_size=[32,32])"),
    init_state: Optional[str] = typer.Option(None, "--init-state", help="zeros (default) | uniform (the paper's random state)"),
    val_fraction: Optional[float] = typer.Option(None, "--val-fraction", help="held-out share of the training data; the best epoch on it is exported"),
    set_: list[str] = typer.Option([], "--set", help="any TrainConfig field, KEY=VALUE (repeatable), e.g. --set lr_step=150"),
    task_option: list[str] = typer.Option([], "--task-option", help="task option KEY=VALUE (repeatable), e.g. --task-option n=600"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue from this checkpoint"),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="checkpoint written each epoch (default: OUT.ckpt)"),
    no_eval: bool = typer.Option(False, "--no-eval", help="skip the evaluation with evsim's event engine"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
):
    """Train an SRNN the paper's way, or for Xylo (--set dynamics=xylo), and export it to evsim's format."""
    from .training import TrainConfig, require_torch

    require_torch()
    from .training.trainer import train as run_training

    cfg = TrainConfig.from_json(config) if config else TrainConfig()
    changes = dict(task=task, epochs=epochs, seed=seed, lr=lr, batch_size=batch_size, hidden_size=hidden,
                   init_state=init_state, val_fraction=val_fraction)
    changes.update(_parse_pairs(set_, "--set"))
    if task_option:
        changes["task_options"] = {**cfg.task_options, **_parse_pairs(task_option, "--task-option")}
    cfg = TrainConfig.from_dict({**cfg.to_dict(), **{k: v for k, v in changes.items() if v is not None}}, "options")
    from .cli import data_dir_for

    data = data_dir_for(task, data)
    if out is None and checkpoint is None:
        raise EvsimError("train: give --out (the model file) or --checkpoint")
    from .api import check_output_path

    check_output_path(out, "--out")
    check_output_path(checkpoint, "--checkpoint")
    command = "evsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
    run_training(cfg, data_dir=data, out=out, checkpoint=checkpoint, resume=resume, progress=not quiet,
                 evaluate_with_evsim=not no_eval, command=command)
    return 0


def encode_ecg(
    source: Path = typer.Argument(..., help="signal: .npy / .csv (samples x leads, 250 Hz) or a WFDB record (needs wfdb)"),
    out: Path = typer.Option(..., "--out", "-o", help="output: .npy (events only) or .npz (x, and y when annotated)"),
    threshold: float = typer.Option(0.03, "--threshold", help="level-crossing threshold, in the signal's units (mV)"),
    leads: Optional[int] = typer.Option(None, "--leads", help="use the first N leads (default: all; 2 for WFDB)"),
    annotator: str = typer.Option("q1c", "--annotator", help="WFDB annotation file extension for wave labels"),
):
    """Encode an ECG into level-crossing spikes (lead1 up/down, lead2 up/down, ...), as the paper."""
    from evsim.tasks.ecg_encoder import encode_file, one_hot

    from .api import check_output_path

    check_output_path(out, "--out")
    x, labels = encode_file(source, annotator=annotator, leads=leads, threshold=threshold)
    out = Path(out)
    if out.suffix == ".npz":
        arrays = {"x": x}
        if labels is not None:
            arrays["y"] = one_hot(labels)
        np_savez(out, **arrays)
    elif out.suffix == ".npy":
        import numpy as np

        np.save(out, x)
    else:
        raise EvsimError(f"{out}: output must end in .npy or .npz")
    rate = x.mean(axis=0)
    typer.echo(f"{out}: {x.shape[0]} steps x {x.shape[1]} channels, events per channel {', '.join(f'{r:.3f}' for r in rate)}"
               + ("" if labels is None else f", {int((labels >= 0).sum())} labelled steps"))
    return 0


def np_savez(path: Path, **arrays) -> None:
    import numpy as np

    np.savez_compressed(path, **arrays)


if __name__ == "__main__":
    from .cli import main

    main()
