"""run, audit and sweep on a local Dask cluster of 2 worker processes equal the serial run.

The serial functions are the reference: each distributed result must be the same report (timing
aside) and the same CSV bytes.  Small but real: the shipped ECG model on the built-in synthetic
ECG, cut into chunks of a batch or two so that every run spans several workers and chunks.
Dask comes with the test extra (the cluster extra's packages): without it these tests fail.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from datagen import random_spikes, write_spike_file

from evsim import api, distributed
from evsim import audit as hwapi
from evsim.api import resolve_model
from evsim.cli import _json_default
from evsim.errors import EvsimError

N, BATCH = 8, 2
SOURCE = distributed.Source(str(resolve_model(None)), "ecg-synthetic", None, (("n", N),))


@pytest.fixture(scope="module")
def session():
    with distributed.connect(workers=2) as s:
        yield s


@pytest.fixture(scope="module")
def opened():
    return SOURCE.open()


def same(a, b) -> None:
    """Equal reports, timing aside, compared as the JSON the CLI prints."""
    dump = lambda r: json.dumps({k: v for k, v in r.to_dict().items() if k != "seconds"}, default=_json_default)  # noqa: E731
    assert dump(a) == dump(b)


def test_chunks_fall_on_batches_and_cover_the_slice():
    ranges = distributed.chunk_ranges(3, 11, 2, 1, 2)
    assert ranges[0][0] == 3 and sum(n for _, n in ranges) == 11
    assert all(n % 2 == 0 for _, n in ranges[:-1]) and all(o == 3 + sum(n for _, n in ranges[:i]) for i, (o, _) in enumerate(ranges))
    assert distributed.chunk_ranges(0, 10, 4, 1, 2, chunk_samples=3) == [(0, 4), (4, 4), (8, 2)]


@pytest.mark.parametrize("engine", ["event", "reference"])
def test_run_equals_serial(session, opened, engine):
    network, dataset = opened
    serial = api.run(network, dataset, engine, "paper", 3, offset=1, batch_size=BATCH)
    finished = []
    dist = distributed.run(session, SOURCE, engine, "paper", 3, offset=1, batch_size=BATCH, chunk_samples=3,
                           progress=lambda done, total: finished.append((done, total)))  # fmt: skip
    same(serial, dist)
    assert finished[0] == (0, 2) and finished[-1] == (2, 2)  # 7 samples in chunks of 3 rounded up to 2 batches


def test_run_with_profile_equals_serial(session, opened):
    network, dataset = opened
    serial, hw_serial = hwapi.run_profile(network, dataset, "loihi", batch_size=BATCH)
    dist, hw_dist = distributed.run(session, SOURCE, batch_size=BATCH, profile="loihi", chunk_samples=BATCH)
    same(serial, dist)
    assert json.dumps(hw_serial, default=_json_default) == json.dumps(hw_dist, default=_json_default)
    assert hw_dist["quantization"] is not None and sum(dist.counts_total["ac"]) > 0  # the integer engine ran


def test_audit_equals_serial(session, opened):
    network, dataset = opened
    serial = hwapi.audit(network, dataset, "loihi", batch_size=BATCH, limit=7)
    dist = distributed.audit(session, SOURCE, "loihi", batch_size=BATCH, limit=7, chunk_samples=BATCH)
    same(serial, dist)


def sweep_pair(session, opened, tmp_path, progress=None):
    network, dataset = opened
    args = ("loihi", [4, 8], [12, 16])
    serial = hwapi.sweep(network, dataset, *args, batch_size=BATCH)
    dist = distributed.sweep(session, SOURCE, *args, batch_size=BATCH, chunk_samples=BATCH, progress=progress)
    serial.write_csv(tmp_path / "serial.csv")
    dist.write_csv(tmp_path / "dist.csv")
    return serial, dist


def test_sweep_equals_serial(session, opened, tmp_path):
    serial, dist = sweep_pair(session, opened, tmp_path)
    same(serial, dist)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "dist.csv").read_bytes()
    assert len({r["accuracy"] for r in dist.rows}) > 1  # the settings differ: each row is its own setting


def test_killed_worker_mid_sweep_loses_and_duplicates_nothing(session, opened, tmp_path):
    client = session.client
    pids = client.run(os.getpid)  # worker address -> pid
    killed = []

    def kill_one(done, total):
        # After the first chunks, kill a worker that is computing one right now.
        if killed or done < 3:
            return
        busy = [addr for addr, tasks in client.processing().items() if tasks and addr in pids]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append((busy[0], done, total))

    serial, dist = sweep_pair(session, opened, tmp_path, progress=kill_one)
    assert killed and killed[0][1] < killed[0][2], "no worker was killed while chunks were left"
    same(serial, dist)
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "dist.csv").read_bytes()
    assert killed[0][0] not in client.scheduler_info()["workers"]  # that worker really died


def shd_with_bad_sample(tmp_path: Path, bad: int, n: int = 8) -> tuple[Path, Path]:
    """An SHD file whose sample `bad` has a unit outside 0..699, and a small 700-input model for it.
    Spike times span 1 s: runs use --dt 0.05 --steps 20 so that none falls after the window."""
    from conftest import tiny_network

    from evsim.formats.h5 import save_network
    from evsim.model import Layer, Projection

    times, units = random_spikes(np.random.default_rng(0), n, 50)
    units[bad] = units[bad].copy()
    units[bad][0] = 900
    write_spike_file(tmp_path / "shd_test.h5", times, units, np.arange(n) % 20)
    rng = np.random.default_rng(1)
    net = tiny_network(
        n_inputs=700,
        layers=[Layer("h", 3, "alif", tau_m=np.full(3, 20.0), tau_adp=np.full(3, 100.0), beta=1.8, b_j0=0.1),
                Layer("o", 20, "li", tau_mem=np.full(20, 3.0))],
        projections=[Projection("input", "h", rng.normal(size=(3, 700)), np.zeros(3), 0),
                     Projection("h", "o", rng.normal(size=(20, 3)), np.zeros(20), 0)],
    )  # fmt: skip
    save_network(net, tmp_path / "tiny700.h5")
    return tmp_path / "tiny700.h5", tmp_path


def test_user_error_in_a_chunk_stops_the_run(session, tmp_path):
    weights, data = shd_with_bad_sample(tmp_path, bad=5)
    source = distributed.Source(str(weights), "shd", str(data), (("dt", 0.05), ("steps", 20)))
    with pytest.raises(EvsimError, match=r"shd_test.h5: sample 5 has unit 900, outside 0..699"):
        distributed.run(session, source, batch_size=2, chunk_samples=2)


def test_cli_sweep_workers_writes_the_serial_csv(cli, tmp_path):
    base = ("sweep", "--task", "ecg-synthetic", "--n", "4", "--profile", "loihi", "--weight-bits", "4,8", "--batch-size", "2")
    code, out_serial, _ = cli(*base, "--csv", tmp_path / "serial.csv", "--json")
    assert code == 0
    code, out_dist, err = cli(*base, "--csv", tmp_path / "dist.csv", "--json", "--workers", "2")
    assert code == 0
    assert "Dask dashboard: http" in err
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "dist.csv").read_bytes()
    drop = lambda text: {k: v for k, v in json.loads(text).items() if k != "seconds"}  # noqa: E731
    assert drop(out_serial) == drop(out_dist)


def test_cli_user_error_in_a_chunk_is_one_line(cli, tmp_path):
    weights, data = shd_with_bad_sample(tmp_path, bad=3, n=6)
    code, out, err = cli("run", "--weights", weights, "--task", "shd", "--data", data, "--dt", "0.05", "--steps", "20", "--batch-size", "2", "--workers", "2")
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("Dask dashboard")]
    assert lines == [f"evsim: error: {data / 'shd_test.h5'}: sample 3 has unit 900, outside 0..699"]


def test_cli_unreachable_scheduler(cli):
    code, out, err = cli("run", "--task", "ecg-synthetic", "--n", "2", "--cluster", "tcp://127.0.0.1:9")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err


def test_cli_cluster_and_workers_together(cli):
    code, out, err = cli("audit", "--task", "ecg-synthetic", "--n", "2", "--profile", "loihi", "--cluster", "tcp://127.0.0.1:9", "--workers", "2")
    assert code == 2 and "not both" in err and len(err.strip().splitlines()) == 1


def test_serial_commands_do_not_import_dask():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from evsim.cli import main\n"
        "try:\n"
        "    main(['sweep', '--task', 'ecg-synthetic', '--n', '2', '--profile', 'loihi', '--weight-bits', '8', '--json'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed') or m == 'evsim.distributed'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
