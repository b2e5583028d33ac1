"""The hostile-input contract, as reusable helpers (plain functions, no pytest fixtures).

The contract (README, docs/format.md): whatever a user feeds evsim, the result is a clean run or
one line on stderr and exit code 2 -- never a traceback, never a hang, nothing allocated beyond
need.  Tests of any reader (model files, task data, profiles; NIR files can reuse the same
helpers) call `outcome` on the API, or `run_cli` / `run_cli_subprocess` on the command line.

`outcome` records each call's duration and peak traced allocation in STATS, which the
terminal summary (conftest.py) prints: the figures the fuzzing note reports.  They are
measurements, not assertions on speed; the only bounds asserted are far above a normal run
(a hang or a runaway allocation, not a slow machine, trips them).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from evsim.errors import EvsimError

MEMORY_BOUND = 512 << 20  # bytes a single hostile input may make evsim allocate (traced)


@dataclass
class Stats:
    calls: dict[str, int] = field(default_factory=dict)  # per target: examples run
    slowest: tuple[float, str] = (0.0, "")
    largest: tuple[int, str] = (0, "")

    def add(self, target: str, seconds: float, peak: int) -> None:
        self.calls[target] = self.calls.get(target, 0) + 1
        if seconds > self.slowest[0]:
            self.slowest = (seconds, target)
        if peak > self.largest[0]:
            self.largest = (peak, target)


STATS = Stats()


def outcome(target: str, fn: Callable[[], Any]) -> str | None:
    """Run fn under the contract: returns None for a clean result or the one-line EvsimError
    message; any other exception propagates (the test fails with its traceback)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        fn()
        message = None
    except EvsimError as exc:
        message = str(exc)
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        STATS.add(target, seconds, peak)
    assert peak < MEMORY_BOUND, f"{target}: {peak / 2**20:.0f} MiB allocated for one hostile input"
    if message is not None:
        assert message and "\n" not in message, f"{target}: error is not one line: {message!r}"
    return message


def assert_one_line_exit_2(code: int, err: str, expect: str | None = None) -> None:
    """A CLI result that must be a refusal: exit 2, exactly one non-blank line, no traceback."""
    assert code == 2, f"exit {code}, stderr: {err!r}"
    assert err.endswith("\n") and err.count("\n") == 1 and err.startswith("evsim: error: "), repr(err)
    assert "Traceback" not in err
    if expect is not None:
        assert expect in err, err


def assert_clean_or_refused(code: int, err: str) -> None:
    """A CLI result under fuzzing: a clean run, or the one-line refusal."""
    if code != 0:
        assert_one_line_exit_2(code, err)
    assert "Traceback" not in err and "Warning" not in err, err


@dataclass
class Process:
    code: int
    out: str
    err: str
    seconds: float
    peak_rss_mib: float


def run_cli_subprocess(*argv: str, timeout: float = 120.0, env: dict[str, str] | None = None) -> Process:
    """`evsim ARGV` in a fresh interpreter: proves the process *ends* (no hang after the error
    line, no stuck worker thread) within `timeout`; reports its peak resident memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "evsim.cli", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, the largest child so far
    return Process(proc.returncode, proc.stdout, proc.stderr, seconds, max(rss, before) / 1024)


def flip_bytes(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    """`data` with each (position, value) edit applied: position modulo the length, value a byte."""
    out = bytearray(data)
    for pos, value in edits:
        out[pos % len(out)] = value & 0xFF
    return bytes(out)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
