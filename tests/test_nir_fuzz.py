"""Mutated .nir files: every one imports cleanly or is refused with one EvsimError line.

Bounded property-based tests (hypothesis): byte flips and truncations of a real file, and
field-level damage (NaN, infinities, negative or zero values, wrong shapes, wrong types, deleted
fields, unknown node types, broken edges) to the paper's graphs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import h5py
import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import nir_refs as R
from evsim import api
from evsim.errors import EvsimError
from evsim.events import EventBatch
from evsim.formats.nir import ImportOptions, import_nir

from hostile import outcome

SOURCES = [R.LIF_DIR / "lif_norse.nir", R.BRAILLE["zero"], R.BRAILLE["subtract"]]
# derandomized for repeatable CI, like tests/test_fuzz.py; the deadline only catches hangs
FUZZ = settings(max_examples=60, deadline=30_000, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def check_contract(path: Path) -> str:
    """Import (and, when it imports, run a few steps); only EvsimError may be raised."""
    try:
        net, _ = import_nir(path, ImportOptions(dt=1e-4))
    except EvsimError as exc:
        message = str(exc)
        assert message and "\n" not in message
        event("refused: " + message.split(": ", 1)[-1][:40])
        return "refused"
    x = np.ones((1, 5, net.n_inputs))
    api.simulate(net, EventBatch.from_dense(x), np.arange(1), "event")
    event("imported")
    return "imported"


@FUZZ
@given(
    source=st.sampled_from(SOURCES),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_byte_damage(source, flips, cut):
    data = bytearray(source.read_bytes())
    for where, value in flips:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.nir"
        path.write_bytes(bytes(data))
        outcome("nir file bytes", lambda: check_contract(path))  # time and memory recorded, bounded


def _datasets(f: h5py.File) -> list[str]:
    out = []
    f.visititems(lambda name, obj: out.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(out)


DAMAGE = ["nan", "inf", "-inf", "negative", "zero", "huge", "shape", "string", "delete", "type", "edge"]


@FUZZ
@given(source=st.sampled_from(SOURCES), picks=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(DAMAGE)), min_size=1, max_size=3))
def test_field_damage(source, picks):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.nir"
        path.write_bytes(source.read_bytes())
        with h5py.File(path, "r+") as f:
            for index, damage in picks:
                names = _datasets(f)
                if not names:
                    break
                name = names[index % len(names)]
                value = f[name][()]
                del f[name]
                if damage == "delete":
                    continue
                if damage == "type":
                    f[name] = np.bytes_(b"Conv2d" if name.endswith("type") else b"?")
                elif damage == "edge" and name.endswith("edges"):
                    f[name] = np.array([[b"input", b"nowhere"]], dtype=object)
                elif damage == "string":
                    f[name] = np.bytes_(b"not a number")
                elif damage == "shape" and isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    f[name] = np.zeros(value.shape + (2,))
                elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    fill = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "negative": -1.0, "zero": 0.0, "huge": 1e300}.get(damage, 1.0)
                    bad = value.copy()
                    with np.errstate(over="ignore"):  # 1e300 in a float32 field becomes inf: also hostile
                        bad.flat[index % bad.size] = fill
                    f[name] = bad
                else:
                    f[name] = value
        outcome("nir fields", lambda: check_contract(path))  # time and memory recorded, bounded


JUNK = ['"x"', "[1, \"a\"]", '{"layers": [1]}', "{", "nan", '{"layer": "o", "from_step": "x"}', '{"default": {"scale": [1]}}', "-3", "abc"]


@FUZZ
@given(picks=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(JUNK)), min_size=1, max_size=3))
def test_evsim_metadata_damage(tmp_path_factory, picks):
    """evsim's own metadata (an exported model: ALIF, options, readout, initial state) garbled."""
    from conftest import tiny_network
    from evsim.formats.nir import export_nir

    base = tmp_path_factory.getbasetemp() / "tiny.nir"
    if not base.exists():
        export_nir(tiny_network(), base)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.nir"
        path.write_bytes(base.read_bytes())
        with h5py.File(path, "r+") as f:
            names = [n for n in _datasets(f) if "evsim_" in n]
            for index, junk in picks:
                name = names[index % len(names)]
                del f[name]
                f[name] = np.bytes_(junk.encode())
        outcome("nir evsim metadata", lambda: check_contract(path))  # time and memory recorded, bounded
