"""Code extraction from model replies: fenced blocks, the fallback, and the checks with their reasons."""

import json
from pathlib import Path

import pytest

from evolver.errors import NoCode
from evolver.extract import extract_code

SAMPLE = json.loads((Path(__file__).parents[1] / "sandbox" / "data" / "redteam_sample.json").read_text())
CONTROLS = {control["id"]: control["code"] for control in SAMPLE["controls"]}
CASES = {case["id"]: case for case in SAMPLE["cases"]}

PLAYER = "def fn(i, v, r, s, p):\n    if v['price'] < 0.5:\n        p['dex'].buyA(5)\n    return 0\n"


def refused(text: str, **limits: int) -> str:
    with pytest.raises(NoCode) as caught:
        extract_code(text, **limits)
    return str(caught.value)


def test_a_fenced_block_with_prose_around_it():
    reply = f"Here is a dip buyer.\n\n```python\n{PLAYER}```\n\nIt buys below $0.50 and holds."
    assert extract_code(reply) == PLAYER


def test_of_several_blocks_the_first_that_defines_fn():
    reply = f"First a check:\n```python\nprint(v['price'])\n```\nThen the player:\n```python\n{PLAYER}```\n"
    assert extract_code(reply) == PLAYER
    broken = "```python\ndef fn(i, v, r, s, p):\n    return (\n```\n"
    assert extract_code(broken + f"A fixed version:\n```python\n{PLAYER}```") == PLAYER


@pytest.mark.parametrize(
    ("opening", "closing"),
    [("```py", "```"), ("```", "```"), ("```Python", "```"), ("~~~python", "~~~"), ("````python", "````")],
)
def test_other_fences(opening, closing):
    assert extract_code(f"Sure.\n{opening}\n{PLAYER}{closing}\nDone.") == PLAYER


def test_blocks_in_other_languages_are_not_code():
    reply = f'The parameters:\n```json\n{{"threshold": 0.5}}\n```\n```python\n{PLAYER}```'
    assert extract_code(reply) == PLAYER
    assert refused('```json\n{"threshold": 0.5}\n```') == "no code block"


def test_an_indented_fence_is_dedented_and_an_unclosed_one_runs_to_the_end():
    indented = "1. The player:\n   ```python\n" + "".join(f"   {line}\n" for line in PLAYER.splitlines())
    assert extract_code(indented + "   ```\n") == PLAYER
    assert extract_code(f"```python\n{PLAYER}") == PLAYER  # a reply cut off at its token limit


def test_without_fences_the_code_lines_are_taken():
    reply = f"Here is my player:\n\n{PLAYER}\nIt buys the dip and holds until the end.\nGood luck!"
    assert extract_code(reply) == PLAYER
    helpers = f"I use a helper.\n# the threshold\nLOW = 0.5\n\n\ndef low(v):\n    return v['price'] < LOW\n\n\n{PLAYER}"
    assert extract_code(helpers) == helpers.split("\n", 1)[1]
    assert extract_code(PLAYER.replace("\n", "\r\n")) == PLAYER


def test_the_red_team_prose_prefix_is_cut_away():
    case = CASES["syn-prose-prefix"]
    assert case["code"].startswith("Here is my strategy:\n")
    assert extract_code(case["code"]) == "def fn(i, v, r, s, p):\n    return 0\n"


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_every_control_extracts_to_itself(name):
    code = CONTROLS[name]
    assert extract_code(code) == code
    assert extract_code(f"My player:\n```python\n{code}```\nThat is all.") == code


def test_a_syntax_error_is_refused_with_its_line():
    code = "def fn(i, v, r, s, p):\n    x = v['price']\n    return x +\n"
    assert refused(f"```python\n{code}```") == "the code does not parse: line 3: invalid syntax"
    assert refused(code + "\nThis returns the price.") == "the code does not parse: line 3: invalid syntax"
    assert refused(CASES["syn-indent"]["code"]).startswith("the code does not parse: line 2: expected an indented")


def test_code_nested_too_deeply_for_the_parser():
    expand = CASES["syn-deep-unary"]["expand"]
    code = expand["prefix"] + expand["unit"] * expand["repeat"] + expand["suffix"]
    assert refused(code) == "the code does not parse: it is nested too deeply"


def test_code_without_fn_is_refused():
    assert refused("```python\ndef strategy(i, v, r, s, p):\n    return 0\n```").startswith(
        "no function fn(i, v, r, s, p)"
    )
    assert refused("```python\nif True:\n    def fn(i, v, r, s, p):\n        return 0\n```").startswith(
        "no function fn(i, v, r, s, p)"
    )
    assert refused(CASES["ret-none-function"]["code"]).startswith("no function fn(i, v, r, s, p)")


def test_fn_must_take_the_five_arguments():
    assert refused("```python\ndef fn(i, v):\n    return 0\n```") == (
        "no function fn(i, v, r, s, p): fn(i, v) cannot be called with the five arguments"
    )
    assert refused("def fn(i, v, r, s, p, *, k):\n    return 0\n").endswith("cannot be called with the five arguments")
    assert refused("async def fn(i, v, r, s, p):\n    return 0\n").startswith("fn is `async def`")
    for signature in ("i, v, r, s, p, q=1", "*args", "i, v, /, r, s, p"):
        code = f"def fn({signature}):\n    return 0\n"
        assert extract_code(code) == code


def test_the_size_limit_counts_utf8_bytes():
    code = "def fn(i, v, r, s, p):\n    return 0  # é\n"  # é is two bytes
    size = len(code.encode())
    assert size == len(code) + 1
    assert extract_code(code, max_bytes=size) == code
    assert refused(code, max_bytes=size - 1) == f"the code is {size} bytes, over the limit of {size - 1}"
    padding = "x = 1\n" * 11_000
    assert (
        refused(f"```python\n{padding}{PLAYER}```")
        == f"the code is {len(padding) + len(PLAYER)} bytes, over the limit of 65536"
    )


def test_a_leading_bom_is_stripped_and_not_counted():
    code = "def fn(i, v, r, s, p):\n    return 0\n"
    assert extract_code("\ufeff" + code, max_bytes=len(code)) == code
    assert extract_code(CASES["bom-prefix"]["code"]) == code
    assert extract_code(f"```python\n\ufeff{code}```") == code


@pytest.mark.parametrize("reply", ["", "I cannot write that strategy.", "Buy low, sell high.\n\nThat is the plan."])
def test_prose_only_has_no_code_block(reply):
    assert refused(reply) == "no code block"
