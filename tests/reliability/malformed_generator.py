"""Malformed scenario files from a seed, for the loader's fuzz test (and by hand: ``python
tests/reliability/malformed_generator.py OUT_DIR [SEED]``; with ``--measure``, a table of what each family
gives, as docs/reliability.md shows it).

Each family is a mistake a tester makes or a file an attacker writes: alias bombs, deep nesting, huge
numbers, wrong types, bad Unicode, truncated YAML, tabs, duplicate and unknown keys, bad tags. Every case
but the truncations must be refused; a truncation may by chance still be a valid scenario, and then does
not count. Where the family knows it, ``line`` is the line the error has to name.
"""
from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# A valid scenario: every case below breaks one thing in it (the test checks that it loads as it is).
BASE = """\
name: lifecycle
description: create, wait and read the results
marks: [smoke]
severity: critical
vars:
  shots: 100
steps:
  - create:
      save: job
      payload: {max_shots: 100, circuit: "0:H"}
  - wait: {job: job, until: completed, timeout: 30s}
  - status:
      job: job
      expect: {status: completed, progress: {min: 0.5}}
  - results:
      job: job
      expect: {results: {json: {results: {sum: 100}}}}
"""
BASE_LINES = BASE.splitlines(keepends=True)
ALIASES = r"more than \d+ values once aliases are expanded"
MANY = r"more than \d+ values; "
STEP_KINDS = ("create", "status", "wait", "results", "read", "cancel", "rerun", "platform", "list_all", "cancel_many")
TOP_KEYS = ("name", "description", "platforms", "user", "vars", "marks", "steps", "severity")


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    data: bytes
    must_fail: bool = True
    line: int | None = None
    expect: str | None = None  # a regular expression the message must hold, where the family knows it


def _replace_line(number: int, new: str) -> str:
    """BASE with its line ``number`` (1-based) replaced by ``new`` (which may be several lines)."""
    lines = list(BASE_LINES)
    lines[number - 1] = new if new.endswith("\n") else new + "\n"
    return "".join(lines)


def _insert_after(number: int, new: str) -> str:
    lines = list(BASE_LINES)
    lines.insert(number, new if new.endswith("\n") else new + "\n")
    return "".join(lines)


def _scenario_with(step: str) -> str:
    """A short valid scenario followed by ``step`` (YAML at the indentation of a step's dash), at line 5."""
    return f"name: one step\nsteps:\n  - create: {{save: job}}\n  - wait: {{job: job, until: completed}}\n{step}"


def alias_bombs(rng: random.Random) -> Iterator[Case]:
    for i in range(24):
        width, depth = rng.randint(6, 12), rng.randint(7, 12)
        lines = [f"  l0: &l0 [{', '.join(['lol'] * width)}]"]
        lines += [f"  l{d}: &l{d} [{', '.join([f'*l{d - 1}'] * width)}]" for d in range(1, depth)]
        where = rng.choice(["vars", "payload", "expect"])
        bomb = "\n".join(lines)
        if where == "vars":
            text = f"name: laughs {i}\nvars:\n{bomb}\nsteps:\n  - create: {{save: job}}\n"
        elif where == "payload":
            text = f"name: laughs {i}\nsteps:\n  - create:\n      payload:\n{_indent(bomb, 6)}\n"
        else:
            text = (f"name: laughs {i}\nsteps:\n  - create: {{save: job}}\n  - status:\n      job: job\n"
                    f"      expect:\n{_indent(bomb, 6)}\n")
        yield Case(f"alias_bomb_{where}_{i}", "billion-laughs alias bomb", text.encode(), expect=ALIASES)
    for i in range(6):
        # Quadratic: one wide value repeated many times, no nesting.
        width, uses = rng.randint(400, 1200), rng.randint(150, 400)
        text = (f"name: wide {i}\nvars:\n  a: &a [{', '.join(['x'] * width)}]\n"
                f"  b: [{', '.join(['*a'] * uses)}]\nsteps:\n  - create: {{save: job}}\n")
        yield Case(f"alias_wide_{i}", "wide alias repeated (quadratic)", text.encode(), expect=ALIASES)
    for i, text in enumerate(["a: &a [*a]\n", "a: &a {b: *a}\n", "&r [1, [2, *r]]\n", "x: &m {<<: *m}\n",
                              _insert_after(6, "  loop: &loop [1, *loop]")]):
        yield Case(f"alias_recursive_{i}", "recursive alias", text.encode(), expect="a recursive value")


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def deep_nesting(rng: random.Random) -> Iterator[Case]:
    for i in range(30):
        depth = rng.choice([101, 150, 500, 999, 1001, 5000, 50_000])
        style = rng.choice(["flow-list", "flow-map", "block-map", "block-list", "mixed"])
        if style == "flow-list":
            value = "[" * depth + "]" * depth
        elif style == "flow-map":
            value = "{a: " * depth + "1" + "}" * depth
        elif style == "mixed":
            value = "[{a: " * (depth // 2) + "1" + "}]" * (depth // 2)
        else:
            depth = min(depth, 400)  # block nesting grows as the square of its depth
            value = ""
        if style == "block-map":
            body = "".join(" " * (6 + 2 * d) + f"k{d}:\n" for d in range(depth)) + " " * (6 + 2 * depth) + "v\n"
            text = f"name: deep {i}\nsteps:\n  - create:\n      payload:\n{body}"
        elif style == "block-list":
            text = f"name: deep {i}\nsteps:\n  - create:\n      payload:\n        x:\n          " + "- " * depth + "v\n"
        else:
            text = f"name: deep {i}\nsteps:\n  - create:\n      payload: {{x: {value}}}\n"
        yield Case(f"deep_{style}_{depth}_{i}", "deep nesting", text.encode(),
                   expect="nested deeper than 100 levels|exceeded maximum nesting depth")


def huge_numbers(rng: random.Random) -> Iterator[Case]:
    for i in range(24):
        digits = rng.choice([4301, 5000, 20_000, 200_000])
        kind = rng.choice(["int", "negative", "hex", "count", "float-overflow", "exponent"])
        if kind == "int":
            value = rng.choice("123456789") + "".join(rng.choice("0123456789") for _ in range(digits - 1))
        elif kind == "negative":
            value = "-" + "9" * digits
        elif kind == "hex":
            value = "0x" + "f" * digits
        elif kind == "count":
            value = "1" + "0" * digits
        elif kind == "float-overflow":
            value = "9" * rng.randint(310, digits) + ".5"
        else:
            value = f"1e{rng.randint(309, 10 ** 6)}"
        key = "count" if kind == "count" else "payload"
        step = f"  - create: {{count: {value}}}\n" if key == "count" else f"  - create: {{payload: {{n: {value}}}}}\n"
        yield Case(f"huge_{kind}_{i}", "huge number", _scenario_with(step).encode(), line=5,
                   expect="digits is too long|too large for a float")


WRONG_TYPES = [
    # (line in BASE to replace, replacement, line of the error); BASE's lines: 1 name, 2 description, 3 marks,
    # 4 severity, 5-6 vars, 7 steps, 8-10 create, 11 wait, 12-14 status, 15-17 results.
    (1, "name: [a, list]", 1), (1, "name: {a: 1}", 1), (1, "name: 12", 1), (1, "name: true", 1), (1, "name:", 1),
    (1, "name: ''", 1), (1, "name: '   '", 1), (2, "description: [x]", 2), (2, "description: 3.5", 2),
    (3, "marks: smoke", 3), (3, "marks: {smoke: 1}", 3), (3, "marks: [1, 2]", 3), (3, "marks: ['bad mark']", 3),
    (3, "marks: [[smoke]]", 3), (4, "severity: urgent", 4), (4, "severity: [critical]", 4), (4, "severity: 1", 4),
    (6, "  - shots", 5), (4, "user: root", 4), (4, "user: [admin]", 4),
    (4, "platforms: sim:qa", 4), (4, "platforms: [1]", 4), (4, "platforms: {sim: qa}", 4), (4, "platforms: ['']", 4),
    (11, "  - create", 11), (11, "  - 42", 11), (11, "  - [create]", 11), (11, "  - create: [save, job]", 11),
    (11, "  - create: job", 11), (11, "  - {create: {save: job}, status: {job: job}}", 11), (11, "  -", 11),
    (9, "      save: [job]", 9), (9, "      save: 'a job'", 9), (9, "      save: 7", 9),
    (10, "      payload: [1, 2]", 10), (10, "      payload: text", 10), (10, "      count: two", 10),
    (10, "      count: 0", 10), (10, "      count: 101", 10), (10, "      count: 1.5", 10), (10, "      count: true", 10),
    (10, "      platform: [sim:qa]", 10), (10, "      job_name: {a: 1}", 10), (10, "      raw_body: 12", 10),
    (10, "      extra: [1]", 10), (10, "      as: root", 10), (10, "      as: [admin]", 10),
    (10, "      expect_error: 400", 10), (10, "      expect_error: {status: 200}", 10),
    (10, "      expect_error: {status: teapot}", 10), (10, "      expect_error: {code: 400}", 10),
    (10, "      expect_error: {}", 10),
    (11, "  - wait: {job: job, until: finished, timeout: 30s}", 11),
    (11, "  - wait: {job: job, until: [completed, done], timeout: 30s}", 11),
    (11, "  - wait: {job: job, until: completed, timeout: soon}", 11),
    (11, "  - wait: {job: job, until: completed, timeout: -5s}", 11),
    (11, "  - wait: {job: job, until: completed, timeout: 0}", 11),
    (11, "  - wait: {job: job, until: completed, timeout: [30s]}", 11),
    (11, "  - wait: {job: job, until: 3, timeout: 30s}", 11),
    (11, "  - wait: {job: job}", 11),
    (11, "  - wait: {job: [job], until: completed}", 11),
    (11, "  - wait: {job: nojob, until: completed}", 11),
    (11, "  - wait: {until: completed}", 11),
    (11, "  - wait: {job: job, until: completed, expect: {status: completed}, expect_error: {status: 404}}", 11),
    (11, "  - platform: {name: [sim]}", 11), (11, "  - platform: {legacy: sometimes}", 11),
    (11, "  - platform: {legacy: 1}", 11),
    (11, "  - list_all: {filters: [status]}", 11), (11, "  - list_all: {filters: {colour: red}}", 11),
    (11, "  - cancel_many: {jobs: job}", 11), (11, "  - cancel_many: {jobs: []}", 11),
    (11, "  - cancel_many: {jobs: [job, ghost]}", 11), (11, "  - cancel_many: {jobs: [1]}", 11),
    (11, "  - rerun: {job: job, save: 'not a name'}", 11),
    (11, "  - cancel: {job: job, expect_error: {status: 409}, save: x}", 11),
    (14, "      expect: {status: {type: strng}}", 14), (14, "      expect: {status: {regex: '('}}", 14),
    (14, "      expect: {status: {regex: 12}}", 14), (14, "      expect: {status: {one_of: completed}}", 14),
    (14, "      expect: {status: {type: [string, numbr]}}", 14),
    (13, "      job: '{jobb.id}'", 13), (13, "      job: '{job.name}'", 13),
    (10, "      payload: {n: '{vars.shot}'}", 10), (10, "      payload: {n: '{nothing}'}", 10),
    (10, "      payload: {n: '{job.name}'}", 10),
]


STEPS_REPLACED = ["steps: {create: {}}", "steps: create", "steps: []", "steps: 3", "steps:", "steps: [[create]]"]


def wrong_types(rng: random.Random) -> Iterator[Case]:
    for i, (number, new, line) in enumerate(WRONG_TYPES):
        yield Case(f"wrong_type_{i}", "wrong type or value", _replace_line(number, new).encode(), line=line)
    for i, steps in enumerate(STEPS_REPLACED):
        yield Case(f"wrong_steps_{i}", "wrong type or value", ("".join(BASE_LINES[:6]) + steps + "\n").encode(), line=7)


def wrong_types_of_matchers(rng: random.Random) -> Iterator[Case]:
    """Unhashable values where a name is expected: a crash in the checks, not a message, if not handled."""
    for i, spec in enumerate(["{type: {a: 1}}", "{type: [[string]]}", "{type: [{a: 1}]}"]):
        yield Case(f"unhashable_type_{i}", "unhashable matcher argument",
                   _replace_line(14, f"      expect: {{status: {spec}}}").encode(), line=14)
    for i, until in enumerate(["[[completed]]", "{completed: 1}", "[{a: 1}]"]):
        yield Case(f"unhashable_until_{i}", "unhashable matcher argument",
                   _replace_line(11, f"  - wait: {{job: job, until: {until}}}").encode(), line=11)


def bad_unicode(rng: random.Random) -> Iterator[Case]:
    base = BASE.encode()
    line_starts = [0] + [i + 1 for i, b in enumerate(base) if b == 0x0A][:-1]
    invalid = [b"\xff", b"\xfe", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf5\x80\x80\x80", b"\x80", b"\xe2\x82"]
    for i in range(28):
        number = rng.randrange(len(line_starts))
        start = line_starts[number]
        end = base.index(b"\n", start)
        at = rng.randint(start, end)
        data = base[:at] + rng.choice(invalid) + base[at:]
        yield Case(f"invalid_utf8_{i}", "invalid UTF-8", data, line=number + 1, expect="not UTF-8 text: byte 0x")
    for i, encoding in enumerate(["utf-16", "utf-16-le", "utf-32", "latin-1"]):
        text = BASE.replace("lifecycle", "lifecyclé")
        yield Case(f"other_encoding_{i}", "not UTF-8 (UTF-16, UTF-32, Latin-1)", text.encode(encoding), line=1,
                   expect="not UTF-8 text")
    controls = ["\x00", "\x01", "\x07", "\x08", "\x1b", "\x7f", "\ufffe", "\uffff", "\x0c"]
    for i in range(18):
        number = rng.randint(1, len(BASE_LINES))
        line = BASE_LINES[number - 1]
        at = rng.randint(0, len(line) - 1)
        text = _replace_line(number, line[:at] + rng.choice(controls) + line[at:])
        yield Case(f"control_char_{i}", "control character", text.encode("utf-8"), line=number,
                   expect=r"the character U\+\w+ is not allowed in YAML text")
    for i, escape in enumerate(["\\ud800", "\\udfff", "\\ud83d", "x\\udc00y", "\\U0000d800"]):
        yield Case(f"lone_surrogate_{i}", "lone surrogate escape",
                   _replace_line(2, f'description: "{escape}"').encode(), line=2, expect="surrogate|invalid Unicode")
    surrogate = "name: s\ndescription: x\udc80y\nsteps: [{create: {}}]\n".encode("utf-8", "surrogatepass")
    yield Case("encoded_surrogate", "lone surrogate escape", surrogate, line=2, expect="not UTF-8 text")


def truncated(rng: random.Random) -> Iterator[Case]:
    for i in range(40):
        # Cut inside a flow collection or a quoted string: never a complete document.
        opener, closer = rng.choice(_spans())
        cut = rng.randint(opener + 1, closer)
        yield Case(f"truncated_flow_{i}", "truncated YAML", BASE[:cut].encode())
    for i in range(15):
        cut = rng.randint(1, len(BASE) - 1)
        yield Case(f"truncated_anywhere_{i}", "truncated YAML", BASE[:cut].encode(), must_fail=False)


def _spans() -> list[tuple[int, int]]:
    """(start, end) of every flow mapping and double-quoted string of BASE."""
    spans, stack, quote = [], [], None
    for at, char in enumerate(BASE):
        if quote is not None:
            if char == '"':
                spans.append((quote, at))
                quote = None
        elif char == '"':
            quote = at
        elif char == "{":
            stack.append(at)
        elif char == "}":
            spans.append((stack.pop(), at))
    return spans


def tabs(rng: random.Random) -> Iterator[Case]:
    indented = [n for n, line in enumerate(BASE_LINES, 1) if line.startswith("  ")]
    for i in range(20):
        number = rng.choice(indented)
        line = BASE_LINES[number - 1]
        spaces = len(line) - len(line.lstrip(" "))
        tabbed = "\t" * rng.randint(1, max(1, spaces // 2)) + line.lstrip(" ") if rng.random() < 0.5 else \
            line[: spaces - 1] + "\t" + line[spaces:]
        yield Case(f"tab_indent_{i}", "tab in indentation", _replace_line(number, tabbed).encode(), line=number,
                   expect="YAML does not parse")


def duplicate_keys(rng: random.Random) -> Iterator[Case]:
    top = [(1, "name: again"), (2, "description: again"), (3, "marks: [again]"), (4, "severity: minor"),
           (6, "  shots: 200"), (9, "      save: again"), (10, "      payload: {}"), (14, "      job: job")]
    for i in range(20):
        number, extra = rng.choice(top)
        yield Case(f"duplicate_key_{i}", "duplicate key", _insert_after(number, extra).encode(), line=number + 1,
                   expect="duplicate key")
    for i, flow in enumerate(["{job: job, job: job, until: completed}", "{job: job, until: completed, until: failed}"]):
        yield Case(f"duplicate_flow_key_{i}", "duplicate key", _replace_line(11, f"  - wait: {flow}").encode(), line=11)
    yield Case("duplicate_merge", "duplicate key",
               _replace_line(11, "  - wait: {<<: {job: job}, <<: {until: completed}}").encode(), line=11)


def _typo(rng: random.Random, word: str) -> str:
    letters = list(word)
    operation = rng.choice(["swap", "drop", "double", "upper", "prefix"])
    at = rng.randrange(len(letters) - 1)
    if operation == "swap":
        letters[at], letters[at + 1] = letters[at + 1], letters[at]
    elif operation == "drop":
        del letters[at]
    elif operation == "double":
        letters.insert(at, letters[at])
    elif operation == "upper":
        letters[at] = letters[at].upper()
    else:
        letters.insert(0, "x")
    return "".join(letters)


def unknown_names(rng: random.Random) -> Iterator[Case]:
    i = 0
    while i < 25:
        word = _typo(rng, rng.choice(TOP_KEYS))
        if word in TOP_KEYS:
            continue
        number = rng.choice([1, 2, 3, 4])
        line = BASE_LINES[number - 1]
        yield Case(f"unknown_top_key_{i}", "unknown key", _replace_line(number, word + line[line.index(":"):]).encode(),
                   line=number)
        i += 1
    i = 0
    while i < 25:
        word = _typo(rng, rng.choice(STEP_KINDS))
        if word in STEP_KINDS:
            continue
        yield Case(f"unknown_step_{i}", "unknown step", _replace_line(11, f"  - {word}: {{job: job}}").encode(), line=11)
        i += 1
    step_keys = ["job", "until", "timeout", "expect", "as"]
    i = 0
    while i < 15:
        word = _typo(rng, rng.choice(step_keys))
        if word in step_keys + ["expect_error", "require", "description"]:
            continue
        yield Case(f"unknown_step_key_{i}", "unknown step key",
                   _replace_line(11, f"  - wait: {{job: job, until: completed, {word}: 1}}").encode(), line=11)
        i += 1


BAD_TAGS = ["!!python/object:os.system ls", "!!python/name:os.system ''", "!!binary aGVsbG8=", "!!set {a, b}",
            "!!omap [{a: 1}]", "!!pairs [{a: 1}]", "!!timestamp 2024-01-01", "!!int twelve", "!!float many",
            "!!bool maybe", "!!map nothing", "!!seq nothing", "!!int [1]", "!custom value", "!<tag:x.org,1:y> 1",
            "!!str {a: 1}", "!!null [1]"]


def bad_tags(rng: random.Random) -> Iterator[Case]:
    for i, tagged in enumerate(BAD_TAGS):
        yield Case(f"bad_tag_{i}", "unsupported or wrong YAML tag", _replace_line(6, f"  shots: {tagged}").encode(),
                   line=6)


SYNTAX: list[tuple[str, int | None]] = [
    ("name: x\nsteps:\n  - create: {save: job\n", 3), ("name: 'x\nsteps: []\n", 1), ('name: "x\nsteps: []\n', 1),
    ("name: x\nsteps:\n  - create: [save\n", 3), ("name: x: y\nsteps: []\n", 1),
    ("name: x\nsteps:\n  - create: {}\n  \t- wait: {}\n", 4), ("name: x\nsteps:\n  - create: {}\n - wait: {}\n", None),
    ("name: x\nsteps: *nowhere\n", 2), ("%YAML 2.0\n---\nname: x\n", 1), ("%TAG !x! \n---\nname: x\n", 1),
    ("name: x\n---\n- [\n", None), ("name: x\nsteps:\n  - create: {save: job}}\n", 3),
    ("name: x\nsteps:\n  - create: {save: job}]\n", 3), ("name: x\nsteps: [{create: {}},,]\n", 2),
    ("? [a, b]\n: 1\n", 1), ("? {a: 1}\n: 1\n", 1), ("name: x\nsteps: [create: {}]\nname2: @x\n", 3),
    ("name: x\nsteps:\n  - create: `x`\n", 3), ("name: >\n x\n  y\n z\nsteps\n", 5), ("hello\n", 1),
    ("- just\n- a list\n", 1), ("42\n", 1), ("name: x\nsteps: [{create: {}}]\n---\nplain\n", 4),
    ("name: x\nsteps: [{<<: 1}]\n", 2), ("name: x\nsteps: [{<<: [{a: 1}, 2]}]\n", 2),
    ("name: x\nsteps: [{<<: *undefined}]\n", 2),
]


def syntax_errors(rng: random.Random) -> Iterator[Case]:
    for i, (text, line) in enumerate(SYNTAX):
        yield Case(f"syntax_{i}", "YAML syntax or structure", text.encode(), line=line)


def oversized(rng: random.Random) -> Iterator[Case]:
    filler = "# " + "x" * 97 + "\n"
    yield Case("oversized_comment", "file over the size limit", (BASE + filler * 11_000).encode(), expect="larger than")
    big = ", ".join(str(rng.randint(0, 9)) for _ in range(600_000))
    yield Case("oversized_values", "file over the size limit", f"name: big\nsteps: [{{create: {{payload: [{big}]}}}}]\n".encode(),
               expect="larger than")


def too_many_values(rng: random.Random) -> Iterator[Case]:
    for i in range(4):
        count = rng.randint(30_000, 300_000)
        yield Case(f"many_values_{i}", "too many values (no alias)",
                   f"name: flat\nsteps: [{{create: {{payload: [{', '.join(['0'] * count)}]}}}}]\n".encode(), expect=MANY)
    for i in range(3):
        count = rng.randint(5_000, 20_000)
        yield Case(f"many_documents_{i}", "too many values (no alias)",
                   "".join(f"name: n{d}\nsteps: [{{create: {{}}}}]\n---\n" for d in range(count)).encode(), expect=MANY)
    yield Case("many_empty_documents", "too many values (no alias)", b"---\n" * 200_000, expect=MANY)


FAMILIES: list[Callable[[random.Random], Iterator[Case]]] = [
    alias_bombs, deep_nesting, huge_numbers, wrong_types, wrong_types_of_matchers, bad_unicode, truncated, tabs,
    duplicate_keys, unknown_names, bad_tags, syntax_errors, oversized, too_many_values,
]


def generate(seed: int = 2026) -> list[Case]:
    """Every case, the same for the same seed."""
    rng = random.Random(seed)
    return [case for family in FAMILIES for case in family(rng)]


def write(cases: list[Case], folder: Path) -> dict[Path, Case]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for case in cases:
        path = folder / f"{case.name}.scenario.yaml"
        path.write_bytes(case.data)
        written[path] = case
    return written


def _load(path: Path, pure: bool, load_documents: Callable[..., list[object]], parse_scenario: Callable[..., object]
          ) -> BaseException | None:
    try:
        for index, document in enumerate(load_documents(path, pure_python=pure)):
            parse_scenario(document, path, index)
    except Exception as exc:  # counted, not hidden: the "other errors" column
        return exc
    return None


def measure(folder: Path, seed: int = 2026) -> str:
    """A markdown table per family: files, how many were refused with ``file:line``, the slowest load on
    each parser and one message (what docs/reliability.md shows)."""
    import re
    import time
    import tracemalloc

    from pytest_cloudjob.scenarios.loader import ScenarioFormatError, load_documents
    from pytest_cloudjob.scenarios.model import parse_scenario

    rows: dict[str, dict[str, object]] = {}
    for path, case in write(generate(seed), folder).items():
        row = rows.setdefault(case.family, {"files": 0, "refused": 0, "valid": 0, "other": 0, "ms": 0.0, "pure_ms": 0.0,
                                            "peak": 0, "example": ""})
        row["files"] = int(row["files"]) + 1  # type: ignore[call-overload]
        result: BaseException | None = None
        for pure in (False, True):
            start = time.perf_counter()
            outcome = _load(path, pure, load_documents, parse_scenario)
            result = outcome if not pure else result
            elapsed = (time.perf_counter() - start) * 1000
            key = "pure_ms" if pure else "ms"
            row[key] = max(float(row[key]), elapsed)  # type: ignore[arg-type]
        tracemalloc.start()  # a separate run, as tracing slows Python's parser; reading takes a 1 MiB buffer
        _load(path, False, load_documents, parse_scenario)
        row["peak"] = max(int(row["peak"]), tracemalloc.get_traced_memory()[1])  # type: ignore[call-overload]
        tracemalloc.stop()
        if result is None:
            row["valid"] = int(row["valid"]) + 1  # type: ignore[call-overload]
        elif isinstance(result, ScenarioFormatError) and re.match(re.escape(str(path)) + r":\d+: ", str(result)):
            row["refused"] = int(row["refused"]) + 1  # type: ignore[call-overload]
            if not row["example"]:
                row["example"] = f"{path.name}{str(result)[len(str(path)):]}"[:150]
        else:
            row["other"] = int(row["other"]) + 1  # type: ignore[call-overload]
    lines = ["| tried | files | file:line errors | valid by chance | other errors | slowest (libyaml) | "
             "slowest (Python parser) | peak memory | example |", "|---|---|---|---|---|---|---|---|---|"]
    for family, row in rows.items():
        lines.append(f"| {family} | {row['files']} | {row['refused']} | {row['valid']} | {row['other']} | "
                     f"{float(row['ms']):.1f} ms | {float(row['pure_ms']):.1f} ms | "  # type: ignore[arg-type]
                     f"{int(row['peak']) / 1024:,.0f} KiB | `{row['example']}` |")  # type: ignore[call-overload]
    return "\n".join(lines)


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--measure"]
    out = Path(arguments[0])
    chosen_seed = int(arguments[1]) if len(arguments) > 1 else 2026
    if "--measure" in sys.argv:
        print(measure(out, chosen_seed))
    else:
        print(f"{len(write(generate(chosen_seed), out))} files in {out}")
