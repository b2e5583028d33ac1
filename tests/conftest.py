"""Shared fixtures: the real data and paper models, reached by path (never copied here).

EVSIM_DATA_DIR and EVSIM_PAPER_MODELS point at them (.ci/run sets both).  Unset, they default
to ../shared beside the checkout.  A missing directory FAILS the tests that need it: the
real-data tests are the point, and must never be skipped silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dir(env: str, default: Path) -> Path:
    path = Path(os.environ.get(env, default))
    if not path.is_dir():
        pytest.fail(f"{env}: {path} is not a directory (the real-data tests need it)")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _dir("EVSIM_DATA_DIR", ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def paper_models() -> Path:
    return _dir("EVSIM_PAPER_MODELS", ROOT.parent / "shared" / "paper-models")


@pytest.fixture(scope="session")
def paper_network(paper_models):
    """import_manifest for a paper model name, cached for the session."""
    from evsim.formats.manifest import import_manifest

    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = import_manifest(paper_models / f"{name}.json")
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
