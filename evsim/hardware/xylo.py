"""Xylo: a quantized network as a Xylo configuration, Rockpool's quantization schemes, and
Rockpool's clock-cycle model of the SNN core.

Quantization follows Rockpool 3.1's `rockpool.transform.quantize_methods` on a float
specification (the layout of `XyloConfig`, float values, weights in the membrane's unit so that
the threshold is comparable to them):

    global   one scale for the input and recurrent weights, hidden biases and thresholds (the
             largest |weight| or |bias| becomes 127), one for the readout weights, biases and
             thresholds;
    channel  one scale per hidden neuron (its input and recurrent weights: the largest becomes
             127) and one per readout neuron.

A scale that would put a threshold beyond int16 is reduced so that the largest threshold is
32767.  Dashes are rounded.  Where Rockpool 3.1 differs, evsim keeps the float model's meaning:
readout biases take the readout scale (Rockpool's global_quantize scales them by the hidden
one), a threshold limit rescales biases with the weights, every scale is applied once to the
float values (Rockpool rounds twice when it limits a threshold), and per-channel scaling scales
the biases whether the neurons use one or two synaptic states.
"""

from __future__ import annotations

import numpy as np

from ..formats.xylo_config import INT16, XyloConfig

WEIGHT_MAX = 127
THRESHOLD_MAX = INT16[1]


def _round(x) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64)).astype(np.int64)  # NumPy's half-to-even, as Rockpool


def _as3(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    return w[:, :, None] if w.ndim == 2 else w


def _limited(scale: float, thresholds: np.ndarray) -> float:
    """The scale, reduced where it would carry the largest threshold beyond int16."""
    top = float(np.max(thresholds, initial=0.0)) * scale
    return scale * THRESHOLD_MAX / top if top > THRESHOLD_MAX else scale


def quantize_global(spec: dict, dt: float = 1e-3) -> XyloConfig:
    """Rockpool's global_quantize (see the module docstring for the differences kept)."""
    w_in, w_rec, w_out = _as3(spec["weights_in"]), _as3(spec["weights_rec"]), np.asarray(spec["weights_out"], np.float64)
    bias, bias_out = np.asarray(spec["bias"], np.float64), np.asarray(spec["bias_out"], np.float64)
    th, th_out = np.asarray(spec["threshold"], np.float64), np.asarray(spec["threshold_out"], np.float64)
    top = max(np.abs(w_in).max(initial=0.0), np.abs(w_rec).max(initial=0.0), np.abs(bias).max(initial=0.0))
    top_out = max(np.abs(w_out).max(initial=0.0), np.abs(bias_out).max(initial=0.0))
    scale = _limited(WEIGHT_MAX / top if top else 1.0, th)
    scale_out = _limited(WEIGHT_MAX / top_out if top_out else 1.0, th_out)
    return _config(spec, dt, w_in * scale, w_rec * scale, w_out * scale_out, th * scale, th_out * scale_out, bias * scale, bias_out * scale_out)


def quantize_channel(spec: dict, dt: float = 1e-3) -> XyloConfig:
    """Rockpool's channel_quantize: a scale per hidden neuron and per readout neuron."""
    w_in, w_rec, w_out = _as3(spec["weights_in"]), _as3(spec["weights_rec"]), np.asarray(spec["weights_out"], np.float64)
    bias, bias_out = np.asarray(spec["bias"], np.float64), np.asarray(spec["bias_out"], np.float64)
    th, th_out = np.asarray(spec["threshold"], np.float64), np.asarray(spec["threshold_out"], np.float64)
    n_hid, n_ien = w_rec.shape[0], w_in.shape[1]
    top = np.abs(w_rec).max(axis=(0, 2))
    top[:n_ien] = np.maximum(top[:n_ien], np.abs(w_in).max(axis=(0, 2)))
    top_out = np.abs(w_out).max(axis=0)
    scale = np.array([_limited(WEIGHT_MAX / m if m else 1.0, th[i : i + 1]) for i, m in enumerate(top)])
    scale_out = np.array([_limited(WEIGHT_MAX / m if m else 1.0, th_out[j : j + 1]) for j, m in enumerate(top_out)])
    return _config(spec, dt, w_in * scale[None, :n_ien, None], w_rec * scale[None, :, None], w_out * scale_out[None, :],
                   th * scale, th_out * scale_out, bias * scale, bias_out * scale_out)


def _config(spec, dt, w_in, w_rec, w_out, th, th_out, bias, bias_out) -> XyloConfig:
    two = w_in.shape[2] == 2 or w_rec.shape[2] == 2  # else the config keeps Rockpool's 2-D matrices
    squeeze = (lambda w: w) if two else (lambda w: w[:, :, 0])
    return XyloConfig(
        weights_in=squeeze(_round(w_in)),
        weights_rec=squeeze(_round(w_rec)),
        weights_out=_round(w_out),
        dash_mem=_round(spec["dash_mem"]),
        dash_mem_out=_round(spec["dash_mem_out"]),
        dash_syn=_round(spec["dash_syn"]),
        dash_syn_2=_round(spec.get("dash_syn_2", np.zeros(len(th)))),
        dash_syn_out=_round(spec["dash_syn_out"]),
        threshold=_round(th),
        threshold_out=_round(th_out),
        bias=_round(bias),
        bias_out=_round(bias_out),
        weight_shift_in=int(spec.get("weight_shift_in", 0)),
        weight_shift_rec=int(spec.get("weight_shift_rec", 0)),
        weight_shift_out=int(spec.get("weight_shift_out", 0)),
        dt=dt,
    )
