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


# ---- Rockpool's clock-cycle model of the SNN core ----------------------------------------------

# Rockpool 3.1 rockpool/devices/xylo/syns61201/power_cycles_model.py (Xylo Audio 2) and
# syns63300/power_cycles_model.py (Xylo IMU and Audio 3): master clock cycles the core needs per
# time step, from the configuration and the fraction of (channel, step) bins with activity (a bin
# with several events costs what one costs).  The "magic numbers" are Rockpool's.
CYCLE_MODELS = ("xylo-audio2", "xylo-audio3-imu")
INPUT_LOOP_CYCLES = 3.5
HIDDEN_UPDATE_CYCLES = 7
OUTPUT_ISYN_UPDATE_CYCLES = 8
FIXED_HIDDEN_NEURON_CYCLES = 19
FIXED_OUTPUT_NEURON_SPK_CYCLES = 12


def _active_fraction(raster) -> float:
    raster = np.asarray(raster)
    return float(np.count_nonzero(raster) / raster.size) if raster.size else 0.0


def cycles_per_step(config: XyloConfig, model: str, input_raster, hidden_raster, output_raster) -> float:
    """Rockpool's cycles_model for `config` (no aliases: evsim writes none) on recorded rasters.

    model: 'xylo-audio2' (every hidden neuron counts as reached by the input and readout
    matrices) or 'xylo-audio3-imu' (only the hidden neurons with a non-zero input or readout
    weight count).  Recurrent fan-out is that of synapse 1, as Rockpool reads it.
    """
    if model not in CYCLE_MODELS:
        raise ValueError(f"unknown cycle model {model!r}")
    p_in, p_hid, p_out = (_active_fraction(r) for r in (input_raster, hidden_raster, output_raster))
    n_in, n_hid, n_out = config.n_inputs, config.n_hidden, config.n_outputs
    if model == "xylo-audio2":
        n_ien = n_oen = n_hid
    else:
        n_ien = int(np.count_nonzero(np.abs(config.weights3("weights_in")).sum(axis=(0, 2))))
        n_oen = int(np.count_nonzero(np.abs(config.weights_out).sum(axis=1)))
    fanout = float(np.mean(np.count_nonzero(config.weights3("weights_rec")[:, :, 0], axis=1))) if n_hid else 0.0
    inputs = n_in * (p_in * n_ien * INPUT_LOOP_CYCLES + 1)
    hidden_isyn = (fanout * HIDDEN_UPDATE_CYCLES * p_hid + 3) * n_hid
    output_isyn = p_hid * (1 + n_out * OUTPUT_ISYN_UPDATE_CYCLES) * n_oen
    # Rockpool's spiking term with no alias sources or targets: max(p, 0)*2 + 0*3 + p*1 + 0
    hidden_spk = (FIXED_HIDDEN_NEURON_CYCLES + 3 * p_hid) * n_hid
    output_spk = FIXED_OUTPUT_NEURON_SPK_CYCLES * n_out
    return inputs + hidden_isyn + output_isyn + hidden_spk + output_spk
