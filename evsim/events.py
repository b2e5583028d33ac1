"""Input as events: the form in which tasks hand samples to the engines.

A batch of samples, each `n_steps` long over `n_channels` input channels, kept sparse: only
non-zero input values are stored, as (step, channel, value) triples grouped by sample and step.
Binary spike inputs have value 1 (or -1); analog inputs (pixels) carry their value.

    step_ptr[b, t] .. step_ptr[b, t + 1]  index the events of sample b at step t
    channel[k], value[k]                  the k-th event

Within one (sample, step) the events are sorted by channel, so delivery order is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import EvsimError


@dataclass
class EventBatch:
    n_steps: int
    n_channels: int
    step_ptr: np.ndarray  # (samples, n_steps + 1) int64, absolute offsets into channel/value
    channel: np.ndarray  # (events,) int32
    value: np.ndarray  # (events,) float64

    def __post_init__(self) -> None:
        self.step_ptr = np.ascontiguousarray(self.step_ptr, dtype=np.int64)
        self.channel = np.ascontiguousarray(self.channel, dtype=np.int32)
        self.value = np.ascontiguousarray(self.value, dtype=np.float64)
        if self.step_ptr.ndim != 2 or self.step_ptr.shape[1] != self.n_steps + 1:
            raise EvsimError(f"event batch: step_ptr has shape {self.step_ptr.shape}, expected (samples, {self.n_steps + 1})")
        if self.channel.shape != self.value.shape:
            raise EvsimError("event batch: channel and value differ in length")
        if len(self.step_ptr) and (self.step_ptr[0, 0] != 0 or self.step_ptr[-1, -1] != len(self.channel)):
            raise EvsimError("event batch: step_ptr does not cover the event arrays")
        if np.any(np.diff(self.step_ptr, axis=1) < 0) or np.any(self.step_ptr[1:, 0] != self.step_ptr[:-1, -1]):
            raise EvsimError("event batch: step_ptr is not non-decreasing")
        if len(self.channel) and (self.channel.min() < 0 or self.channel.max() >= self.n_channels):
            raise EvsimError(f"event batch: a channel index lies outside 0..{self.n_channels - 1}")
        if not np.all(np.isfinite(self.value)):
            raise EvsimError("event batch: an input value is NaN or infinite")

    @property
    def n_samples(self) -> int:
        return self.step_ptr.shape[0]

    @property
    def n_events(self) -> int:
        return len(self.channel)

    @classmethod
    def from_dense(cls, x: np.ndarray) -> "EventBatch":
        """From a dense (samples, steps, channels) array; zeros are not events."""
        x = np.asarray(x)
        if x.ndim != 3:
            raise EvsimError(f"event batch: dense input must be (samples, steps, channels), found shape {x.shape}")
        n, t, c = x.shape
        b_idx, t_idx, c_idx = np.nonzero(x)  # C order: sorted by sample, step, channel
        counts = np.bincount(b_idx * t + t_idx, minlength=n * t)
        step_ptr = np.zeros(n * t + 1, dtype=np.int64)
        np.cumsum(counts, out=step_ptr[1:])
        ptr = np.empty((n, t + 1), dtype=np.int64)
        ptr[:, :t] = step_ptr[:-1].reshape(n, t)
        ptr[:, t] = step_ptr[t::t] if n else 0
        return cls(t, c, ptr, c_idx.astype(np.int32), x[b_idx, t_idx, c_idx].astype(np.float64))

    @classmethod
    def concat(cls, batches: list["EventBatch"]) -> "EventBatch":
        """Join batches with the same steps and channels into one."""
        if not batches:
            raise EvsimError("event batch: nothing to join")
        t, c = batches[0].n_steps, batches[0].n_channels
        for b in batches:
            if (b.n_steps, b.n_channels) != (t, c):
                raise EvsimError("event batch: cannot join batches of different steps or channels")
        ptrs, offset = [], 0
        for b in batches:
            ptrs.append(b.step_ptr + offset)
            offset += b.n_events
        return cls(
            t,
            c,
            np.concatenate(ptrs),
            np.concatenate([b.channel for b in batches]),
            np.concatenate([b.value for b in batches]),
        )

    def to_dense(self) -> np.ndarray:
        """(samples, steps, channels) float64: for the reference engine and for small batches only."""
        x = np.zeros((self.n_samples, self.n_steps, self.n_channels))
        counts = np.diff(self.step_ptr, axis=1).ravel()
        flat_step = np.repeat(np.arange(self.n_samples * self.n_steps), counts)
        x.reshape(-1, self.n_channels)[flat_step, self.channel] = self.value
        return x
