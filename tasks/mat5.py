"""A strict reader for numeric arrays in MATLAB v5 .mat files (what the QTDB sets are).

scipy.io.loadmat trusts a file's declared sizes and crashes the interpreter (a segmentation
fault, found by tests/test_fuzz.py) on some damaged compressed elements; this reader checks
every tag, size and type against the bytes actually there before it builds an array, and
decompresses at most what the declared array needs.  It reads real numeric matrices only
(no cells, structs, sparse or complex arrays): enough for the paper's encoded data.

Layout (MathWorks, "MAT-File Format", v5): a 128-byte header (text, version 0x0100, endian
indicator 'IM'), then data elements, each an 8-byte tag (type, byte count; or a 4-byte small
element) padded to 8 bytes.  miCOMPRESSED (15) holds one zlib-compressed element; miMATRIX (14)
holds array flags, dimensions, name and the real part.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from evsim.errors import EvsimError

MI_DTYPES = {1: "i1", 2: "u1", 3: "<i2", 4: "<u2", 5: "<i4", 6: "<u4", 7: "<f4", 9: "<f8", 12: "<i8", 13: "<u8"}
MI_INT8, MI_INT32, MI_UINT32, MI_MATRIX, MI_COMPRESSED = 1, 5, 6, 14, 15
NUMERIC_CLASSES = set(range(6, 16))  # mxDOUBLE .. mxUINT64


def _tag(buf: memoryview, pos: int, where: str) -> tuple[int, int, int]:
    """(type, byte count, position of the data) of the element at pos."""
    if pos + 8 > len(buf):
        raise EvsimError(f"{where}: truncated element tag at byte {pos}")
    first, second = struct.unpack_from("<II", buf, pos)
    if first >> 16:  # small data element: type and count in one word, data in the next 4 bytes
        kind, nbytes = first & 0xFFFF, first >> 16
        if nbytes > 4:
            raise EvsimError(f"{where}: small element of {nbytes} bytes at byte {pos}")
        return kind, nbytes, pos + 4
    if pos + 8 + second > len(buf):
        raise EvsimError(f"{where}: element at byte {pos} declares {second} bytes, {len(buf) - pos - 8} remain")
    return first, second, pos + 8


def _matrix(buf: memoryview, where: str, max_elements: int) -> tuple[str, np.ndarray]:
    parts = []
    pos = 0
    for _ in range(4):  # array flags, dimensions, name, real part
        kind, nbytes, data = _tag(buf, pos, where)
        small = data == pos + 4
        parts.append((kind, bytes(buf[data : data + nbytes])))
        pos = data + 4 if small else data + nbytes + (-nbytes % 8)
    (fk, flags), (dk, dims_b), (nk, name_b), (rk, real_b) = parts
    if fk != MI_UINT32 or len(flags) != 8:
        raise EvsimError(f"{where}: array flags missing")
    word = struct.unpack_from("<I", flags)[0]
    cls, is_complex = word & 0xFF, bool(word & 0x0800)
    name = name_b.decode("ascii", "replace") if nk == MI_INT8 else "?"
    if cls not in NUMERIC_CLASSES or is_complex:
        raise EvsimError(f"{where}: variable '{name}' is not a real numeric array (class {cls})")
    if dk != MI_INT32 or len(dims_b) % 4 or len(dims_b) < 8:
        raise EvsimError(f"{where}: variable '{name}' has malformed dimensions")
    dims = np.frombuffer(dims_b, "<i4")
    if np.any(dims < 0) or np.prod(dims, dtype=np.float64) > max_elements:
        raise EvsimError(f"{where}: variable '{name}' declares shape {tuple(int(d) for d in dims)}, beyond {max_elements:,} values")
    if rk not in MI_DTYPES:
        raise EvsimError(f"{where}: variable '{name}' stores an unsupported data type {rk}")
    dtype = np.dtype(MI_DTYPES[rk])
    n = int(np.prod(dims))
    if len(real_b) != n * dtype.itemsize:
        raise EvsimError(f"{where}: variable '{name}' holds {len(real_b)} bytes for {n} values of {dtype}")
    return name, np.frombuffer(real_b, dtype).reshape(tuple(int(d) for d in dims), order="F")


def read_arrays(path: str | Path, names: tuple[str, ...], max_elements: int) -> dict[str, np.ndarray]:
    """The named real numeric arrays of a MATLAB v5 file; others are skipped unread."""
    path = Path(path)
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvsimError(f"{where}: cannot be read ({exc})") from None
    if len(raw) < 128 or not raw.startswith(b"MATLAB 5.0 MAT-file") or raw[124:128] != b"\x00\x01IM":
        raise EvsimError(f"{where}: not a little-endian MATLAB v5 .mat file (the QTDB sets are MATLAB 5.0 MAT-files)")
    buf = memoryview(raw)
    out: dict[str, np.ndarray] = {}
    limit = max_elements * 8 + 4096  # bytes one decompressed variable may take
    pos = 128
    while pos < len(buf) and len(out) < len(names):
        kind, nbytes, data = _tag(buf, pos, where)
        if kind == MI_COMPRESSED:
            d = zlib.decompressobj()
            try:
                inner = d.decompress(buf[data : data + nbytes], limit)
            except zlib.error as exc:
                raise EvsimError(f"{where}: damaged compressed element at byte {pos} ({exc})") from None
            if d.unconsumed_tail:
                raise EvsimError(f"{where}: compressed element at byte {pos} expands beyond {limit:,} bytes")
            ikind, inbytes, idata = _tag(memoryview(inner), 0, where)
            element = memoryview(inner)[idata : idata + inbytes] if ikind == MI_MATRIX else None
            pos = data + nbytes  # compressed elements are not padded
        else:
            element = buf[data : data + nbytes] if kind == MI_MATRIX else None
            pos = data + nbytes + (-nbytes % 8)
        if element is not None:
            name, array = _matrix(element, where, max_elements)
            if name in names:
                out[name] = array
    return out
