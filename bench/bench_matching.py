"""The quality of the duplicate rules as two figures, on the labelled set of issue 12.

``tests/data/matching_pairs.csv`` (pairs labelled block / flag / allow) is run through the real
rules (`customers.quality`): the precision of blocks (must be 1.0: a block never refuses a
different company) and the share of block and flag pairs caught (at least 95 %). No broker or
database: the rules are pure. Writes ``matching.json`` and ``matching.md``; `make test` checks
the same two figures (services/customers/tests/unit/test_customers_matching_quality.py).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from customers import quality


def run(results_dir: Path, quick: bool = False) -> dict:
    """Measure and write ``matching.json`` and ``matching.md``; the labelled set is small, so
    ``quick`` runs the same measurement."""
    load_before = os.getloadavg()
    figures = quality.measure(quality.load_pairs())
    result = {
        "benchmark": "matching",
        "quick": quick,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(load, 2) for load in load_before],
        "pairs": figures.pairs,
        "labelled": figures.labelled,
        "block_precision": round(figures.block_precision, 4),
        "caught_share": round(figures.caught_share, 4),
        "blocked": figures.blocked,
        "blocked_rightly": figures.blocked_rightly,
        "caught": figures.caught,
        "to_catch": figures.to_catch,
        "allow_flagged": figures.allow_flagged,
        "by_category": {name: {"caught": c, "of": n} for name, (c, n) in sorted(figures.by_category.items())},
        "required": {"block_precision": quality.REQUIRED_PRECISION, "caught_share": quality.REQUIRED_CAUGHT},
    }
    result["goals"] = [
        {
            "goal": "precision of blocks on the labelled set",
            "target": f"≥ {quality.REQUIRED_PRECISION}",
            "achieved": result["block_precision"],
            "met": figures.block_precision >= quality.REQUIRED_PRECISION,
        },
        {
            "goal": "share of block and flag pairs caught",
            "target": f"≥ {quality.REQUIRED_CAUGHT}",
            "achieved": result["caught_share"],
            "met": figures.caught_share >= quality.REQUIRED_CAUGHT,
        },
    ]
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "matching.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    goal_rows = [
        f"| {g['goal']} | {g['target']} | {g['achieved']} | {'yes' if g['met'] else '**no**'} |"
        for g in result["goals"]
    ]
    (results_dir / "matching.md").write_text(
        "# Duplicate rules on the labelled set\n\n```\n"
        + quality.report(figures)
        + "\n```\n\n## Goals\n\n| goal | target | achieved | met |\n|---|---|---:|---|\n"
        + "\n".join(goal_rows)
        + "\n"
    )
    print(f"precision of blocks {result['block_precision']:.3f}, caught {result['caught_share']:.3f}")
    return result
