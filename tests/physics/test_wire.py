"""Perceval's text forms of results, read and written without Perceval, and the same as Perceval's own."""
from __future__ import annotations

import base64
import json
import zlib

import pytest

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.physics import wire


def test_reads_each_result_form():
    assert wire.parse_results(":PCVL:BSCount:{|0,2>=484;|2,0>=516}") == wire.Histogram({"|0,2>": 484, "|2,0>": 516}, True)
    assert wire.parse_results(":PCVL:BSDistribution:{|2,0>=0.75;|0,2>=0.25}").values == {"|2,0>": 0.75, "|0,2>": 0.25}
    assert wire.parse_results(":PCVL:BSSamples:|0,2>;|2,0>/0;1;0") == wire.Histogram({"|0,2>": 2, "|2,0>": 1}, True)
    assert wire.parse_results({"|1,0>": 3, "|0,1>": 1}).is_counts
    assert not wire.parse_results({"|1,0>": 0.5, "|0,1>": 0.5}).is_counts
    assert wire.parse_results(["|1,0>", "|1,0>"]).values == {"|1,0>": 2}


def test_reads_the_zipped_form():
    text = ":PCVL:BSCount:{|1,0>=7}"
    zipped = wire.ZIP + base64.b64encode(zlib.compress(text.encode())).decode()
    assert wire.parse_results(zipped).values == {"|1,0>": 7}


def test_writes_what_it_reads():
    assert wire.parse_results(wire.bscount({"|1,0>": 3})).values == {"|1,0>": 3}
    assert wire.parse_results(wire.bsdistribution({"|1,0>": 0.1, "|0,1>": 0.9})).values == {"|1,0>": 0.1, "|0,1>": 0.9}
    assert wire.parse_results(wire.bssamples(["|1,0>", "|0,1>", "|1,0>"])).values == {"|1,0>": 2, "|0,1>": 1}


@pytest.mark.parametrize(("value", "message"), [
    (":PCVL:BSCount:{|0,2>484}", "bad BSCount entry"),
    (":PCVL:BSCount:|0,2>=4", "must be"),
    (":PCVL:BSSamples:|0,2>/3", "BSSamples body"),
    (":PCVL:zip:!!!", "does not unpack"),
    (":PCVL:Circuit:x", "not a Perceval BSCount"),
    ({"|1,0>": "many"}, "not a number"),
    (12, "not a histogram"),
])
def test_unreadable_results_are_named(value, message):
    with pytest.raises(wire.ResultsFormatError, match=message):
        wire.parse_results(value)


def test_the_same_text_as_perceval_both_ways():
    pcvl = pytest.importorskip("perceval", reason="the physics extra (Perceval) is not installed")
    from perceval.serialization import deserialize, serialize

    counts = pcvl.BSCount({pcvl.BasicState([0, 2]): 5, pcvl.BasicState([2, 0]): 3})
    assert wire.parse_results(serialize(counts)).values == {"|0,2>": 5, "|2,0>": 3}  # zipped by Perceval
    assert {str(k): v for k, v in deserialize(wire.bscount({"|0,2>": 5, "|2,0>": 3})).items()} == {"|0,2>": 5, "|2,0>": 3}
    samples = deserialize(wire.bssamples(["|1,0>", "|0,1>", "|1,0>"]))
    assert [str(s) for s in samples] == ["|1,0>", "|0,1>", "|1,0>"]
    probs = deserialize(wire.bsdistribution({"|1,0>": 0.25, "|0,1>": 0.75}))
    assert {str(k): v for k, v in probs.items()} == {"|1,0>": 0.25, "|0,1>": 0.75}


def _bomb(unpacked_bytes: int) -> str:
    """A ``:PCVL:zip:`` BSCount text that unpacks to ``unpacked_bytes``, built by chunks (no memory)."""
    packer = zlib.compressobj(9)
    parts = [packer.compress(b":PCVL:BSCount:{|1,0>=")]
    parts += [packer.compress(b"1" * (1 << 20)) for _ in range(unpacked_bytes >> 20)]
    return wire.ZIP + base64.b64encode(b"".join(parts) + packer.flush()).decode()


def test_a_zip_bomb_in_the_results_is_a_one_line_error_naming_the_limit_and_costs_no_memory():
    import tracemalloc

    bomb = _bomb(160 << 20)  # ~0.2 MB of text, 160 MiB unpacked
    assert len(bomb) < 300_000
    tracemalloc.start()
    try:
        with pytest.raises(wire.UnzipError, match=f"unpacks to more than {wire.MAX_UNZIPPED_BYTES} bytes") as caught:
            wire.parse_results(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(caught.value, CloudJobError) and "\n" not in str(caught.value)
    assert peak < 3 * wire.MAX_UNZIPPED_BYTES, f"unpacking the bomb took {peak >> 20} MiB"


def test_the_distribution_check_reports_a_zip_bomb_as_a_problem():
    from pytest_cloudjob.physics.distribution import check_distribution

    text = json.dumps({"results": _bomb(64 << 20)})
    problems = check_distribution(text, {"reference": {"|1,0>": 1.0}}, "results", None)
    assert len(problems) == 1 and "unpacks to more than" in problems[0]


def test_unreadable_results_are_cloud_job_errors():
    assert issubclass(wire.ResultsFormatError, CloudJobError)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a": ' + "[" * 70 + "]" * 70 + "}"])
def test_a_results_text_nested_too_deep_is_a_one_line_error(text):
    with pytest.raises(wire.ResultsFormatError, match="nested"):
        wire.parse_results_text(text)


def test_many_small_zipped_values_share_one_budget():
    from pytest_cloudjob.physics.simulate import MAX_PAYLOAD_UNZIPPED_BYTES, PayloadUnzipError, unzipped_payload

    each = wire.ZIP + base64.b64encode(zlib.compress(b"0" * (MAX_PAYLOAD_UNZIPPED_BYTES // 3 + 1))).decode()
    assert unzipped_payload({"a": each, "b": [each]})["b"][0] == "0" * (MAX_PAYLOAD_UNZIPPED_BYTES // 3 + 1)
    with pytest.raises(PayloadUnzipError, match="'payload.c.d'.*more than"):
        unzipped_payload({"a": each, "b": [each], "c": {"d": each}, "e": [each] * 1000})
    with pytest.raises(wire.UnzipError, match="more than 0 bytes"):
        wire.inflate(each[len(wire.ZIP):], -1)  # a spent budget never means "no limit"
