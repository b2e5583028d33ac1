"""The paper's ECG encoder: Savitzky-Golay smoothing, then level crossing between samples.

For each lead (Yin, Corradi & Bohte; the official script's `convert_seq`):

    y = savgol_filter(lead, window=5, order=3)
    up[i]   = 1  if y[i+1] - y[i] >= threshold           (i = 0 .. T-2)
    down[i] = 1  if y[i] - y[i+1] >= threshold
    up[T-1] = down[T-1] = 0

so an event at step i announces the change towards step i+1.  Channels are lead 1 up, lead 1
down, lead 2 up, lead 2 down, ... (the order of QTDB_{train,test}.mat, whose x was made this way
from QT database records at 250 Hz, threshold 0.03 in mV).

Inputs: a (T, leads) array, a .npy or .csv file of one, or (with the optional `wfdb` package,
`pip install evsim[wfdb]`) a WFDB record whose annotations give per-sample wave labels.

WFDB annotation mapping (QT database `pu0`/`q1c` style).  Waves are annotated as
onset '(' , peak ('p', 'N', 't') and offset ')'; a symbol applies to the wave whose peak it
brackets.  With P = [P onset, P offset], QRS = [QRS onset, QRS offset] with its R peak 'N',
T = [T onset, T offset], the six classes of QTDB are, per sample:

    P   P onset .. P offset                 (class 0)
    PQ  P offset .. QRS onset               (class 1)
    QR  QRS onset .. R peak                 (class 2)
    RS  R peak .. QRS offset                (class 3)
    ST  QRS offset .. T offset              (class 4: the ST segment and the T wave)
    TP  T offset .. next P onset            (class 5)

Samples outside a fully annotated stretch (before the first onset, after the last offset, or
where a wave is missing from the annotation) stay unlabelled (-1): QTDB's files leave them
all-zero, which the paper's scoring counts as class 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evsim.errors import EvsimError

CLASSES = ("P", "PQ", "QR", "RS", "ST", "TP")
THRESHOLD = 0.03
WINDOW = 5
ORDER = 3
SAMPLE_RATE = 250.0


def level_crossing(signal: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Up/down events between consecutive samples of a 1-D signal: (T, 2) uint8."""
    s = np.asarray(signal, dtype=np.float64)
    if s.ndim != 1:
        raise EvsimError(f"level crossing: expected a 1-D signal, got shape {s.shape}")
    out = np.zeros((len(s), 2), dtype=np.uint8)
    if len(s) > 1:
        d = s[1:] - s[:-1]
        out[:-1, 0] = d >= threshold
        out[:-1, 1] = (s[:-1] - s[1:]) >= threshold  # the script's `elif`: never both, as threshold > 0
    return out


def encode(signals: np.ndarray, threshold: float = THRESHOLD, window: int = WINDOW, order: int = ORDER) -> np.ndarray:
    """(T, leads) signal -> (T, 2*leads) uint8 events: lead1 up, lead1 down, lead2 up, ..."""
    from scipy.signal import savgol_filter

    x = np.asarray(signals, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise EvsimError(f"ECG encoder: expected a (samples, leads) signal, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise EvsimError("ECG encoder: the signal holds NaN or infinite values")
    if not threshold > 0:
        raise EvsimError(f"ECG encoder: threshold must be positive, got {threshold}")
    if window % 2 == 0 or window <= order:
        raise EvsimError(f"ECG encoder: the Savitzky-Golay window must be odd and larger than the order ({window}, {order})")
    if x.shape[0] < window:
        raise EvsimError(f"ECG encoder: the signal has {x.shape[0]} samples, fewer than the filter window {window}")
    out = np.zeros((x.shape[0], 2 * x.shape[1]), dtype=np.uint8)
    for lead in range(x.shape[1]):
        y = savgol_filter(x[:, lead], window, order)
        out[:, 2 * lead : 2 * lead + 2] = level_crossing(y, threshold)
    return out


# ---- reading signals --------------------------------------------------------------------------


def read_signal(path: str | Path) -> np.ndarray:
    """A (T, leads) float64 signal from .npy or .csv (comma separated, an optional header line)."""
    path = Path(path)
    if not path.is_file():
        raise EvsimError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            x = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            with open(path) as f:
                first = f.readline()
            skip = 0 if _is_numeric_row(first) else 1
            x = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
        else:
            raise EvsimError(f"{path}: unknown signal format '{suffix}' (expected .npy, .csv or a WFDB record)")
    except EvsimError:
        raise
    except Exception as exc:
        raise EvsimError(f"{path}: cannot read the signal ({type(exc).__name__}: {exc})") from None
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise EvsimError(f"{path}: expected a (samples, leads) table, got shape {x.shape}")
    return x


def _is_numeric_row(line: str) -> bool:
    try:
        [float(v) for v in line.strip().split(",") if v.strip()]
        return bool(line.strip())
    except ValueError:
        return False


def labels_from_annotations(n: int, sample: np.ndarray, symbol: list[str]) -> np.ndarray:
    """Per-sample class ids (-1 = unlabelled) from QTDB-style wave annotations (see module doc)."""
    sample = np.asarray(sample, dtype=np.int64)
    order = np.argsort(sample, kind="stable")
    sample = sample[order]
    symbol = [symbol[i] for i in order]
    # group onset/peak/offset triples: '(' opens, a peak symbol names the wave, ')' closes
    waves = []  # (kind, onset, peak, offset)
    i = 0
    while i < len(symbol):
        if symbol[i] in ("p", "N", "t") or symbol[i] == "(":
            onset = peak = offset = None
            kind = None
            if symbol[i] == "(":
                onset = sample[i]
                i += 1
            if i < len(symbol) and symbol[i] in ("p", "N", "t"):
                kind, peak = symbol[i], sample[i]
                i += 1
            if i < len(symbol) and symbol[i] == ")":
                offset = sample[i]
                i += 1
            if kind is not None:
                waves.append((kind, onset, peak, offset))
        else:
            i += 1
    y = np.full(n, -1, dtype=np.int64)

    def fill(a, b, cls):
        if a is not None and b is not None and 0 <= a <= b:
            y[max(a, 0) : min(b, n)] = cls

    for w, (kind, onset, peak, offset) in enumerate(waves):
        nxt = waves[w + 1] if w + 1 < len(waves) else None
        if kind == "p":
            fill(onset, None if offset is None else offset + 1, 0)
            if nxt is not None and nxt[0] == "N" and offset is not None:
                fill(offset + 1, nxt[1], 1)
        elif kind == "N":
            fill(onset, peak, 2)
            fill(peak, offset, 3)
            if nxt is not None and nxt[0] == "t" and offset is not None:
                fill(offset, None if nxt[3] is None else nxt[3] + 1, 4)
        elif kind == "t":
            if nxt is not None and nxt[0] == "p" and offset is not None:
                fill(offset + 1, nxt[1], 5)
    return y


def read_wfdb(record: str | Path, annotator: str = "q1c", leads: int = 2) -> tuple[np.ndarray, np.ndarray | None, float]:
    """(signal (T, leads), labels (T,) or None, sampling rate) of a WFDB record (needs `wfdb`)."""
    try:
        import wfdb
    except ImportError:
        raise EvsimError("reading WFDB records needs the wfdb package: pip install 'evsim[wfdb]'") from None
    record = str(record)
    if record.endswith(".hea") or record.endswith(".dat"):
        record = record[:-4]
    try:
        rec = wfdb.rdrecord(record)
    except Exception as exc:
        raise EvsimError(f"{record}: cannot read the WFDB record ({type(exc).__name__}: {exc})") from None
    x = np.asarray(rec.p_signal, dtype=np.float64)[:, :leads]
    labels = None
    if annotator and Path(record + "." + annotator).is_file():
        try:
            ann = wfdb.rdann(record, annotator)
        except Exception as exc:
            raise EvsimError(f"{record}.{annotator}: cannot read the annotations ({type(exc).__name__}: {exc})") from None
        labels = labels_from_annotations(len(x), ann.sample, list(ann.symbol))
    return x, labels, float(rec.fs)


def encode_file(path: str | Path, annotator: str = "q1c", leads: int | None = None, threshold: float = THRESHOLD):
    """Encode a .npy/.csv signal or a WFDB record: (events (T, 2*leads), labels (T,) or None)."""
    p = Path(path)
    if p.suffix.lower() in (".npy", ".csv"):
        x, labels = read_signal(p), None
    else:
        x, labels, fs = read_wfdb(p, annotator, leads or 2)
        if abs(fs - SAMPLE_RATE) > 1e-6:
            raise EvsimError(f"{path}: sampled at {fs:g} Hz; the encoder expects {SAMPLE_RATE:g} Hz (resample first)")
    if leads is not None:
        x = x[:, :leads]
    return encode(x, threshold), labels


def one_hot(labels: np.ndarray, n_classes: int = len(CLASSES)) -> np.ndarray:
    """(T,) class ids with -1 = unlabelled -> (T, n_classes) uint8, all-zero where unlabelled."""
    y = np.zeros((len(labels), n_classes), dtype=np.uint8)
    ok = labels >= 0
    y[np.nonzero(ok)[0], labels[ok]] = 1
    return y
