"""evolver: the strategy evolution service — model providers, evolution, the lineage store, the CLI and the API.

Built on `simcore` (the simulator) and `sandbox` (running untrusted player code); see docs/DESIGN.md.
"""
