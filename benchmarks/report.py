"""Where every benchmark's figures go: a JSON file under benchmarks/results/ and stdout."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def publish(result: dict[str, Any], path: Path) -> None:
    """Write ``result`` as JSON to ``path`` and echo it on stdout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


def best_of(call: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``call``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best
