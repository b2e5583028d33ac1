"""Network + fixed-point profile -> integer arrays for the fixed-point engines.

Each layer gets a state unit q (the real value of one LSB of its membrane, current and
adaptation state; per neuron under per-neuron scales without an exponent).  The layer's neuron
type (evsim/neurons/<type>.py, `fixed`) turns its decays into the profile's codes, names the
gain g_i from input current to the state its weights add to, and turns its thresholds and other
constants into integers in q.  Generic here, per neuron i:

    decay      alpha -> c = round(alpha * 2^k)            (multiplier; alpha_hw = c / 2^k)
                     -> dash = round(-log2(1 - alpha))    (shift;      alpha_hw = 1 - 2^-dash)
    gain       g_i, e.g. (1 - alpha_hw_i) * r for alif, lif, li (the DC gain stays exactly 1)
    weights    w_int = round(g_i * W_ij / step), |w_int| <= 2^(bits-1) - 1, added as w_int << s
    bias       bias_i = round(g_i * bias_i / q_i)

The weight step and the state unit: a quantization group (the layer, one incoming projection, or
one postsynaptic neuron) has an ideal step D_g = max|g W| / (2^(bits-1) - 1) (symmetric).
Without a shared exponent a group is a layer or a neuron, and q = D / 2^shift.  With one, the
layer's unit is fixed by its largest group, q = D_max / 2^(shift + e0) (e0 = 0 clamped into the
exponent range), and every group takes the smallest exponent e >= -shift whose step
q * 2^(shift + e) covers D_g, so that each step is q times a power of two and a weight is added
as an integer shift.  docs/hardware.md walks through it.

A profile with a chip's own integer step (`[dynamics] integer_step`; Loihi's `lava`) builds the
layers that chip's neuron holds with that step's `fixed` (evsim/neurons/lava.py, whose
conventions may fix the unit by the network's origin) and every other layer with its own type's
step, reported as an emulation; `min_delay` first raises shorter projection delays (reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engines.fixed import DECAY_KIND, DECAY_ROUND
from ..engines.record import FixedRecord, fixed_record
from ..errors import EvsimError
from ..model import Network, Projection
from ..neurons import CHIP_STEPS, STEP_CODES, step_code
from ..neurons.base import N_ARITH, FixedContext
from .profile import Profile

MAX_DASH = 62  # a shift of 62 leaves an int64 state at 0 or -1: no decay worth the name


def round_mode(x: np.ndarray, mode: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if mode == "nearest":  # half away from zero
        return np.sign(x) * np.floor(np.abs(x) + 0.5)
    if mode == "nearest-even":
        return np.rint(x)
    if mode == "floor":
        return np.floor(x)
    if mode == "truncate":
        return np.trunc(x)
    raise EvsimError(f"unknown rounding mode '{mode}'")


def signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


@dataclass
class Quantized:
    """The integer network, with what quantization did to it (for reports)."""

    record: FixedRecord
    profile: Profile
    network: Network
    mantissas: list[np.ndarray]  # per projection (n_tgt, n_src): the stored weights (before the shift)
    shifts: list[np.ndarray]  # per projection (n_tgt,): the left shift applied to each row's weights
    report: dict[str, Any] = field(default_factory=dict)
    xylo: Any = None  # formats.xylo_config.XyloConfig, on Xylo profiles: what the chip is configured with


def decay_codes(values: np.ndarray, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """(integer codes, effective decay factors) for per-neuron decay factors in [0, 1]."""
    d = profile.decay
    values = np.asarray(values, dtype=np.float64)
    if d.kind == "multiplier":
        one = 1 << d.bits
        codes = np.clip(round_mode(values * one, "nearest"), 0, one).astype(np.int64)
        return codes, codes / one
    with np.errstate(divide="ignore"):
        dash = np.where(values <= 0, 0.0, -np.log2(np.maximum(1.0 - values, 0.0)))
    dash = np.clip(round_mode(dash, "nearest"), 0, min(MAX_DASH, (1 << d.bits) - 1)).astype(np.int64)
    return dash, 1.0 - np.ldexp(1.0, -dash)


def _exponent_for(step_ideal: float, q: float, shift: int, emin: int, emax: int) -> int:
    for e in range(emin, emax + 1):
        if q * 2.0 ** (shift + e) >= step_ideal * (1 - 1e-12):
            return e
    return emax


def quantize(network: Network, profile: Profile) -> Quantized:
    """The network in the profile's integers (zero initial state: see docs/hardware.md)."""
    if not profile.fixed:
        raise EvsimError(f"profile '{profile.name}' runs in float64: there is nothing to quantize")
    if profile.dynamics.integer_step == "xylo":
        from . import xylo

        mapped = xylo.quantize_network(network, profile)
        return Quantized(record=mapped.record, profile=profile, network=network, mantissas=mapped.mantissas, shifts=mapped.shifts,
                         report={"profile": profile.name, "weight_bits": profile.weights.bits, "xylo": mapped.report}, xylo=mapped.config)
    if network.dt != 1.0 and any(layer.neuron == "alif" for layer in network.layers):
        raise EvsimError(f"model '{network.name}': fixed-point alif layers need dt = 1 (the reset B*s*dt must stay an integer), got {network.dt}")
    wspec, sspec = profile.weights, profile.state
    wmax = (1 << (wspec.bits - 1)) - 1
    bounds = {
        "current": signed_range(sspec.current_bits),
        "membrane": signed_range(sspec.membrane_bits),
        "adaptation": signed_range(sspec.adaptation_bits),
    }
    network, raised = with_min_delay(network, profile.dynamics.min_delay)
    chip = CHIP_STEPS.get(profile.dynamics.integer_step)
    conv = chip.convention(network.metadata) if chip is not None else "evsim"
    codes, opts, emulated = [], [], {}
    n_proj = len(network.projections)
    mantissas: list[np.ndarray | None] = [None] * n_proj
    shifts: list[np.ndarray | None] = [None] * n_proj
    addends: list[np.ndarray | None] = [None] * n_proj
    per = {k: [] for k in ("coef", "bias", "a0", "unit")}
    layer_reports = {}

    for layer in network.layers:
        t = layer.type
        where = f"layer '{layer.name}'"
        if t.fixed is None:
            raise EvsimError(f"{where}: {t.name} has no fixed-point step ({t.no_fixed})")
        size = layer.size
        incoming = [pi for pi, p in enumerate(network.projections) if p.target == layer.name]
        is_readout = layer.name == network.readout.layer
        done: dict = {}

        def unit(gain: np.ndarray, q: float | None = None, rounding: str | None = None) -> np.ndarray:
            """Quantize the incoming weights and biases scaled by `gain`; return the state unit.

            q: a unit fixed by the network's origin (a chip's convention) instead of one chosen
            from the weights: the weights then take exponent 0, rounded by `rounding`.
            """
            gain = np.broadcast_to(np.asarray(gain, dtype=np.float64), (size,))
            w_eff = {pi: gain[:, None] * network.projections[pi].weight for pi in incoming}
            bias_eff = gain * sum(network.projections[pi].bias for pi in incoming)
            granularity = wspec.granularity
            if granularity == "neuron" and wspec.exponent is None and is_readout:
                granularity = "layer"  # the readout's argmax compares neurons: they need one unit
            row_max = np.max(np.stack([np.abs(w).max(axis=1) for w in w_eff.values()]), axis=0)
            layer_max = float(row_max.max())
            if layer_max == 0.0:  # no weights at all: scale by what else there is
                thr = np.abs(layer.params[t.threshold]).max() if t.threshold else 0.0
                layer_max = float(max(np.abs(bias_eff).max(), thr, 1e-30))
                row_max = np.full(size, layer_max)
            if q is None:
                steps, exps, q = _weight_steps(granularity, incoming, w_eff, row_max, layer_max, size, wspec, wmax, profile)
            else:
                granularity = "fixed by the network's origin"
                step = np.full(size, q * 2.0**wspec.shift)
                steps = {pi: step for pi in incoming}
                exps = {pi: np.zeros(size, dtype=np.int64) for pi in incoming}
                q = np.full(size, q)
            clipped = zeroed = total = 0
            for pi in incoming:
                m = round_mode(w_eff[pi] / steps[pi][:, None], rounding or wspec.rounding)
                clipped += int(np.count_nonzero(np.abs(m) > wmax))
                m = np.clip(m, -wmax, wmax).astype(np.int64)
                zeroed += int(np.count_nonzero((m == 0) & (network.projections[pi].weight != 0)))
                total += m.size
                sh = (wspec.shift + exps[pi]).astype(np.int64)
                mantissas[pi], shifts[pi], addends[pi] = m, sh, m << sh[:, None]
            bias, bias_clip = fit(bias_eff / q, "current")
            done.update(q=q, bias=bias, bias_clip=bias_clip, bias_eff=bias_eff, steps=steps, exps=exps, granularity=granularity,
                        weights={"total": total, "zeroed_by_rounding": zeroed, "clipped": clipped})
            return q

        def fit(values, which):
            lo, hi = bounds[which]
            r = round_mode(values, wspec.rounding)
            n_clip = int(np.count_nonzero((r < lo) | (r > hi)))
            return np.clip(r, lo, hi).astype(np.int64), n_clip

        def take_bias() -> np.ndarray:
            """The incoming projections' summed bias (times the gain, real units), taken out of
            the current: for a chip that adds its bias to another state (Lava: to v)."""
            done["bias"], done["bias_clip"] = np.zeros(size, np.int64), 0
            return done["bias_eff"]

        ctx = FixedContext(decay=lambda x: decay_codes(x, profile), unit=unit, fit=fit, mantissa=mantissa, take_bias=take_bias)
        why = None
        if chip is not None:
            biased = any(np.any(network.projections[pi].bias != 0) for pi in incoming)
            why = chip.native(layer, biased)
        if chip is not None and why is None:
            fl = chip.fixed(layer, network.dt, network.discretization, ctx, conv)
            codes.append(STEP_CODES[profile.dynamics.integer_step])
            opts.append(chip.option_row(layer))
        else:
            fl = t.fixed(layer.params, layer.options, network.dt, network.discretization, ctx)
            codes.append(step_code(t))
            opts.append(t.option_codes(layer.options))
            if chip is not None:
                emulated[layer.name] = {"type": t.name, "why": why}
        q = done["q"]
        per["coef"].append(fl.coef)
        per["bias"].append(done["bias"])
        per["a0"].append(fl.a0)
        per["unit"].append(q)

        def rng(a):
            a = np.asarray(a)
            return [float(a.min()), float(a.max())] if a.size else None

        alpha_hw = fl.decays_hw.get("alpha")
        report = {
            "unit": rng(q),
            "granularity": done["granularity"],
            "weight_step": {f"{network.projections[pi].source}->{layer.name}": rng(done["steps"][pi]) for pi in incoming},
            "weight_shift": {f"{network.projections[pi].source}->{layer.name}": rng(wspec.shift + done["exps"][pi]) for pi in incoming},
            "weights": done["weights"],
            "bias": rng(done["bias"]),
            "clipped": {"bias": done["bias_clip"], **fl.clipped},
            "decay": "multiplier" if profile.decay.kind == "multiplier" else "shift",
        }
        if chip is not None:
            report["integer_step"] = f"{layer.neuron}'s own (an emulation)" if layer.name in emulated else profile.dynamics.integer_step
        if t.threshold:
            column = chip.VTH if chip is not None and layer.name not in emulated else _theta_column(t)
            report["theta"] = rng(fl.coef[:, column])
        if alpha_hw is not None:
            with np.errstate(divide="ignore"):
                tau_hw = np.where(alpha_hw > 0, -network.dt / np.log(np.where(alpha_hw > 0, alpha_hw, 1.0)), 0.0)
            report["alpha_hw"] = rng(alpha_hw)
            report["tau_m_hw"] = rng(tau_hw)
        layer_reports[layer.name] = report

    arith = np.zeros(N_ARITH, dtype=np.int64)
    arith[:4] = DECAY_KIND[profile.decay.kind], profile.decay.bits, DECAY_ROUND[profile.decay.rounding], int(profile.decay.min_step)
    arith[4:10] = *bounds["current"], *bounds["membrane"], *bounds["adaptation"]
    arith[10:13] = (sspec.current_overflow == "wrap", sspec.membrane_overflow == "wrap", sspec.adaptation_overflow == "wrap")
    record = fixed_record(
        network,
        coef=np.concatenate(per["coef"]),
        bias=np.concatenate(per["bias"]),
        a0=np.concatenate(per["a0"]),
        unit=np.concatenate(per["unit"]),
        arith=arith,
        weights=addends,
        layer_code=np.array(codes, dtype=np.int64),
        layer_opts=np.stack(opts).astype(np.int64),
    )
    return Quantized(
        record=record,
        profile=profile,
        network=network,
        mantissas=mantissas,
        shifts=shifts,
        report={
            "profile": profile.name,
            "weight_bits": wspec.bits,
            "state_bits": {"membrane": sspec.membrane_bits, "current": sspec.current_bits, "adaptation": sspec.adaptation_bits},
            "rounding": wspec.rounding,
            "layers": layer_reports,
            **({} if chip is None else {
                "integer_step": profile.dynamics.integer_step,
                "convention": conv,
                "emulated": emulated,
            }),
            **({"delays_raised": raised} if raised else {}),
        },
    )


def mantissa(values, shift: int, lo: int, hi: int, rounding: str = "nearest") -> tuple[np.ndarray, int]:
    """values rounded to multiples of 2^shift whose mantissas lie in [lo, hi] (clipped; the
    number clipped): a chip constant held as mantissa << shift (Lava's vth, bias)."""
    m = round_mode(np.asarray(values, dtype=np.float64) / 2.0**shift, rounding)
    n_clip = int(np.count_nonzero((m < lo) | (m > hi)))
    return np.clip(m, lo, hi).astype(np.int64) << shift, n_clip


def with_min_delay(network: Network, min_delay: int) -> tuple[Network, list[str]]:
    """The network as a chip that delivers no earlier than `min_delay` steps after a spike runs
    it (Lava's Dense: the next step), and the projections whose delay that raised."""
    raised = [p.label for p in network.projections if p.delay < min_delay]
    if not raised:
        return network, []
    projections = [p if p.delay >= min_delay else Projection(p.source, p.target, p.weight, p.bias, min_delay) for p in network.projections]
    return network.replace(projections=projections), raised


def _theta_column(t) -> int:
    from ..neurons import alif, lif

    return alif.F_THETA if t.kernel == "alif" else lif.V_TH


def _weight_steps(granularity, incoming, w_eff, row_max, layer_max, size, wspec, wmax, profile):
    """(weight step per row per projection, exponent per row per projection, state unit q)."""
    steps: dict[int, np.ndarray] = {}
    exps: dict[int, np.ndarray] = {}
    if wspec.exponent is None:
        if granularity == "layer":
            step = np.full(size, layer_max / wmax)
        else:  # neuron
            safe = np.where(row_max > 0, row_max, layer_max)
            step = safe / wmax
        q = step / 2.0**wspec.shift
        for pi in incoming:
            steps[pi] = step
            exps[pi] = np.zeros(size, dtype=np.int64)
        return steps, exps, q
    emin, emax = wspec.exponent
    emin = max(emin, -wspec.shift)  # a negative net shift would drop weight bits
    if emin > emax:
        raise EvsimError(f"profile '{profile.name}': no weight exponent >= -shift in {wspec.exponent}")
    e0 = min(max(0, emin), emax)
    q_scalar = (layer_max / wmax) / 2.0 ** (wspec.shift + e0)
    q = np.full(size, q_scalar)
    if granularity == "layer":
        groups = {"layer": (incoming, None, layer_max)}
    elif granularity == "projection":
        groups = {pi: ([pi], None, float(np.abs(w_eff[pi]).max())) for pi in incoming}
    else:
        groups = {i: (incoming, i, float(row_max[i])) for i in range(size)}
    for pi in incoming:
        steps[pi] = np.empty(size)
        exps[pi] = np.empty(size, dtype=np.int64)
    for _, (pis, row, gmax) in groups.items():
        e = _exponent_for(gmax / wmax, q_scalar, wspec.shift, emin, emax) if gmax > 0 else emin
        rows = slice(None) if row is None else slice(row, row + 1)
        for pi in pis:
            steps[pi][rows] = q_scalar * 2.0 ** (wspec.shift + e)
            exps[pi][rows] = e
    return steps, exps, q
