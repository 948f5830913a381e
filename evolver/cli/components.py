"""`evolver components`: the typed component library (`simcore.components`), each kind with its version and hash."""

from __future__ import annotations

from typing import Any

from evolver import report
from evolver.cli.edge import SIMULATION, JsonOpt, app, check_outputs, show, user_errors, write_json


def _bounds(bounds: dict[str, float]) -> str:
    """`[0, 10]`, `(0, 10]`: a parameter's interval, open where its end is excluded."""
    low = f"[{report.format_number(bounds['ge'])}" if "ge" in bounds else f"({report.format_number(bounds['gt'])}"
    high = f"{report.format_number(bounds['le'])}]" if "le" in bounds else f"{report.format_number(bounds['lt'])})"
    return f"{low}, {high}"


def _parameters(described: dict[str, Any]) -> str:
    """Each parameter as `name=default in [low, high]`, one a line."""
    return "\n".join(
        f"{name}={report.format_number(spec['default'])}" + (f" in {_bounds(spec['bounds'])}" if spec["bounds"] else "")
        for name, spec in described["parameters"].items()
    )


@app.command("components", rich_help_panel=SIMULATION)
def components(json_path: JsonOpt = None) -> None:
    """List the component library: each kind's version, content hash (it changes exactly when the definition
    does), parameters with their defaults and bounds, and KPIs. A scenario records a component as
    kind@version#hash."""
    from simcore.components import COMPONENTS

    with user_errors():
        check_outputs(json_path)
        described = [cls.describe() for cls in COMPONENTS.values()]
        rows = [
            (d["name"], d["version"], d["hash"], _parameters(d), ", ".join(d["kpis"]), d["doc"].split("\n\n")[0])
            for d in described
        ]
        show(report.components_table(rows))
        write_json(json_path, lambda: described)
