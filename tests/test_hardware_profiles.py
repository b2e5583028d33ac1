"""Hardware profiles: the shipped TOML files carry the published figures with their sources;
user files are checked field by field and fail with one line."""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from evsim.errors import EvsimError
from evsim.hardware.profile import load_profile, shipped_profiles

SHIPPED = ["cmos45-fp32", "cmos45-int32", "ideal", "loihi", "loihi2", "xylo-audio2", "xylo-audio3", "xylo-imu"]


def profile_text(name: str) -> str:
    return resources.files("evsim.hardware").joinpath("profiles", f"{name}.toml").read_text()


def test_shipped_profiles_load():
    assert shipped_profiles() == SHIPPED
    for name in SHIPPED:
        p = load_profile(name)
        assert p.name == name and p.sources
        if p.energy.defined:
            assert p.energy.source


@pytest.mark.parametrize("name", SHIPPED)
def test_every_number_in_a_shipped_profile_cites_its_source(name):
    """Each `key = number` (or list of numbers) line has a comment saying where it comes from."""
    for line in profile_text(name).splitlines():
        if re.match(r"^\s*\w+\s*=\s*(\[[-\d, ]+\]|[-\d.]+)\s*(#.*)?$", line):
            assert "#" in line and len(line.split("#", 1)[1].strip()) > 3, f"{name}: no source for: {line}"


def test_the_brief_figures():
    loihi = load_profile("loihi")
    assert (loihi.weights.bits, loihi.weights.exponent, loihi.weights.shift) == (8, (-8, 7), 6)
    assert (loihi.state.membrane_bits, loihi.state.current_bits, loihi.decay.bits) == (24, 24, 12)
    lim = loihi.limits
    assert (lim.neurons_per_core, lim.input_axons_per_core, lim.synapse_memory_bytes_per_core, lim.cores_per_chip) == (1024, 4096, 128 * 1024, 128)
    e = loihi.energy
    assert (e.ac_pj, e.neuron_update_inactive_pj, e.neuron_update_active_pj) == (23.6, 52.0, 81.0)
    assert "Davies" in e.source
    xylo = load_profile("xylo")  # the former name of xylo-audio2
    assert xylo.name == "xylo-audio2"
    assert (xylo.weights.bits, xylo.weights.exponent, xylo.state.membrane_bits, xylo.decay.kind, xylo.decay.bits) == (8, (0, 7), 16, "shift", 4)
    for name, figures in {
        # inputs, hidden, outputs, max. fan-out, recurrent weights, input/output projections, synaptic states
        "xylo-audio2": (16, 1000, 8, 64, 64000, 1000, 1000, 2),
        "xylo-audio3": (16, 992, 32, 1024, 63488, 128, 128, 2),
        "xylo-imu": (16, 496, 16, 512, 31744, 128, 128, 1),
    }.items():
        lim = load_profile(name).limits
        assert (lim.input_channels, lim.neurons_per_core, lim.output_neurons, lim.recurrent_fan_out_per_neuron, lim.recurrent_weights_per_chip,
                lim.input_projection_neurons, lim.output_projection_neurons, lim.synaptic_states_per_neuron) == figures
        assert (lim.input_events_per_step, lim.spikes_per_step, lim.readout_spikes_per_step) == (15, 31, 1)
    fp32, int32 = load_profile("cmos45-fp32").energy, load_profile("cmos45-int32").energy
    assert (fp32.mac_pj, fp32.ac_pj, fp32.mult_pj) == (4.6, 0.9, 3.7)
    assert (int32.mult_pj, int32.add_pj, int32.mac_pj) == (3.1, 0.1, 3.2)
    assert "Horowitz" in fp32.source and "Horowitz" in int32.source
    ideal = load_profile("ideal")
    assert not ideal.fixed and not ideal.limits.any and not ideal.energy.defined


def test_a_user_profile_by_path(tmp_path):
    path = tmp_path / "chip.toml"
    path.write_text(profile_text("loihi").replace('name = "loihi"', 'name = "my-chip"').replace("bits = 8 ", "bits = 6 "))
    p = load_profile(str(path))
    assert p.name == "my-chip" and p.weights.bits == 6 and p.path == str(path)


BAD = [
    ("name = 'x'\narithmetic = 'fixed'\n[state]\n[decay]\n[weights]\nbits = 40\n", r"\[weights\]: bits must be an integer in 2\.\.24, got 40"),
    ("name = 'x'\narithmetic = 'fixed'\n[state]\n[decay]\n[weights]\nbitz = 8\n", r"unknown field\(s\) bitz"),
    ("name = 'x'\narithmetic = 'fixed'\n[state]\n[decay]\n[weights]\ngranularity = 'projection'\n", "needs a shared exponent"),
    ("name = 'x'\narithmetic = 'fixed'\n[weights]\n[decay]\n[state]\nmembrane_overflow = 'clip'\n", "membrane_overflow must be one of saturate, wrap"),
    ("name = 'x'\narithmetic = 'fixed'\n[weights]\n[state]\n[decay]\nkind = 'lut'\n", "kind must be one of multiplier, shift"),
    ("name = 'x'\n[limits]\nneuron_types = ['izhikevich']\n", "neuron_types must be a non-empty list"),
    ("name = 'x'\n[limits]\ncores_per_chip = 0\n", r"cores_per_chip must be an integer in >= 1"),
    ("name = 'x'\n[energy]\nac_pj = 1.0\n", "'source' must say where the figures come from"),
    ("name = 'x'\n[energy]\nsource = 's'\nac_pj = -1.0\n", "ac_pj must be a finite non-negative number"),
    ("name = 'x'\n[energy]\nsource = 's'\nac_pj = inf\n", "ac_pj must be a finite non-negative number, got inf"),
    ("name = 'x'\n[energy]\nsource = 's'\nac_pj = nan\n", "ac_pj must be a finite non-negative number, got nan"),
    ("name = 'x'\narithmetic = 'fixed'\n[weights]\n", r"must give \[state\], \[decay\] \(no defaults"),
    ("name = 'x'\narithmetic = 'fixed'\n[state]\n[decay]\n", r"must give \[weights\]"),
    ("name = 'x'\narithmetic = 'fixed'\n[state]\n[decay]\n[weights]\nexponent = [-9000, 3]\n", r"exponent must be \[min, max\] integers in -24\.\.24"),
    ("name = 'x'\narithmetic = 'fixed'\n[state]\n[decay]\n[weights]\nexponent = [0, 99999999999]\n", r"exponent must be"),
    ("name = 'x'\n[energy]\nsource = 's'\nneuron_update_active_pj = 1.0\n", "give both neuron_update_active_pj"),
    ("name = 'x'\n[weights]\nbits = 8\n", "a float profile takes no"),
    ("arithmetic = 'fixed'\n", "'name' must be a non-empty string"),
    ("name = 'x'\nwat = 1\n", r"unknown field\(s\) wat"),
    ("name = [unclosed\n", "not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_profile_files_fail_with_one_line(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(EvsimError, match=message) as info:
        load_profile(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_cli_bad_profiles_exit_2(cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("name = 'x'\narithmetic = 'fixed'\n[state]\n[decay]\n[weights]\nbits = 1\n")
    code, out, err = cli("run", "--task", "random", "--channels", "4", "--profile", path)
    assert code == 2 and err.count("\n") == 1 and "bits must be an integer" in err
    code, out, err = cli("audit", "--task", "random", "--profile", "truenorth")
    assert code == 2 and "unknown profile 'truenorth'" in err and "loihi" in err
    code, out, err = cli("run", "--task", "random", "--channels", "4", "--profile", tmp_path / "missing.toml")
    assert code == 2 and "does not exist" in err


def test_with_bits_keeps_the_weight_range_in_the_state():
    loihi = load_profile("loihi")
    assert loihi.with_bits(weight_bits=4).weights.shift == 10  # 6 + 8 - 4
    assert loihi.with_bits(weight_bits=14).weights.shift == 0
    assert loihi.with_bits(weight_bits=16).weights.shift == 0  # never negative
    s = loihi.with_bits(state_bits=12).state
    assert (s.membrane_bits, s.current_bits, s.adaptation_bits) == (12, 12, 12)
    assert loihi.with_bits(weight_bits=4, state_bits=12).name == "loihi-w4-s12"
    with pytest.raises(EvsimError, match="float64"):
        load_profile("ideal").with_bits(weight_bits=8)
    with pytest.raises(EvsimError, match="weight bits"):
        loihi.with_bits(weight_bits=1)


def test_profiles_parse_with_plain_tomllib():
    """The files are plain TOML: the energy test reads them without evsim's loader."""
    for name in SHIPPED:
        assert tomllib.loads(profile_text(name))["name"] == name
