"""How scoring's cost grows with the length of an absurd value.

A public form can send a ``numemployees`` of ``"1"`` + 60,000 spaces + ``"1x"``, a
megabyte of spaces, or a 400-digit number. This scores one contact holding such a value
with the example model, at growing lengths, and reports seconds per call and the growth
ratio between successive lengths: about 2 when doubling the length means linear time
(or better: values are bounded before they are read), about 4 would mean quadratic.

    python -m benchmarks.absurd_values
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.report import best_of, publish
from crmbridge.config import example_config_text, parse_config
from crmbridge.external import loads
from crmbridge.scoring import Contact, Event, ScoringEngine

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LENGTHS = (1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 1_000_000)

#: Each shape: a name and how to build a value of about ``n`` characters.
SHAPES: dict[str, Callable[[int], str]] = {
    "spaces_between_digits": lambda n: "1" + " " * n + "1x",
    "spaces_only": lambda n: " " * n,
    "digits": lambda n: "1" * n,
    "grouped_digits": lambda n: "1" + ",000" * (n // 4),
    "band_lookalike": lambda n: "1" + " " * (n // 2) + "-" + " " * (n // 2) + "x",
    "text_words": lambda n: ("director de it " * (n // 15 + 1))[:n],
}


def run(repeat: int) -> dict[str, Any]:
    """Seconds to score one contact (and to decode one event) per shape and length."""
    config = parse_config(example_config_text(), source="example").config
    engine = ScoringEngine(config.scoring, config.bant, config.lifecycle)
    results: dict[str, Any] = {}
    for name, build in SHAPES.items():
        rows = []
        previous: float | None = None
        for length in LENGTHS:
            value = build(length)
            contact = Contact("1", {"numemployees": value, "jobtitle": value})
            event = Event("webinar_attended", NOW, {"watched_percent": value}, "e1")
            seconds = best_of(partial(engine.score, contact, [event], NOW), repeat)
            body = '{"watched_percent": ' + ("1" + "0" * length) + "}"
            decode_s = best_of(partial(loads, body), repeat)
            rows.append(
                {
                    "length": length,
                    "score_s": round(seconds, 6),
                    "decode_huge_int_s": round(decode_s, 6),
                    "growth": round(seconds / previous, 2) if previous else None,
                }
            )
            previous = seconds
        results[name] = rows
    return results


def main() -> None:
    """Run and publish to benchmarks/results/absurd_values.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/absurd_values.json"))
    args = parser.parse_args()
    shapes = run(args.repeat)
    worst = max(row["score_s"] for rows in shapes.values() for row in rows)
    publish(
        {
            "benchmark": "absurd_values",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version()},
            "settings": {"lengths": list(LENGTHS), "repeat": args.repeat},
            "worst_score_s": worst,
            "shapes": shapes,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
