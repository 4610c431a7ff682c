"""How the Salesforce sandbox's SOQL parser's cost grows with the length of a query.

Each shape builds a statement of about ``n`` characters (up to Salesforce's 100,000
limit) and parses it, accepted or refused; reported: seconds per parse and the growth
ratio between successive lengths (about 2 when doubling the length means linear time,
about 4 quadratic).

    python -m benchmarks.salesforce_soql
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import best_of, publish
from crmbridge_salesforce.sandbox.soql import SoqlError, parse

LENGTHS = (3_000, 6_000, 12_000, 24_000, 48_000, 96_000)
_HEAD = "SELECT Id, Email FROM Lead WHERE "

#: Each shape: a name and how to build a statement of about ``n`` characters.
SHAPES: dict[str, Callable[[int], str]] = {
    "long_string": lambda n: _HEAD + "Email = '" + "a\\'b" * (n // 4) + "'",
    "long_in_list": lambda n: (
        _HEAD + "Id IN (" + ",".join(["'00Q000000000000AAA'"] * (n // 21)) + ")"
    ),
    "flat_or_chain": lambda n: _HEAD + " OR ".join(["Email = 'x@y.io'"] * (n // 19)),
    "deep_parentheses_refused": lambda n: _HEAD + "(" * (n // 2) + "Id = 'x'" + ")" * (n // 2),
    "unterminated_string_refused": lambda n: _HEAD + "Email = '" + "x" * n,
    "mixed_and_or_refused": lambda n: _HEAD + " AND ".join(["A = 1"] * (n // 9)) + " OR B = 2",
}


def _parse(text: str) -> None:
    with contextlib.suppress(SoqlError):
        parse(text)


def run(repeat: int) -> dict[str, Any]:
    """Seconds per parse, per shape and length."""
    results: dict[str, Any] = {}
    for name, build in SHAPES.items():
        rows = []
        previous: float | None = None
        for length in LENGTHS:
            text = build(length)
            seconds = best_of(lambda text=text: _parse(text), repeat)  # type: ignore[misc]
            rows.append(
                {
                    "chars": len(text),
                    "parse_s": round(seconds, 6),
                    "growth": round(seconds / previous, 2) if previous else None,
                }
            )
            previous = seconds
        results[name] = rows
    return results


def main() -> None:
    """Run and publish to benchmarks/results/salesforce_soql.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/salesforce_soql.json"))
    args = parser.parse_args()
    shapes = run(args.repeat)
    publish(
        {
            "benchmark": "salesforce_soql",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "load": os.getloadavg()[0]},
            "settings": {"lengths": list(LENGTHS), "repeat": args.repeat},
            "worst_parse_s": max(r["parse_s"] for rows in shapes.values() for r in rows),
            "shapes": shapes,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
