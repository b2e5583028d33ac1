"""Numbers the docs quote are what the commands print (issue 9: README, weights/README.md,
docs/hardware.md had drifted).  Each figure is read from the command's JSON and looked up, as
formatted, in the document."""

from __future__ import annotations

import json

from conftest import ROOT


def doc(name: str) -> str:
    return (ROOT / name).read_text()


def test_readme_first_command_numbers(cli):
    readme = doc("README.md")
    assert "pip install -e . && evsim run --task ecg --profile loihi\n" in readme
    code, out, err = cli("run", "--task", "ecg", "--profile", "loihi", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["samples"] == 141 and d["steps"] == 1301
    assert f"**{100 * d['accuracy']:.2f}%** on" in readme
    assert f"({d['hardware']['energy_per_inference_j']['total'] * 1e6:.1f} µJ per recording)" in readme
    code, out, err = cli("run", "--task", "ecg", "--json")
    float_accuracy = f"{100 * json.loads(out)['accuracy']:.2f}%"
    assert f"{float_accuracy} in float64" in readme
    assert f"| **{float_accuracy}** |" in doc("weights/README.md")


def test_weights_readme_golden_differences(cli):
    code, out, err = cli("crosscheck", "-w", "ecg", "--json")
    assert code == 0, err
    diffs = [f"{g['max_abs_diff']:.3g}" for g in json.loads(out)["golden"]]
    assert f"difference {diffs[0]}, {diffs[1]} and {diffs[2]}," in " ".join(doc("weights/README.md").split())


def test_hardware_doc_loihi_row(cli):
    code, out, err = cli("audit", "-w", "ecg_icons2020", "--task", "ecg", "--profile", "loihi", "--json")
    assert code == 0, err
    d = json.loads(out)
    row = next(line for line in doc("docs/hardware.md").splitlines() if line.startswith("| `loihi`, `loihi2` |"))
    # the float side runs with Lava's delivery delays, as the chip does
    assert f"({100 * d['accuracy_float']:.2f}% with Lava's delivery delay) → {100 * d['accuracy_hw']:.2f}% |" in row
