"""Hardware profiles: small declarative records loaded from TOML (one file per chip).

A profile says how a chip represents a network (weight bits and quantization scheme, state
widths and overflow behaviour, decay representation), what it can hold (limits per core and
per chip), and what each operation costs (energy per operation).  It is data, not code: there
is no subclass per chip.  The shipped profiles live in `evsim/hardware/profiles/*.toml`; a user
passes one by name (`--profile loihi`) or by path (`--profile my_chip.toml`).

Every field is checked when the file is read; a bad file is a one-line EvsimError naming the
file, the table and the field.  docs/hardware.md describes every field.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import EvsimError
from ..neurons import ALIASES, CHIP_STEPS, NEURON_TYPES

ARITHMETIC = ("float", "fixed")
GRANULARITY = ("layer", "projection", "neuron")
WEIGHT_ROUNDING = ("nearest", "nearest-even", "floor", "truncate")
DECAY_KINDS = ("multiplier", "shift")
DECAY_ROUNDING = ("floor", "nearest", "truncate")
OVERFLOW = ("saturate", "wrap")

MAX_STATE_BITS = 48  # int64 arithmetic: a 16-bit decay multiplier times a 48-bit state stays exact
MAX_WEIGHT_BITS = 24
MAX_DECAY_BITS = 15
MAX_EXPONENT = 24  # a shared weight exponent: 2^24 x a 24-bit weight still fits a 48-bit state


@dataclass(frozen=True)
class WeightSpec:
    bits: int = 8
    granularity: str = "layer"  # one scale per layer, per incoming projection, or per neuron
    rounding: str = "nearest"
    shift: int = 0  # fixed left shift of a stored weight before it is accumulated
    exponent: tuple[int, int] | None = None  # allowed range of a shared per-group exponent


@dataclass(frozen=True)
class StateSpec:
    membrane_bits: int = 16
    current_bits: int = 16
    adaptation_bits: int = 16
    membrane_overflow: str = "saturate"
    current_overflow: str = "saturate"
    adaptation_overflow: str = "saturate"


@dataclass(frozen=True)
class DecaySpec:
    kind: str = "multiplier"  # x * c / 2^bits, or x - (x >> dash)
    bits: int = 12  # multiplier width; for a shift decay, the width of the dash field (dash <= 2^bits - 1)
    rounding: str = "floor"
    min_step: bool = False  # shift decay: a non-zero value always moves by at least 1 (Xylo)


@dataclass(frozen=True)
class Limits:
    neurons_per_core: int | None = None
    fan_in_per_neuron: int | None = None
    fan_out_per_neuron: int | None = None
    synapse_memory_bytes_per_core: int | None = None
    input_axons_per_core: int | None = None
    cores_per_chip: int | None = None
    input_channels: int | None = None
    output_neurons: int | None = None
    # Xylo-style chips: one hidden population with a recurrent weight memory, beside input and
    # readout matrices (docs/hardware.md, "Xylo")
    recurrent_fan_out_per_neuron: int | None = None  # non-zero weights from one hidden neuron to hidden neurons
    recurrent_weights_per_chip: int | None = None  # non-zero hidden-to-hidden weights in all
    input_projection_neurons: int | None = None  # hidden neurons that input weights may reach
    output_projection_neurons: int | None = None  # hidden neurons the readout weights may come from
    synaptic_states_per_neuron: int | None = None
    input_events_per_step: int | None = None  # events one input channel delivers per step (more are clipped)
    spikes_per_step: int | None = None  # spikes a hidden neuron may emit per step
    readout_spikes_per_step: int | None = None  # spikes a readout neuron may emit per step
    neuron_types: tuple[str, ...] = NEURON_TYPES
    readout_on_core: bool = True  # False: the readout layer sits on dedicated output neurons
    synapse_bits: int | None = None  # bits a stored synapse takes (default: the weight bits)

    @property
    def any(self) -> bool:
        return any(
            getattr(self, f.name) is not None
            for f in dataclasses.fields(self)
            if f.name not in ("neuron_types", "readout_on_core", "synapse_bits")
        ) or set(self.neuron_types) != set(NEURON_TYPES)


@dataclass(frozen=True)
class DynamicsSpec:
    """How the chip's neurons and synapses compute, beyond widths (fixed profiles)."""

    integer_step: str = ""  # a chip's own integer step (evsim.neurons.CHIP_STEPS) for the layers it holds natively
    min_delay: int = 0  # a projection delivers no earlier than this many steps after the spike
    emulated_types: tuple[str, ...] = ()  # types the chip has no neuron for that still run, flagged as emulations


@dataclass(frozen=True)
class EnergySpec:
    """Energy per operation in picojoules; None where the profile gives no figure."""

    ac_pj: float | None = None  # one synaptic accumulate (a binary event x one weight)
    mac_pj: float | None = None  # one multiply-accumulate (a graded event, or a dense baseline op)
    neuron_update_pj: float | None = None  # one neuron update, any type
    neuron_update_active_pj: float | None = None  # Loihi-style split: a neuron that spikes this step
    neuron_update_inactive_pj: float | None = None  # ... and one that does not
    mult_pj: float | None = None  # else: a neuron update is priced from its type's op mix (Layer.op_mix)
    add_pj: float | None = None
    spike_routed_pj: float | None = None  # one spike packet delivered to one destination core
    memory_access_pj: float | None = None  # one weight read per synaptic operation
    count_zero_weights: bool = False  # True: hardware that does not skip zero weights (ac_structural)
    # a real-time chip priced by its measured dynamic power and a clock-cycle model (Xylo)
    dynamic_power_uw: float | None = None  # measured dynamic inference power (microwatts)
    cycle_model: str | None = None  # Rockpool's clock-cycle model: xylo-audio2 or xylo-audio3-imu
    source: str = ""

    @property
    def defined(self) -> bool:
        return any(
            getattr(self, k) is not None
            for k in ("ac_pj", "mac_pj", "neuron_update_pj", "neuron_update_active_pj", "mult_pj", "spike_routed_pj", "dynamic_power_uw")
        )


@dataclass(frozen=True)
class Profile:
    name: str
    description: str = ""
    arithmetic: str = "float"
    float_bits: int = 64  # a float profile's storage width (the engines compute in float64 regardless)
    weights: WeightSpec = field(default_factory=WeightSpec)
    state: StateSpec = field(default_factory=StateSpec)
    decay: DecaySpec = field(default_factory=DecaySpec)
    limits: Limits = field(default_factory=Limits)
    energy: EnergySpec = field(default_factory=EnergySpec)
    dynamics: DynamicsSpec = field(default_factory=DynamicsSpec)
    sources: tuple[str, ...] = ()
    path: str = ""

    @property
    def fixed(self) -> bool:
        return self.arithmetic == "fixed"

    def with_bits(self, weight_bits: int | None = None, state_bits: int | None = None) -> "Profile":
        """The same chip with other widths (for sweeps).

        weight_bits keeps the weights' range inside the state fixed: shift + bits stays
        constant (shift >= 0), so a wider weight gains resolution at the bottom, not the top.
        state_bits sets the membrane, current and adaptation widths alike.
        """
        if not self.fixed:
            raise EvsimError(f"profile '{self.name}' runs in float64: it has no bit widths to change")
        w, s = self.weights, self.state
        if weight_bits is not None:
            _check_int(weight_bits, 2, MAX_WEIGHT_BITS, f"profile '{self.name}': weight bits")
            shift = max(0, w.shift + w.bits - weight_bits)
            w = dataclasses.replace(w, bits=int(weight_bits), shift=shift)
        if state_bits is not None:
            _check_int(state_bits, 4, MAX_STATE_BITS, f"profile '{self.name}': state bits")
            s = dataclasses.replace(s, membrane_bits=state_bits, current_bits=state_bits, adaptation_bits=state_bits)
        suffix = "".join(
            part for part, on in ((f"-w{weight_bits}", weight_bits is not None), (f"-s{state_bits}", state_bits is not None)) if on
        )
        return dataclasses.replace(self, name=self.name + suffix, weights=w, state=s)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["limits"]["neuron_types"] = list(self.limits.neuron_types)
        d["dynamics"]["emulated_types"] = list(self.dynamics.emulated_types)
        if self.weights.exponent is not None:
            d["weights"]["exponent"] = list(self.weights.exponent)
        d["sources"] = list(self.sources)
        return d


# ---- loading ------------------------------------------------------------------------------


def _check_int(value, lo: int, hi: int | None, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise EvsimError(f"{what} must be an integer in {rng}, got {value!r}")
    return value


def _check_choice(value, choices, what: str) -> str:
    if value not in choices:
        raise EvsimError(f"{what} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _check_number(value, what: str, positive: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        # An infinite energy would print as Infinity/NaN in JSON, which strict parsers reject.
        raise EvsimError(f"{what} must be a finite {'positive' if positive else 'non-negative'} number, got {value!r}")
    return float(value)


def _check_bool(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise EvsimError(f"{what} must be true or false, got {value!r}")
    return value


def _table(doc: dict, key: str, where: str) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise EvsimError(f"{where}: [{key}] must be a table")
    return value


def _no_unknown(table: dict, allowed, where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise EvsimError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def profile_from_dict(doc: dict[str, Any], where: str = "profile") -> Profile:
    """Build and check a Profile from a parsed TOML document."""
    top = {"name", "description", "arithmetic", "float_bits", "source", "sources", "weights", "state", "decay", "limits", "energy", "dynamics"}
    _no_unknown(doc, top, where)
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise EvsimError(f"{where}: 'name' must be a non-empty string")
    arithmetic = _check_choice(doc.get("arithmetic", "float"), ARITHMETIC, f"{where}: arithmetic")
    sources = doc.get("sources", [])
    if isinstance(doc.get("source"), str):
        sources = [doc["source"], *sources]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise EvsimError(f"{where}: 'sources' must be a list of strings")

    w = _table(doc, "weights", where)
    _no_unknown(w, {f.name for f in dataclasses.fields(WeightSpec)} | {"source"}, f"{where} [weights]")
    exponent = w.get("exponent")
    if exponent is not None:
        if (
            not isinstance(exponent, list)
            or len(exponent) != 2
            or not all(isinstance(e, int) and not isinstance(e, bool) for e in exponent)
            or exponent[0] > exponent[1]
            or exponent[0] < -MAX_EXPONENT
            or exponent[1] > MAX_EXPONENT
        ):
            raise EvsimError(
                f"{where} [weights]: exponent must be [min, max] integers in -{MAX_EXPONENT}..{MAX_EXPONENT} with min <= max, got {exponent!r}"
            )
        exponent = (int(exponent[0]), int(exponent[1]))
    weights = WeightSpec(
        bits=_check_int(w.get("bits", 8), 2, MAX_WEIGHT_BITS, f"{where} [weights]: bits"),
        granularity=_check_choice(w.get("granularity", "layer"), GRANULARITY, f"{where} [weights]: granularity"),
        rounding=_check_choice(w.get("rounding", "nearest"), WEIGHT_ROUNDING, f"{where} [weights]: rounding"),
        shift=_check_int(w.get("shift", 0), 0, 30, f"{where} [weights]: shift"),
        exponent=exponent,
    )
    if weights.granularity == "projection" and weights.exponent is None:
        raise EvsimError(
            f"{where} [weights]: granularity 'projection' needs a shared exponent (two matrices with "
            "unrelated scales cannot add into one accumulator)"
        )

    s = _table(doc, "state", where)
    _no_unknown(s, {f.name for f in dataclasses.fields(StateSpec)} | {"source"}, f"{where} [state]")
    state = StateSpec(
        **{
            k: _check_int(s.get(k, getattr(StateSpec, k)), 4, MAX_STATE_BITS, f"{where} [state]: {k}")
            for k in ("membrane_bits", "current_bits", "adaptation_bits")
        },
        **{
            k: _check_choice(s.get(k, "saturate"), OVERFLOW, f"{where} [state]: {k}")
            for k in ("membrane_overflow", "current_overflow", "adaptation_overflow")
        },
    )

    d = _table(doc, "decay", where)
    _no_unknown(d, {f.name for f in dataclasses.fields(DecaySpec)} | {"source"}, f"{where} [decay]")
    decay = DecaySpec(
        kind=_check_choice(d.get("kind", "multiplier"), DECAY_KINDS, f"{where} [decay]: kind"),
        bits=_check_int(d.get("bits", 12), 1, MAX_DECAY_BITS, f"{where} [decay]: bits"),
        rounding=_check_choice(d.get("rounding", "floor"), DECAY_ROUNDING, f"{where} [decay]: rounding"),
        min_step=_check_bool(d.get("min_step", False), f"{where} [decay]: min_step"),
    )

    lim = _table(doc, "limits", where)
    _no_unknown(lim, {f.name for f in dataclasses.fields(Limits)} | {"source"}, f"{where} [limits]")
    lim_kw: dict[str, Any] = {}
    for f in dataclasses.fields(Limits):
        if f.name in ("neuron_types", "readout_on_core") or f.name not in lim:
            continue
        lim_kw[f.name] = _check_int(lim[f.name], 1, None, f"{where} [limits]: {f.name}")
    if "neuron_types" in lim:
        types = lim["neuron_types"]
        if not isinstance(types, list) or not types or not all(isinstance(t, str) and ALIASES.get(t, t) in NEURON_TYPES for t in types):
            raise EvsimError(f"{where} [limits]: neuron_types must be a non-empty list of registered neuron types ({', '.join(NEURON_TYPES)})")
        lim_kw["neuron_types"] = tuple(dict.fromkeys(ALIASES.get(t, t) for t in types))
    if "readout_on_core" in lim:
        lim_kw["readout_on_core"] = _check_bool(lim["readout_on_core"], f"{where} [limits]: readout_on_core")
    limits = Limits(**lim_kw)

    e = _table(doc, "energy", where)
    _no_unknown(e, {f.name for f in dataclasses.fields(EnergySpec)}, f"{where} [energy]")
    e_kw: dict[str, Any] = {}
    for f in dataclasses.fields(EnergySpec):
        if f.name not in e:
            continue
        if f.name == "count_zero_weights":
            e_kw[f.name] = _check_bool(e[f.name], f"{where} [energy]: {f.name}")
        elif f.name == "source":
            if not isinstance(e[f.name], str):
                raise EvsimError(f"{where} [energy]: source must be a string")
            e_kw[f.name] = e[f.name]
        elif f.name == "cycle_model":
            from .xylo import CYCLE_MODELS

            e_kw[f.name] = _check_choice(e[f.name], CYCLE_MODELS, f"{where} [energy]: cycle_model")
        else:
            e_kw[f.name] = _check_number(e[f.name], f"{where} [energy]: {f.name}")
    energy = EnergySpec(**e_kw)
    split = (energy.neuron_update_active_pj is None, energy.neuron_update_inactive_pj is None)
    if split[0] != split[1]:
        raise EvsimError(f"{where} [energy]: give both neuron_update_active_pj and neuron_update_inactive_pj, or neither")
    if (energy.mult_pj is None) != (energy.add_pj is None):
        raise EvsimError(f"{where} [energy]: give both mult_pj and add_pj, or neither")
    if energy.defined and not energy.source:
        raise EvsimError(f"{where} [energy]: 'source' must say where the figures come from")

    dyn = _table(doc, "dynamics", where)
    _no_unknown(dyn, {f.name for f in dataclasses.fields(DynamicsSpec)} | {"source"}, f"{where} [dynamics]")
    step = dyn.get("integer_step", "")
    if step and step not in CHIP_STEPS:
        raise EvsimError(f"{where} [dynamics]: integer_step must be one of {', '.join(CHIP_STEPS)}, got {step!r}")
    emulated = dyn.get("emulated_types", [])
    if not isinstance(emulated, list) or not all(isinstance(t, str) and ALIASES.get(t, t) in NEURON_TYPES for t in emulated):
        raise EvsimError(f"{where} [dynamics]: emulated_types must be a list of registered neuron types ({', '.join(NEURON_TYPES)})")
    dynamics = DynamicsSpec(
        integer_step=step,
        min_delay=_check_int(dyn.get("min_delay", 0), 0, 64, f"{where} [dynamics]: min_delay"),
        emulated_types=tuple(dict.fromkeys(ALIASES.get(t, t) for t in emulated)),
    )
    if arithmetic == "float" and any(k in doc for k in ("weights", "state", "decay", "dynamics")):
        raise EvsimError(f"{where}: a float profile takes no [weights], [state], [decay] or [dynamics] tables")
    if arithmetic == "fixed" and "float_bits" in doc:
        raise EvsimError(f"{where}: float_bits is for float profiles (a fixed profile's widths are in [weights] and [state])")
    float_bits = doc.get("float_bits", 64)
    if isinstance(float_bits, bool) or float_bits not in (32, 64) or not isinstance(float_bits, int):
        raise EvsimError(f"{where}: float_bits must be 32 or 64, got {float_bits!r}")
    return Profile(
        name=name,
        description=str(doc.get("description", "")),
        arithmetic=arithmetic,
        float_bits=float_bits,
        weights=weights,
        state=state,
        decay=decay,
        limits=limits,
        energy=energy,
        dynamics=dynamics,
        sources=tuple(sources),
    )


PROFILE_ALIASES = {"xylo": "xylo-audio2"}  # former names of shipped profiles


def shipped_profiles() -> list[str]:
    folder = resources.files("evsim.hardware").joinpath("profiles")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(spec: str | Path) -> Profile:
    """A shipped profile by name (`loihi`), or a TOML file by path (anything ending in .toml)."""
    text_spec = str(spec)
    if text_spec.endswith(".toml") or "/" in text_spec or Path(text_spec).is_file():
        path = Path(text_spec)
        if not path.is_file():
            raise EvsimError(f"profile file {path} does not exist")
        where = str(path)
        raw = path.read_bytes()
    else:
        names = shipped_profiles()
        text_spec = PROFILE_ALIASES.get(text_spec, text_spec)
        if text_spec not in names:
            raise EvsimError(f"unknown profile '{text_spec}' (shipped: {', '.join(names)}; or give a path to a .toml file)")
        where = f"profile '{text_spec}'"
        raw = resources.files("evsim.hardware").joinpath("profiles", f"{text_spec}.toml").read_bytes()
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise EvsimError(f"{where}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise EvsimError(f"{where}: not valid TOML ({exc})") from None
    profile = profile_from_dict(doc, where)
    if profile.fixed:
        # Code defaults are no chip: a fixed-point profile file that leaves out how it stores
        # weights, state or decays would silently run some other arithmetic.  (profile_from_dict,
        # for code building profiles, keeps the defaults.)
        missing = [f"[{k}]" for k in ("weights", "state", "decay") if k not in doc]
        if missing:
            raise EvsimError(f"{where}: a fixed-point profile must give {', '.join(missing)} (no defaults are assumed)")
    return dataclasses.replace(profile, path=where)
