"""Generated configs through ``parse_config``, and a sample through ``run --once``.

A config either loads or is refused with a :class:`ConfigError` whose problems name
the broken path (``daemon.poll_interval``, ``CRMBRIDGE__DAEMON__PORT``, ...); no other
exception, ever. Through the CLI a refusal is exit code 2 with the path on stderr and
no traceback; a good config runs a cycle against the local HubSpot sandbox.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from daemon.daemon_helpers import clean_environment, start_sandbox
from hypothesis import HealthCheck, Phase, given, settings

from crmbridge.config import parse_config
from crmbridge.errors import ConfigError
from crmbridge.sandbox.config import DEFAULT_TOKEN

from .configs import KNOWN_BAD, KNOWN_BAD_AT_RUN, KNOWN_GOOD, GeneratedConfig, build, configs
from .conftest import Figures, Sizes
from .oracles import HungError, assert_no_traceback, within

PARSE_BOUND_S = 30.0
RUN_BOUND_S = 180.0
NO_SHRINKING = (Phase.explicit, Phase.generate)


def _load(config: GeneratedConfig) -> ConfigError | None:
    """Parse with the config's environment; the ConfigError, or None when it loads."""
    saved = {name: os.environ.get(name) for name in config.env}
    os.environ.update(config.env)
    try:
        within(PARSE_BOUND_S, "parse_config", lambda: parse_config(config.text, source="fuzz"))
    except ConfigError as refused:
        return refused
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return None


def test_generated_configs_load_or_are_refused_by_path(sizes: Sizes, figures: Figures) -> None:
    outcomes: Counter[str] = Counter()
    failures: list[str] = []

    @settings(
        max_examples=sizes.configs,
        deadline=None,
        database=None,
        derandomize=not sizes.long,
        phases=NO_SHRINKING,
        suppress_health_check=list(HealthCheck),
    )
    @given(configs())
    def load(config: GeneratedConfig) -> None:
        outcomes[f"generated_{config.verdict}"] += 1
        try:
            refused = _load(config)
        except HungError:
            raise
        except Exception as exc:  # anything but a ConfigError is a crash: list them all
            outcomes["crashed"] += 1
            failures.append(f"{config!r}: {type(exc).__name__}: {str(exc)[:160]}")
            return
        if refused is None:
            outcomes["loaded"] += 1
            if config.verdict == "invalid":
                failures.append(f"{config!r}: accepted")
            return
        outcomes["refused"] += 1
        labelled = [p.path for p in refused.problems]
        if config.verdict == "valid":
            failures.append(f"{config!r}: refused: {refused}")
        for path in config.must_name():
            if not any(label.startswith(path) for label in labelled):
                failures.append(f"{config!r}: no problem labelled {path}: {refused}")
        assert all(str(p).strip() for p in refused.problems)

    load()
    figures.record("configs", **dict(outcomes), failures=len(failures))
    assert not failures, f"{len(failures)} generated configs misbehaved:\n" + "\n".join(
        sorted(set(failures))[:40]
    )


def _samples(count: int) -> list[tuple[str, GeneratedConfig]]:
    """Good configs and known-bad ones (including those only a run can find)."""
    bad = [*KNOWN_BAD_AT_RUN, *KNOWN_BAD]
    chosen: list[tuple[str, GeneratedConfig]] = [("valid", build([KNOWN_GOOD[0]], "valid"))]
    chosen += [("invalid", build([m], "invalid")) for m in bad[: max(0, count - 1)]]
    return chosen[:count]


def test_a_sample_of_configs_through_run_once(
    tmp_path: Path, sizes: Sizes, figures: Figures
) -> None:
    sandbox = start_sandbox(5)
    results: Counter[str] = Counter()
    failures: list[str] = []
    try:
        for number, (verdict, config) in enumerate(_samples(sizes.config_runs)):
            folder = tmp_path / f"run-{number}"
            folder.mkdir()
            path = folder / "crmbridge.toml"
            path.write_bytes(config.text.encode("utf-8", "surrogatepass"))
            env = clean_environment() | {
                "HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN,
                "CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL": sandbox.url,
                **config.env,
            }
            command = [sys.executable, "-m", "crmbridge", "--config", str(path), "run", "--once"]
            try:
                done = subprocess.run(
                    command,
                    cwd=folder,
                    env=env,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    timeout=RUN_BOUND_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                results["hung"] += 1
                failures.append(f"{config!r}: run --once still running after {RUN_BOUND_S:g} s")
                continue
            results[f"{verdict}_exit_{done.returncode}"] += 1
            output = done.stdout + done.stderr
            try:
                assert_no_traceback(output, f"run --once with {config!r}")
            except AssertionError as exc:
                results["tracebacks"] += 1
                failures.append(str(exc)[:1500])
                continue
            if verdict == "valid" and done.returncode != 0:
                failures.append(f"{config!r}: exit {done.returncode}\n{output[-1500:]}")
            if verdict == "invalid":
                named = all(path in done.stderr for path in config.must_name())
                if done.returncode != 2 or not named:
                    failures.append(
                        f"{config!r}: exit {done.returncode} (2 and {config.must_name()} "
                        f"on stderr expected)\n{output[-800:]}"
                    )
    finally:
        sandbox.stop()
    figures.record(
        "config_runs",
        runs=sum(v for k, v in results.items() if "_exit_" in k or k == "hung"),
        **({"tracebacks": 0, "hung": 0} | dict(results)),
        failures=len(failures),
    )
    assert not failures, "\n\n".join(failures)
