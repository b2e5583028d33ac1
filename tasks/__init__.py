"""The task registry: name -> how to read its data.  `evsim tasks` lists it."""

from __future__ import annotations

from pathlib import Path

from evsim.errors import EvsimError

from .base import Batch, Dataset, TaskOption, TaskSpec
from . import array, ecg, random_spikes, ecg_synthetic, shd, mnist

TASKS: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    TASKS[spec.name] = spec
    return spec


for _module in (ecg, random_spikes, ecg_synthetic, shd.SHD, shd.SSC, mnist.SMNIST, mnist.PSMNIST, array):
    register(_module.SPEC)
register(ecg.SPEC_ENCODED)


def get_task(name: str) -> TaskSpec:
    if name not in TASKS:
        raise EvsimError(f"unknown task '{name}' (known: {', '.join(sorted(TASKS))})")
    return TASKS[name]


def open_task(name: str, data_dir: str | Path | None, **options) -> Dataset:
    """Open a task's data set.  Unknown options are an error; missing ones take defaults."""
    spec = get_task(name)
    known = {o.name: o for o in spec.options}
    for key in options:
        if key not in known:
            raise EvsimError(f"task '{name}' has no option '{key}' (options: {', '.join(known) or 'none'})")
    values = {o.name: o.default for o in spec.options}
    values.update({k: v for k, v in options.items() if v is not None})
    if data_dir is None:
        if spec.default_data is None:
            raise EvsimError(f"task '{name}': no data given (use --data PATH or set EVSIM_DATA_DIR)")
        data_dir = spec.default_data()
    return spec.open(Path(data_dir), **values)


__all__ = ["TASKS", "Batch", "Dataset", "TaskOption", "TaskSpec", "get_task", "open_task", "register"]
