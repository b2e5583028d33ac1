"""A plain NumPy transcription of Lava's bit-accurate Loihi dense layer and CUBA LIF neuron.

Written from Lava's source (lava-nc/lava, BSD-3), line by line, as an independent peer of evsim's
engines; it shares no code with evsim:

- `src/lava/proc/dense/models.py`, `PyDenseModelBitAcc.run_spk`: the activation a neuron receives
  at step t is the buffer filled at step t-1 (a one-step delivery delay), the *sum* of the weights
  of the spiking inputs, shifted by the weight exponent (`<< e`, or an arithmetic `>> -e`).
- `src/lava/proc/lif/models.py`, `AbstractPyLifModelFixed.subthr_dynamics` (`PyLifModelBitAcc`):
      u = sign(u * (4096 - du_eff)) * (|u * (4096 - du_eff)| >> 12) + (a_in << 6)   du_eff = du + 1
      u: once over 2^23 it loses 2^24, at or under -2^23 it gains 2^24 (a 24-bit wrap)
      v = clip(sign(v * (4096 - dv)) * (|...| >> 12) + u + (bias_mant << bias_exp), -(2^23 - 1), 2^23 - 1)
      s = v > (vth << 6);  v[s] = 0
  `du_eff = du + 1` is Lava's `ds_offset` (a 1-bit register of Loihi), which is why netx passes
  `du = iDecay - 1`: here every decay is given as the amount subtracted per step, in 1/4096, the
  way netx files store it (`iDecay`, `vDecay`).
- `PyLifResetModelBitAcc.run_spk` (netx's neuron when `reset_interval` is set): before the update
  of hardware time step T (1-based), u = v = 0 if T % reset_interval == reset_offset.
"""

from __future__ import annotations

import numpy as np

UV_MAX = 1 << 23  # Lava's max_uv_val for 24-bit u and v


def decay(x: np.ndarray, amount: int | np.ndarray) -> np.ndarray:
    """x * (4096 - amount) / 4096 rounded toward zero (Lava's sign(p) * (|p| >> 12))."""
    p = x.astype(np.int64) * (4096 - np.asarray(amount, dtype=np.int64))
    return np.sign(p) * np.right_shift(np.abs(p), 12)


def wrap_current(u: np.ndarray) -> np.ndarray:
    """Lava's 24-bit wrap of u, exactly as written there (one correction each way)."""
    w = np.where(u > UV_MAX, u - 2 * UV_MAX, u)
    return np.where(w <= -UV_MAX, u + 2 * UV_MAX, w)


def dense_sum(weights: np.ndarray, spikes: np.ndarray, weight_exp: int = 0) -> np.ndarray:
    """Lava's PyDenseModelBitAcc accumulation for one step: the weights of the spiking inputs
    summed, then shifted by the exponent."""
    acc = weights[:, spikes.astype(bool)].sum(axis=1).astype(np.int64)
    return np.left_shift(acc, weight_exp) if weight_exp > 0 else np.right_shift(acc, -weight_exp)


def run_layer(
    weights: np.ndarray,
    spikes_in: np.ndarray,
    *,
    i_decay: int,
    v_decay: int,
    vth_mant: int,
    bias_mant: np.ndarray | int = 0,
    bias_exp: int = 6,
    weight_exp: int = 0,
    steps: int | None = None,
    reset_interval: int | None = None,
    reset_offset: int = 0,
    weights_rec: np.ndarray | None = None,
):
    """One netx dense block (Dense + LIF/LIFReset; with weights_rec a RecurrentDense, whose
    second Dense feeds the layer's spikes back the same way) driven by spikes_in (inputs x steps).

    Returns spikes (bool), u and v (int64), each (neurons, steps): the states after each step's
    update, v after the reset to 0 of the neurons that spiked.
    """
    weights = np.asarray(weights, dtype=np.int64)
    n = weights.shape[0]
    steps = spikes_in.shape[1] if steps is None else steps
    bias = np.broadcast_to(np.asarray(bias_mant, dtype=np.int64), (n,))
    bias = np.left_shift(bias, bias_exp) if bias_exp >= 0 else np.right_shift(bias, -bias_exp)
    vth = np.int64(vth_mant) << 6
    u = np.zeros(n, dtype=np.int64)
    v = np.zeros(n, dtype=np.int64)
    buffered = np.zeros(n, dtype=np.int64)  # the Dense process's a_buff
    S = np.zeros((n, steps), dtype=bool)
    U = np.zeros((n, steps), dtype=np.int64)
    V = np.zeros((n, steps), dtype=np.int64)
    for t in range(steps):
        a_in = buffered
        has_input = t < spikes_in.shape[1]
        buffered = dense_sum(weights, spikes_in[:, t], weight_exp) if has_input else np.zeros(n, dtype=np.int64)
        if reset_interval is not None and (t + 1) % reset_interval == reset_offset % reset_interval:
            u[:] = 0
            v[:] = 0
        u = wrap_current(decay(u, i_decay) + np.left_shift(a_in, 6))
        v = np.clip(decay(v, v_decay) + u + bias, -UV_MAX + 1, UV_MAX - 1)
        s = v > vth
        v[s] = 0
        if weights_rec is not None:
            buffered = buffered + dense_sum(np.asarray(weights_rec, dtype=np.int64), s, weight_exp)
        S[:, t], U[:, t], V[:, t] = s, u, v
    return S, U, V
