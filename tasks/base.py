"""What a task is: a reader that yields inputs (as events) and labels, batch by batch.

Tasks stand apart from the simulator: they import only `evsim.events` (the input container)
and `evsim.errors`.  A dataset never holds more than one batch of dense data at a time; how it
reads its files (eagerly for small ones like QTDB, lazily for SSC) is its own business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from evsim.events import EventBatch


@dataclass
class Batch:
    inputs: EventBatch
    labels: np.ndarray  # (samples,) class ids, or (samples, steps) for per-step tasks
    sample_ids: np.ndarray  # global sample indices (seed the per-sample initial state)
    label_mask: np.ndarray | None = None  # (samples, steps) bool: steps that carry a real label


class Dataset(Protocol):
    name: str  # the task name
    source: str  # what was read (a path), for reports
    n_samples: int
    n_channels: int
    n_steps: int
    n_classes: int
    per_step_labels: bool
    info: dict[str, Any]  # extra facts recorded in a run's output (a permutation, a split)

    def batches(self, batch_size: int, offset: int = 0, limit: int | None = None) -> Iterator[Batch]: ...


class DenseSamples:
    """The shape properties of a dataset held in memory as one (samples, steps, channels) array `x`."""

    @property
    def n_samples(self) -> int:
        return self.x.shape[0]

    @property
    def n_steps(self) -> int:
        return self.x.shape[1]

    @property
    def n_channels(self) -> int:
        return self.x.shape[2]


@dataclass
class TaskOption:
    name: str
    type: type
    default: Any
    help: str


@dataclass
class TaskSpec:
    """A registered task: how to open it and what it expects to find."""

    name: str
    summary: str
    files: list[str]  # the files it looks for, relative to the data directory
    open: Callable[..., Dataset]  # open(data_dir: Path, **options) -> Dataset
    options: list[TaskOption] = field(default_factory=list)
    default_data: Callable[[], Path] | None = None  # a built-in data set, when the task has one


# The longest sample a task will make: 2^17 steps (524 s at SHD's 4 ms).  A larger --steps is a
# typo, and would ask for memory before any check could say so.
MAX_STEPS = 1 << 17


def check_count(value, lo: int, hi: int, what: str) -> int:
    """An integer task option within [lo, hi], or a one-line error."""
    from evsim.errors import EvsimError

    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise EvsimError(f"{what} must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


def slice_range(n_samples: int, offset: int, limit: int | None) -> range:
    """The sample indices a run covers: `limit` samples from `offset` (all the rest when None)."""
    from evsim.errors import EvsimError

    if offset < 0 or offset >= n_samples:
        raise EvsimError(f"--offset {offset} lies outside the data set's {n_samples} samples (0..{n_samples - 1}): the data ended")
    if limit is not None and limit <= 0:
        raise EvsimError(f"--limit must be positive, got {limit}")
    stop = n_samples if limit is None else min(n_samples, offset + limit)
    return range(offset, stop)


def batch_ranges(n_samples: int, batch_size: int, offset: int, limit: int | None) -> Iterator[tuple[int, int]]:
    """(start, stop) of each batch over the samples `slice_range` selects."""
    from evsim.errors import EvsimError

    if batch_size <= 0:
        raise EvsimError(f"batch size must be positive, got {batch_size}")
    ids = slice_range(n_samples, offset, limit)
    for start in range(ids.start, ids.stop, batch_size):
        yield start, min(start + batch_size, ids.stop)


def find_file(data_dir: Path, candidates: list[str], task: str) -> Path:
    """The first of `candidates` (relative paths) that exists under data_dir."""
    from evsim.errors import EvsimError

    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise EvsimError(f"{task}: data directory {data_dir} does not exist")
    for rel in candidates:
        p = data_dir / rel
        if p.is_file():
            return p
    raise EvsimError(f"{task}: none of {', '.join(candidates)} found under {data_dir}")
