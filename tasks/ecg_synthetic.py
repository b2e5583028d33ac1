"""Synthetic two-lead ECG with exact wave labels, encoded like QTDB: task `ecg-synthetic`.

Each sequence is 1301 samples at 250 Hz (5.2 s, as a QTDB_*.mat sequence).  A record has its
own heart rate and per-lead wave amplitudes; each beat varies its RR interval and wave timing.
A beat is a sum of Gaussian bumps placed from sampled segment durations:

    P onset --P (~100 ms)-- P offset --PQ (~60 ms)-- QRS onset --QR (~45 ms)-- R peak
      --RS (~45 ms)-- QRS offset --ST (ST segment + T wave, ~300 ms, QT scales with sqrt(RR))--
      T offset --TP (the rest of the RR interval)-- next P onset

P: one bump over the P segment; Q, R, S: bumps at the QRS onset side, the R peak, the QRS
offset side; T: one bump ending at the T offset.  Bumps are Gaussians with sigma = width / 5,
so a wave is > 99% inside its segment.  Baseline wander (0.1-0.5 Hz sinusoids) and white
noise (plus a little 50 Hz mains hum) are added; amplitudes are in mV, as the encoder's 0.03
threshold expects.  Labels are exact per sample by the QTDB segment definitions (see
tasks/ecg_encoder.py): every sample is labelled, unlike QTDB.

Option `label_lag` (default 0) delays the labels against the waveform, as in QTDB's files,
where they lag by about 16 steps (QTDB_LABEL_LAG below); a model trained on QTDB has learnt
that lag, so it scores far lower on exact labels than on lagged ones.

Sequences are generated one by one from NumPy's generator seeded by (seed, index), so a
sequence does not depend on n.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evsim.errors import EvsimError

from .base import TaskOption, TaskSpec, check_count

MAX_SEQUENCES = 10_000
from .ecg import CLASSES, EcgDataset
from .ecg_encoder import SAMPLE_RATE, encode, one_hot

N_STEPS = 1301
# In QTDB_{train,test}.mat the labels lag the waveform: the burst of level-crossing events of the
# QRS complex starts ~15 steps before the 'QR' label and ends ~16 steps before 'ST' begins, where
# exact segment labels put it right after the QR onset.  Measured by aligning the mean event
# profiles around each class onset in QTDB_train.mat with those of this generator (15-17 steps
# for the PQ, QR and RS onsets).  `label_lag=16` reproduces that alignment.
QTDB_LABEL_LAG = 16
FS = SAMPLE_RATE


def _bump(t: np.ndarray, center: float, sigma: float, amp: float) -> np.ndarray:
    lo, hi = np.searchsorted(t, [center - 6 * sigma, center + 6 * sigma])
    out = np.zeros_like(t)
    out[lo:hi] = amp * np.exp(-0.5 * ((t[lo:hi] - center) / sigma) ** 2)
    return out


def generate_record(rng: np.random.Generator, n_samples: int = N_STEPS, leads: int = 2):
    """(signal (n_samples, leads) in mV, labels (n_samples,) class ids 0..5)."""
    t = np.arange(n_samples, dtype=np.float64)
    sig = np.zeros((n_samples, leads))
    labels = np.full(n_samples, -1, dtype=np.int64)
    ms = FS / 1000.0  # samples per millisecond
    # ---- per-record character
    hr = rng.uniform(55, 95)  # beats per minute
    rr_mean = 60.0 / hr * FS
    base = {
        "p": rng.uniform(85, 115) * ms,
        "pq": rng.uniform(40, 80) * ms,
        "qr": rng.uniform(35, 55) * ms,
        "rs": rng.uniform(35, 55) * ms,
        "t": rng.uniform(130, 190) * ms,
    }
    qt_coef = rng.uniform(0.37, 0.43)  # Bazett: QT = k * sqrt(RR in s)
    amp = np.empty((leads, 5))  # per lead: P, Q, R, S, T (mV)
    for lead in range(leads):
        gain = rng.uniform(0.5, 1.3)
        amp[lead] = gain * np.array([
            rng.uniform(0.08, 0.25),
            -rng.uniform(0.03, 0.2),
            rng.uniform(0.6, 1.6),
            -rng.uniform(0.1, 0.6),
            rng.uniform(0.15, 0.45) * (-1 if (lead > 0 and rng.random() < 0.2) else 1),
        ])
    # ---- beats, from before the window to past its end
    pos = -rng.uniform(0.3, 1.6) * rr_mean  # the first R peak's time
    while pos < n_samples + rr_mean:
        rr = rr_mean * (1 + rng.normal(0, 0.04))
        jit = lambda key: base[key] * (1 + rng.normal(0, 0.06))  # noqa: E731
        d_p, d_pq, d_qr, d_rs, d_t = jit("p"), jit("pq"), jit("qr"), jit("rs"), jit("t")
        qt = qt_coef * np.sqrt(rr / FS) * FS * (1 + rng.normal(0, 0.02))
        r = pos
        qrs_on, qrs_off = r - d_qr, r + d_rs
        p_off = qrs_on - d_pq
        p_on = p_off - d_p
        t_off = qrs_on + qt
        t_on = t_off - d_t
        for lead in range(leads):
            a_p, a_q, a_r, a_s, a_t = amp[lead] * (1 + rng.normal(0, 0.05, 5))
            sig[:, lead] += _bump(t, (p_on + p_off) / 2, d_p / 5, a_p)
            sig[:, lead] += _bump(t, qrs_on + 0.45 * d_qr, d_qr / 5, a_q)
            sig[:, lead] += _bump(t, r, (d_qr + d_rs) / 9, a_r)
            sig[:, lead] += _bump(t, qrs_off - 0.45 * d_rs, d_rs / 5, a_s)
            sig[:, lead] += _bump(t, (t_on + t_off) / 2, d_t / 5, a_t)
        # labels: [onset, offset) segments; the TP segment runs to the next beat's P onset
        for lo, hi, cls in ((p_on, p_off, 0), (p_off, qrs_on, 1), (qrs_on, r, 2), (r, qrs_off, 3), (qrs_off, t_off, 4)):
            a, b = int(np.clip(np.ceil(lo), 0, n_samples)), int(np.clip(np.ceil(hi), 0, n_samples))
            labels[a:b] = cls
        next_r = pos + rr
        next_p_on = next_r - (base["qr"] + base["pq"] + base["p"])  # approximate: overwritten by the next beat
        a, b = int(np.clip(np.ceil(t_off), 0, n_samples)), int(np.clip(np.ceil(next_p_on) + 40, 0, n_samples))
        labels[a:b] = 5
        pos = next_r
    # ---- baseline wander, mains hum, noise
    for lead in range(leads):
        for _ in range(2):
            f = rng.uniform(0.1, 0.5) / FS
            sig[:, lead] += rng.uniform(0.02, 0.12) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        sig[:, lead] += rng.uniform(0, 0.01) * np.sin(2 * np.pi * 50 / FS * t + rng.uniform(0, 2 * np.pi))
        sig[:, lead] += rng.normal(0, rng.uniform(0.01, 0.025), n_samples)
    return sig, labels


def generate(n: int = 100, seed: int = 0, n_samples: int = N_STEPS, label_lag: int = 0):
    """n encoded sequences: x (n, steps, 4) uint8 events, y (n, steps, 6) one-hot, raw signals.

    label_lag > 0 makes the labels lag the waveform by that many steps (the label at step t
    describes the signal of step t - label_lag), as they do in QTDB_*.mat (see QTDB_LABEL_LAG)."""
    # generated eagerly (about 30 KB a sequence): the cap keeps a typo from exhausting memory
    check_count(n, 1, MAX_SEQUENCES, "ecg-synthetic: --n")
    check_count(seed, 0, 2**63 - 1, "ecg-synthetic: --seed")
    if label_lag < 0 or label_lag >= n_samples:
        raise EvsimError(f"ecg-synthetic: label_lag must lie in 0..{n_samples - 1}, got {label_lag}")
    xs, ys, raws = [], [], []
    for i in range(n):
        rng = np.random.default_rng([int(seed), i, 0xEC6])
        sig, lab = generate_record(rng, n_samples + label_lag)
        sig, lab = sig[label_lag:], lab[:n_samples]
        xs.append(encode(sig))
        ys.append(one_hot(lab))
        raws.append(sig)
    return np.stack(xs), np.stack(ys), np.stack(raws)


def open_synthetic(data_dir: Path | None = None, n: int = 100, seed: int = 0, label_lag: int = 0) -> EcgDataset:
    x, y, _ = generate(int(n), int(seed), label_lag=int(label_lag))
    return EcgDataset(
        x=x,
        y=y,
        source=f"ecg-synthetic(n={n}, seed={seed}, label_lag={label_lag})",
        name="ecg-synthetic",
        info={"n": int(n), "seed": int(seed), "label_lag": int(label_lag), "classes": list(CLASSES), "generator": "tasks/ecg_synthetic.py", "step_seconds": 1.0 / FS},
    )


def _no_data_dir() -> Path:
    return Path(__file__).resolve().parent  # never read: the data are generated


SPEC = TaskSpec(
    name="ecg-synthetic",
    summary="synthetic two-lead ECG (250 Hz) with exact wave labels, encoded like QTDB: 4 channels, 6 classes per step",
    files=[],
    open=open_synthetic,
    options=[
        TaskOption("n", int, 100, "number of 1301-step sequences"),
        TaskOption("seed", int, 0, "generator seed (sequence i depends only on seed and i)"),
        TaskOption("label_lag", int, 0, f"steps the labels lag the waves (0: exact; QTDB's files: about {QTDB_LABEL_LAG})"),
    ],
    default_data=_no_data_dir,
)
