"""`evolver components`: the component library as a user lists it, through the real CLI."""

from __future__ import annotations

import json
import re

from test_cli import ok

from simcore.components import COMPONENTS


def test_components_lists_every_kind_with_its_version_hash_and_bounds(tmp_path) -> None:
    out = tmp_path / "components.json"
    result = ok("components", "--json", out)
    listed = {entry["name"]: entry for entry in json.loads(out.read_text())}
    assert set(listed) == set(COMPONENTS) >= {"bonding_curve", "vesting", "minting_schedule", "weighted_pool"}
    for kind, cls in COMPONENTS.items():
        entry = listed[kind]
        assert entry["hash"] == cls.content_hash() and re.fullmatch(r"[0-9a-f]{16}", entry["hash"])
        assert entry["version"] == cls.version and set(entry["parameters"]) == set(cls.model_fields)
        assert kind in result.output and entry["hash"] in result.output
    assert "duration=4 in (0, 10000]" in result.output  # an excluded end is shown open
    assert "exponent=1 in [0, 10]" in result.output
