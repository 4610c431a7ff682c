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
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from crmbridge.config import parse_config
from crmbridge.errors import ConfigError
from crmbridge_hubspot.sandbox.config import DEFAULT_APP_SECRET, DEFAULT_TOKEN
from tests.environment import clean_environment
from tests.integration.daemon.daemon_helpers import start_sandbox

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
        # Only text that is not TOML at all has no path to name.
        unparsable = any(p.message.startswith("not valid TOML") for p in refused.problems)
        if not any(labelled) and not unparsable:
            failures.append(f"{config!r}: no problem labelled with a path: {refused}")

    load()
    figures.record("configs", **({"crashed": 0} | dict(outcomes)), failures=len(failures))
    assert not failures, f"{len(failures)} generated configs misbehaved:\n" + "\n".join(
        sorted(set(failures))[:40]
    )


def _known_samples(count: int) -> list[GeneratedConfig]:
    """A good config and known-bad ones (first those only a run can find)."""
    bad = [*KNOWN_BAD_AT_RUN, *KNOWN_BAD]
    chosen = [build([KNOWN_GOOD[0]], "valid")]
    chosen += [build([m], "invalid") for m in bad[: max(0, count - 1)]]
    return chosen[:count]


@dataclass
class RunOnce:
    """Runs ``crmbridge run --once`` on generated configs and judges each exit."""

    folder: Path
    sandbox_url: str
    results: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def __call__(self, config: GeneratedConfig) -> None:
        expected = self.expectation(config)
        folder = self.folder / f"run-{sum(self.results.values())}"
        folder.mkdir()
        path = folder / "crmbridge.toml"
        path.write_bytes(config.text.encode("utf-8", "surrogatepass"))
        env = clean_environment() | {
            "HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN,
            "HUBSPOT_APP_SECRET": DEFAULT_APP_SECRET,
            "CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL": self.sandbox_url,
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
            self.results["hung"] += 1
            self.failures.append(f"{config!r}: run --once still running after {RUN_BOUND_S:g} s")
            return
        self.results[f"{config.verdict}_exit_{done.returncode}"] += 1
        output = done.stdout + done.stderr
        try:
            assert_no_traceback(output, f"run --once with {config!r}")
        except AssertionError as exc:
            self.results["tracebacks"] += 1
            self.failures.append(str(exc)[:1500])
            return
        codes, paths = expected
        named = all(path in done.stderr for path in paths)
        if done.returncode not in codes or not named:
            self.failures.append(
                f"{config!r}: exit {done.returncode} ({codes} and {paths} on stderr "
                f"expected)\n{output[-800:]}"
            )

    @staticmethod
    def expectation(config: GeneratedConfig) -> tuple[set[int], list[str]]:
        """The exit codes allowed, and the paths a refusal must name on stderr."""
        if config.verdict == "valid":
            return {0}, []
        if config.verdict == "invalid":
            return {2}, config.must_name()
        try:
            refused = _load(config)
        except Exception:  # the in-process test reports the crash; the run must not show one
            return {0, 1, 2}, []
        if refused is None:  # loads, but a run may still refuse it (e.g. its database)
            return {0, 1, 2}, []
        return {2}, [p.path for p in refused.problems if p.path][:1]

    def figures(self) -> dict[str, int]:
        runs = sum(v for k, v in self.results.items() if "_exit_" in k or k == "hung")
        counts = {"tracebacks": 0, "hung": 0} | dict(self.results)
        return {"runs": runs, **counts, "failures": len(self.failures)}


def test_a_sample_of_configs_through_run_once(
    tmp_path: Path, sizes: Sizes, figures: Figures
) -> None:
    sandbox = start_sandbox(5)
    run = RunOnce(tmp_path, sandbox.url)
    known = _known_samples((sizes.config_runs + 1) // 2)

    @settings(
        max_examples=max(1, sizes.config_runs - len(known)),
        deadline=None,
        database=None,
        derandomize=not sizes.long,
        phases=NO_SHRINKING,
        suppress_health_check=list(HealthCheck),
    )
    @given(configs())
    def generated(config: GeneratedConfig) -> None:
        run(config)

    try:
        for config in known:
            run(config)
        generated()
    finally:
        sandbox.stop()
    figures.record("config_runs", **run.figures())
    assert not run.failures, "\n\n".join(run.failures)
