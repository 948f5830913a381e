"""Code extraction from model replies: fenced blocks, the fallback, and the checks with their reasons."""

import json
from pathlib import Path

import pytest

from evolver.errors import NoCode
from evolver.extract import Extracted, extract_code, extract_edit

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


# SEARCH/REPLACE edits of the code a prompt showed (`extract_edit`)

BASE = "def fn(i, v, r, s, p):\n    if v['price'] < 0.5:\n        p['dex'].buyA(5)\n    return 0\n"


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_diff_blocks_are_applied_in_order():
    reply = (
        "Two changes:\n```python\n"
        + block("    if v['price'] < 0.5:   \n", "    if v['price'] < 0.6:\n")  # trailing spaces do not matter
        + "```\nand\n```\n"
        + block("        p['dex'].buyA(5)\n", "        p['dex'].buyA(7)\n        r['n'] = r.get('n', 0) + 1\n")
        + "```"
    )
    assert extract_edit(reply, BASE) == Extracted(
        "def fn(i, v, r, s, p):\n    if v['price'] < 0.6:\n        p['dex'].buyA(7)\n"
        "        r['n'] = r.get('n', 0) + 1\n    return 0\n",
        "diff",
    )
    second = block("    if v['price'] < 0.6:\n", "    if v['price'] < 0.7:\n")  # edits what the first block made
    assert "0.7" in extract_edit(block("    if v['price'] < 0.5:\n", "    if v['price'] < 0.6:\n") + second, BASE).code
    assert extract_edit(block("    return 0\n", ""), BASE).code == BASE.replace("    return 0\n", "")


def test_whole_code_is_a_rewrite_whatever_was_shown():
    assert extract_edit(f"```python\n{PLAYER}```", BASE) == Extracted(PLAYER, "rewrite")
    assert extract_edit(f"```python\n{PLAYER}```", None) == Extracted(PLAYER, "rewrite")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (block("    if v['price'] < 0.9:\n", "x\n"),
         "block 1 of 1: its SEARCH lines (\"if v['price'] < 0.9:\"...) match no lines of the code; copy them exactly, "
         "indentation included"),
        (block("if v['price'] < 0.5:\n", "x\n"), "match no lines of the code"),  # indentation counts
        (block("    if v['price'] < 0.5:\n", "x\n") + block("    return 1\n", "x\n"), "block 2 of 2"),
        (block("", "x\n"), "block 1 of 1 has no SEARCH lines"),
        ("<<<<<<< SEARCH\n    return 0\n>>>>>>> REPLACE\n", "block 1 is malformed: it has no `=======` line"),
        ("<<<<<<< SEARCH\n    return 0\n=======\n    return 1\n", "block 1 is malformed: it has no `>>>>>>> REPLACE`"),
    ],
)  # fmt: skip
def test_a_diff_that_does_not_apply_names_its_block_and_carries_the_code_it_was_to_edit(reply, reason):
    with pytest.raises(NoCode) as caught:
        extract_edit(reply, BASE)
    assert reason in str(caught.value) and str(caught.value).endswith(
        "reply with the whole code in one ```python block"
    )
    assert (caught.value.code, caught.value.line, caught.value.edit) == (BASE, None, "diff")


def test_a_search_matching_twice_is_refused():
    twice = BASE + "\n\ndef helper():\n    return 0\n"
    with pytest.raises(NoCode, match="match 2 places in the code; quote more lines, to match one"):
        extract_edit(block("    return 0\n", "    return 1\n"), twice)


def test_a_diff_that_does_not_apply_falls_back_to_a_whole_block_of_the_same_reply():
    reply = block("    if v['price'] < 0.9:\n", "x\n") + f"\nOr all of it:\n```python\n{PLAYER}```"
    assert extract_edit(reply, BASE) == Extracted(PLAYER, "rewrite")
    fenced_diff = "```python\n" + block("    nothing\n", "x\n") + "```"  # a block holding the diff is not whole code
    with pytest.raises(NoCode, match="block 1 of 1"):
        extract_edit(fenced_diff, BASE)


def test_code_a_diff_breaks_is_refused_with_its_line_and_a_diff_with_nothing_to_edit_carries_no_code():
    with pytest.raises(NoCode) as caught:
        extract_edit(block("    return 0\n", "    return (\n"), BASE)
    assert str(caught.value).startswith("the code does not parse: line 4")
    assert (caught.value.code, caught.value.line, caught.value.edit) == (BASE.replace("0\n", "(\n"), 4, "diff")
    with pytest.raises(NoCode, match="this prompt gave no code to edit") as caught:
        extract_edit(block("    return 0\n", "    return 1\n"), None)
    assert caught.value.code is None
