"""Experiments written as components in a scenario (physics/compose.py): every mistake is a load error at
its file:line, in the loader's words; a good one becomes the payload Perceval sends."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_cloudjob.physics import compose
from pytest_cloudjob.scenarios.loader import ScenarioFormatError, load_documents
from pytest_cloudjob.scenarios.model import parse_scenario


def scenario(experiment: str) -> str:
    """A scenario whose create step (line 3) sends ``experiment`` (its first line is line 7)."""
    body = textwrap.indent(textwrap.dedent(experiment).strip(), " " * 10)
    return ("name: x\nsteps:\n  - create:\n      payload:\n        command: sample_count\n"
            f"        experiment:\n{body}\n      save: job\n")


def load(tmp_path: Path, experiment: str) -> list[object]:
    path = tmp_path / "x.scenario.yaml"
    path.write_text(scenario(experiment))
    return [parse_scenario(doc, path, i) for i, doc in enumerate(load_documents(path))]


def error(tmp_path: Path, experiment: str) -> str:
    with pytest.raises(ScenarioFormatError) as info:
        load(tmp_path, experiment)
    return str(info.value)


PREFIX = "x.scenario.yaml:{line}: scenario 'x', step 1 (create): payload.experiment: "


@pytest.mark.parametrize(("experiment", "line", "message"), [
    ("circuit: [bs: 0]\nmin_photons: 1", 6, "'input' is required: the photons per mode, e.g. [1, 1, 0]"),
    ("circuit:\n  - bs: 0\n  - bss: 1\ninput: [1, 0, 0]", 9,
     "circuit item 2: unknown component 'bss' (did you mean 'bs'?); components: bs, ps, perm, unitary"),
    ("circuit:\n  - bs: [0, 2]\ninput: [1, 0, 0]", 8,
     "circuit item 1 (bs): a beam splitter acts on two neighbouring modes, got [0, 2] (add a perm to bring modes "
     "together)"),
    ("circuit:\n  - ps: {mode: 1, phy: 0.5}\ninput: [1, 0]", 8,
     "circuit item 1 (ps): unknown key 'phy' (did you mean 'phi'?); keys: mode, phi"),
    ("circuit:\n  - ps:\n      mode: 0\n      phi: pi/2\ninput: [1]", 10,
     "circuit item 1 (ps): 'phi' must be a number, got 'pi/2'"),
    ("modes: 4\ncircuit: [bs: 0]\ninput: [1, 1]", 9,
     "'input' gives 2 modes, the experiment has 4 of which 0 heralded: give 4 (the modes not heralded, in order, "
     "as Perceval's with_input)"),
    ("modes: 2\ncircuit: [unitary: {haar: 3, seed: 1}]\ninput: [1, 0]", 7,
     "'modes' is 2, but the components, the input and the heralds need 3"),
    ("circuit:\n  - unitary:\n      matrix: [[1, 1], [0, 1]]\ninput: [1, 0]", 9,
     "circuit item 1 (unitary): 'matrix' is not unitary (rows 1 and 1: inner product 2)"),
    ("circuit: [unitary: {haar: 3}]\ninput: [1, 0, 0]", 7,
     "circuit item 1 (unitary): 'seed' is required with 'haar': an integer >= 0 (the same seed, the same unitary)"),
    ("circuit: [perm: {to: [0, 0]}]\ninput: [1, 0]", 7,
     "circuit item 1 (perm): 'to' must list where each mode goes, a permutation of 0..n-1 such as [1, 0], got [0, 0]"),
    ("input: [1, 1]\nheralds: {2: -1}", 8, "herald of mode 2 must be a photon count >= 0, got -1"),
    ("input: [1, 1]\nnoise: {transmitance: 0.5}", 8,
     "noise: unknown key 'transmitance' (did you mean 'transmittance'?); keys: brightness, indistinguishability, g2, "
     "g2_distinguishable, transmittance, phase_imprecision, phase_error"),
    ("input: [1, 1]\nnoise: {g2: 2}", 8, "noise: 'g2' must be in [0, 1], got 2"),
    ("input: \"|1,1\"", 7, "'input' must be photon counts per mode, [1, 1, 0] or \"|1,1,0>\", got '|1,1'"),
    ("input: [1, 1]\nmodess: 2", 8, "unknown key 'modess' (did you mean 'modes'?); keys: modes, circuit, input, "
     "heralds, postselect, min_photons, noise"),
    ("circuit: [ps: {mode: 0, phi: \"{vars.phi}\"}]\ninput: [1]", 6,
     "{vars.phi} cannot stand in an experiment written as components: it is compiled when the file loads, before "
     "any placeholder is filled"),
])
def test_a_mistake_in_an_experiment_is_a_load_error_at_its_line(tmp_path, experiment, line, message):
    text = error(tmp_path, experiment)
    expected = PREFIX.format(line=line) + message
    assert text.endswith(expected), f"\n{text}\n{expected}"


def test_what_perceval_refuses_is_a_load_error_at_its_line(tmp_path):
    pytest.importorskip("perceval", reason="the physics extra (Perceval) is not installed")
    text = error(tmp_path, 'input: [1, 1]\npostselect: "[0,1]=="')
    assert PREFIX.format(line=8) + "'postselect' '[0,1]==': Perceval cannot read it:" in text, text


def test_a_good_experiment_becomes_perceval_s_serialized_experiment(tmp_path):
    pytest.importorskip("perceval", reason="the physics extra (Perceval) is not installed")
    from perceval.serialization import deserialize

    (loaded,) = load(tmp_path, "circuit:\n  - bs: {reflectivity: 0.3}\n  - ps: {mode: 1, phi: 0.5}\n"
                               "input: [1, 0]\nmin_photons: 1\nnoise: {transmittance: 0.5}")
    text = loaded.steps[0].args["payload"]["experiment"]  # type: ignore[attr-defined]
    assert isinstance(text, str) and text.startswith(":PCVL:zip:")
    experiment = deserialize(text)
    assert experiment.m == 2 and str(experiment.input_state) == "|1,0>" and experiment.min_photons_filter == 1
    assert [c.name for _, c in experiment.components] == ["BS.Rx", "PS"]
    assert experiment.noise.transmittance == 0.5


def test_the_pure_python_check_needs_no_perceval():
    checked = compose.plan({"circuit": [{"unitary": {"haar": 5, "seed": 1234}}], "heralds": {4: 0},
                            "input": [1, 1, 1, 0], "postselect": "[0,1]==1", "min_photons": 3})
    assert checked.modes == 5 and checked.heralds == {4: 0} and checked.parts[0].size == 5
    assert not compose.is_readable(":PCVL:zip:...") and compose.is_readable({"input": [1]})
