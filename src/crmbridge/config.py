"""Load ``crmbridge.toml``: TOML + ``${ENV}`` secrets + ``CRMBRIDGE__A__B`` overrides.

Where the file comes from: ``--config``, else ``$CRMBRIDGE_CONFIG``, else
``./crmbridge.toml``, else the bundled example model. Precedence of values:
environment override > TOML. Every problem is reported at once, each labelled with its
TOML path, as a :class:`~crmbridge.errors.ConfigError`.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.scoring.model import (
    BantModel,
    LifecycleModel,
    ScoringModel,
    did_you_mean,
    model_problems,
)
from crmbridge.settings import BridgeSettings, ConnectorsSettings, DaemonSettings

ENV_PREFIX = "CRMBRIDGE__"
CONFIG_ENV = "CRMBRIDGE_CONFIG"
DEFAULT_FILE = "crmbridge.toml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CrmbridgeConfig(BaseSettings):
    """The whole of ``crmbridge.toml``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    bridge: BridgeSettings = Field(default_factory=BridgeSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    connectors: ConnectorsSettings = Field(default_factory=ConnectorsSettings)
    scoring: ScoringModel = Field(default_factory=ScoringModel)
    bant: BantModel = Field(default_factory=BantModel)
    lifecycle: LifecycleModel = Field(default_factory=LifecycleModel)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: CRMBRIDGE__* environment overrides beat the TOML file,
        # which arrives as init arguments.
        return (env_settings, init_settings)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration, where it came from, and non-fatal warnings."""

    config: CrmbridgeConfig
    source: str
    warnings: list[str] = field(default_factory=list)


def example_config_text() -> str:
    """The bundled, fully commented example model (``config.example.toml``)."""
    return resources.files("crmbridge.examples").joinpath("config.example.toml").read_text("utf-8")


def resolve_config_path(explicit: Path | None) -> Path | None:
    """The file to load, or ``None`` when crmbridge should use its bundled example."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    local = Path(DEFAULT_FILE)
    return local if local.exists() else None


def load_config(path: Path | None = None) -> LoadedConfig:
    """Read, substitute, override and validate; raise ConfigError listing every problem."""
    resolved = resolve_config_path(path)
    if resolved is None:
        source, text = "bundled config.example.toml", example_config_text()
    else:
        source = str(resolved)
        try:
            text = resolved.read_text("utf-8")
        except OSError as exc:
            problem = ConfigProblem(
                "",
                f"cannot read {resolved}: {exc.strerror}",
                "pass --config or set CRMBRIDGE_CONFIG",
            )
            raise ConfigError([problem], source=source) from None
    return parse_config(text, source=source)


def parse_config(text: str, *, source: str = "<string>") -> LoadedConfig:
    """Validate TOML text as a crmbridge configuration (environment: ``os.environ``)."""
    environ = os.environ
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem("", f"not valid TOML: {exc}")], source=source) from None
    warnings: list[str] = []
    data = _substitute(raw, (), environ, warnings)
    problems = _unknown_overrides(environ)
    config: CrmbridgeConfig | None = None
    try:
        config = CrmbridgeConfig(**data)
    except ValidationError as exc:
        problems.extend(_translate(exc))
    if config is not None:
        problems.extend(model_problems(config.scoring))
    if problems:
        raise ConfigError(problems, source=source)
    assert config is not None
    return LoadedConfig(config=config, source=source, warnings=warnings)


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of ``crmbridge.toml`` for editors (taplo / Even Better TOML)."""
    schema = CrmbridgeConfig.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "crmbridge.toml"
    return schema


def _substitute(
    value: Any, path: tuple[str | int, ...], environ: Mapping[str, str], warnings: list[str]
) -> Any:
    """Replace ``${NAME}`` with the environment's value; unset ones drop the key."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            resolved = _substitute(item, (*path, key), environ, warnings)
            if resolved is not _UNSET:
                out[key] = resolved
        return out
    if isinstance(value, list):
        return [_substitute(item, (*path, i), environ, warnings) for i, item in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        missing = [name for name in _ENV_REF.findall(value) if name not in environ]
        if missing:
            warnings.append(
                f"{format_path(path)}: environment variable {missing[0]} is not set; "
                "the setting is left empty"
            )
            return _UNSET
        return _ENV_REF.sub(lambda m: environ[m.group(1)], value)
    return value


_UNSET = object()


def _unknown_overrides(environ: Mapping[str, str]) -> list[ConfigProblem]:
    sections = list(CrmbridgeConfig.model_fields)
    problems = []
    for name in environ:
        if not name.upper().startswith(ENV_PREFIX):
            continue
        section = name[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if section not in sections:
            problems.append(
                ConfigProblem(name, f'unknown section "{section}"', did_you_mean(section, sections))
            )
    return problems


def format_path(loc: tuple[str | int, ...]) -> str:
    """``("scoring", "fit", 2, "when")`` → ``scoring.fit[2].when``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_SCALAR_BRANCHES = {"str", "int", "float", "bool", "list[str]", "list[union[str,int,float,bool]]"}


def _translate(exc: ValidationError) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p in _SCALAR_BRANCHES))
        problem = _problem(error, loc)
        if str(problem) not in seen and problem.path not in {p.path for p in problems}:
            seen.add(str(problem))
            problems.append(problem)
    return problems


def _problem(error: Any, loc: tuple[str | int, ...]) -> ConfigProblem:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _keys_at(loc[:-1])
        hint = did_you_mean(key, allowed) if allowed else None
        return ConfigProblem(format_path(loc[:-1]) or "(top level)", f'unknown key "{key}"', hint)
    if kind == "missing":
        return ConfigProblem(format_path(loc), "required key is missing")
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    message = message[0].lower() + message[1:]
    if kind not in {"unknown_operator", "empty_condition"} and "input" in error:
        message = f"{message} (got {error['input']!r})"
    return ConfigProblem(format_path(loc), message, ctx.get("hint"))


def _keys_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts, for "did you mean" on unknown keys."""
    current: Any = CrmbridgeConfig
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _as_model(current)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _step(annotation: Any, part: str | int) -> Any:
    model = _as_model(annotation)
    if model is not None and isinstance(part, str):
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    for candidate in _members(annotation):
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if origin is list and isinstance(part, int):
            return args[0]
        if origin is dict and isinstance(part, str):
            return args[1]
    return None


def _members(annotation: Any) -> tuple[Any, ...]:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return args
    return (annotation,)


def _as_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in _members(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None
