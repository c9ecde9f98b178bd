"""Every promise of docs/protocol.md has a check in the shipped suite, or a stated reason why none can see it.

Each promise sentence of protocol.md carries an id (``[P-status-4]``); the promise table of docs/scenarios.md
maps ids to ``file:line`` steps or to ``reason: ...``. Reading text only: no cloud, no pytest run."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_cloudjob.server.defects import CATALOGUE

ROOT = Path(__file__).parents[2]
PROTOCOL = ROOT / "docs" / "protocol.md"
SCENARIOS_DOC = ROOT / "docs" / "scenarios.md"
SHIPPED = ROOT / "scenarios"
ID = re.compile(r"\bP-[a-z]+-\d+\b")
MARK = re.compile(r"\[(P-[a-z]+-\d+)\]")
REF = re.compile(r"`([\w.]*):(\d+)`")


def protocol_ids(text: str) -> set[str]:
    return set(MARK.findall(text))


def table_rows(text: str) -> dict[str, list[str]]:
    """Each id of the promise table and the "checked at" cells of the rows naming it."""
    section = text.split("## Promises and the scenarios that check them", 1)[1].split("###", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) != 3 or not ID.fullmatch(cells[0].split(",")[0].strip()):
            continue
        for name in (n.strip() for n in cells[0].split(",")):
            rows.setdefault(name, []).append(cells[2])
    return rows


def problems(protocol: str, doc: str) -> list[str]:
    """What is wrong between protocol.md's ids and the promise table: each problem one line."""
    promised, rows = protocol_ids(protocol), table_rows(doc)
    out = [f"{name}: promised in docs/protocol.md, not in the promise table of docs/scenarios.md"
           for name in sorted(promised - set(rows))]
    out += [f"{name}: in the promise table, not an id of docs/protocol.md" for name in sorted(set(rows) - promised)]
    for name, cells in sorted(rows.items()):
        for cell in cells:
            if not REF.search(cell) and not (cell.startswith("reason: ") and len(cell) > 40):
                out.append(f"{name}: neither a step (`file:line`) nor a reason ('reason: ...'): {cell!r}")
    return out


def test_every_promise_of_the_protocol_has_a_check_or_a_reason_and_every_row_a_promise() -> None:
    found = problems(PROTOCOL.read_text(), SCENARIOS_DOC.read_text())
    assert not found, "\n".join(found)
    assert len(protocol_ids(PROTOCOL.read_text())) >= 50


def test_a_cited_step_is_in_a_shipped_file_and_a_reason_is_rare() -> None:
    rows = table_rows(SCENARIOS_DOC.read_text())
    cited = {ref[0] for cells in rows.values() for cell in cells for ref in REF.findall(cell) if ref[0]}
    assert cited and all((SHIPPED / name).is_file() for name in cited), cited
    reasons = [name for name, cells in rows.items() if all(cell.startswith("reason: ") for cell in cells)]
    assert len(reasons) <= len(rows) // 10, f"most promises must be checked, not explained: {reasons}"


def test_every_defect_that_names_a_promise_names_one_of_the_protocol() -> None:
    promised = protocol_ids(PROTOCOL.read_text())
    named = {name: ID.findall(defect.row) for name, defect in CATALOGUE.items()}
    unknown = {name: ids for name, ids in named.items() if set(ids) - promised}
    assert not unknown, unknown


HEAD = "## Promises and the scenarios that check them\n\n| ids | promise | checked at |\n|---|---|---|\n"


@pytest.mark.parametrize(("protocol", "rows", "expected"), [
    ("a [P-x-1]. b [P-x-2].", "| P-x-1 | p | `a.yaml:3` |\n", "P-x-2: promised in docs/protocol.md, not in"),
    ("a [P-x-1].", "| P-x-1 | p | `a.yaml:3` |\n| P-x-9 | p | `a.yaml:4` |\n", "P-x-9: in the promise table, not"),
    ("a [P-x-1].", "| P-x-1 | p | checked somewhere |\n", "P-x-1: neither a step"),
    ("a [P-x-1].", "| P-x-1 | p | reason: short |\n", "P-x-1: neither a step"),
])
def test_the_check_fails_on_a_promise_without_a_check_a_stale_row_or_an_empty_cell(protocol, rows, expected) -> None:
    found = problems(protocol, HEAD + rows)
    assert any(line.startswith(expected) for line in found), found


def test_the_check_passes_a_promise_with_a_step_or_a_reason() -> None:
    rows = "| P-x-1 | p | `a.yaml:3`, `:5` |\n| P-x-2, P-x-3 | p | reason: no client can see it, because it is so |\n"
    assert problems("a [P-x-1]. b [P-x-2] and [P-x-3].", HEAD + rows) == []
