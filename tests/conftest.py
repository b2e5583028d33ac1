"""Shared fixtures: the real data and models every test reads ship with evsim itself.

The QTDB sets are the ecg task's shipped data (evsim/tasks/data/qtdb), the paper models are
built-in models (weights/ and evsim/paper_models/); peer files a test needs are copied into tests/data/ with their
licences.  Nothing here reads outside the repository, so a fresh clone runs every test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shipped data directory (qtdb/QTDB_{train,test}.mat under it)."""
    from evsim.tasks.ecg import shipped_data

    return shipped_data()


@pytest.fixture(scope="session")
def paper_network():
    """A built-in model by name (e.g. 'ecg_icons2020'), loaded once per session."""
    from evsim import api

    cache = {}

    def get(name: str):
        if name not in cache:
            network, integrity = api.load_model(name)
            assert integrity == "verified"
            cache[name] = network
        return cache[name]

    return get


@pytest.fixture(scope="session")
def ecg_test(data_dir):
    from evsim.tasks import open_task

    return open_task("ecg", data_dir)


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from evsim.cli import main

    def call(*argv: str):
        try:
            main([str(a) for a in argv])
            code = 0
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def tiny_network(**overrides):
    """A 2-input, 3-hidden (recurrent ALIF), 2-output (integrator) network with fixed weights."""
    import numpy as np

    from evsim.model import Layer, Network, Projection, Readout

    rng = np.random.default_rng(7)
    kw = dict(
        name="tiny",
        n_inputs=2,
        layers=[
            Layer("h", 3, "alif", tau_m=np.array([5.0, 10.0, 20.0]), tau_adp=np.array([50.0, 100.0, 150.0]), beta=1.8, b_j0=0.1),
            Layer("o", 2, "li", tau_mem=np.array([3.0, 4.0])),
        ],
        projections=[
            Projection("input", "h", np.abs(rng.normal(size=(3, 2))) * 2 + 0.5, rng.normal(size=3) * 0.1, 0),
            Projection("h", "h", rng.normal(size=(3, 3)), np.zeros(3), 1),
            Projection("h", "o", rng.normal(size=(2, 3)), rng.normal(size=2) * 0.1, 0),
        ],
        readout=Readout("o", "mem", "sum_softmax", 0),
    )
    kw.update(overrides)
    return Network(**kw)


def pytest_terminal_summary(terminalreporter):
    """The hostile-input figures (tests/hostile.py): examples per target, slowest, largest."""
    from hostile import STATS

    if not STATS.calls:
        return
    total = sum(STATS.calls.values())
    per = ", ".join(f"{k} {v}" for k, v in sorted(STATS.calls.items()))
    terminalreporter.write_line(f"hostile inputs: {total} examples ({per})")
    terminalreporter.write_line(
        f"hostile inputs: slowest {STATS.slowest[0]:.2f} s ({STATS.slowest[1]}), "
        f"largest traced allocation {STATS.largest[0] / 2**20:.1f} MiB ({STATS.largest[1]})"
    )
    import resource

    # RSS is per process, not per example: the pytest process's peak bounds every in-process case
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    terminalreporter.write_line(f"hostile inputs: peak RSS of the whole test process {rss:.0f} MiB")
