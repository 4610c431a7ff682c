"""Load ``crmbridge.toml``: TOML + ``${ENV}`` secrets + ``CRMBRIDGE__A__B`` overrides.

Where the file comes from: ``--config``, else ``$CRMBRIDGE_CONFIG``, else
``./crmbridge.toml``, else the bundled example model. Precedence of values:
environment override > TOML. Every problem is reported at once, each labelled with its
TOML path, as a :class:`~crmbridge.errors.ConfigError`.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from crmbridge.config_upgrades import apply_renames
from crmbridge.connector.registry import failures, plugins
from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.handoff.feedback import feedback_problems
from crmbridge.handoff.settings import (
    AssignmentSettings,
    EnrichmentSettings,
    NotificationSettings,
    ObjectionSettings,
    ProfilingSettings,
    ReactivationSettings,
    ReplySettings,
    SlaSettings,
    Trigger,
)
from crmbridge.scoring.model import (
    BantModel,
    Condition,
    LifecycleModel,
    ScoringModel,
    did_you_mean,
    model_problems,
)
from crmbridge.scoring.overmatch import overmatch_warnings
from crmbridge.scoring.properties import company_path_problems
from crmbridge.settings import (
    BOTH,
    DEFAULT_DATABASE_URL,
    AccountScoreSettings,
    AlertSettings,
    BridgeSettings,
    ConnectorTables,
    DaemonSettings,
    IngestSettings,
    OutboxSettings,
    ReportSettings,
    WritebackSettings,
    connector_tables_model,
)
from crmbridge.store.location import resolve_sqlite_path

ENV_PREFIX = "CRMBRIDGE__"
CONFIG_ENV = "CRMBRIDGE_CONFIG"
DEFAULT_FILE = "crmbridge.toml"
#: ``LoadedConfig.source`` when no file was found and the bundled example model is used.
EXAMPLE_SOURCE = "bundled config.example.toml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


if TYPE_CHECKING:
    _ConnectorTables = ConnectorTables
else:
    # A table per installed connector plugin, so each is validated by its own model.
    _ConnectorTables = connector_tables_model()


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
    connectors: _ConnectorTables = Field(default_factory=_ConnectorTables)
    scoring: ScoringModel = Field(default_factory=ScoringModel)
    bant: BantModel = Field(default_factory=BantModel)
    lifecycle: LifecycleModel = Field(default_factory=LifecycleModel)
    writeback: WritebackSettings = Field(default_factory=WritebackSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    account_score: AccountScoreSettings = Field(default_factory=AccountScoreSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    assignment: AssignmentSettings = Field(default_factory=AssignmentSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    replies: ReplySettings = Field(default_factory=ReplySettings)
    triggers: list[Trigger] = Field(default_factory=list)
    reactivation: ReactivationSettings = Field(default_factory=ReactivationSettings)
    profiling: ProfilingSettings = Field(default_factory=ProfilingSettings)
    enrichment: EnrichmentSettings = Field(default_factory=EnrichmentSettings)
    objections: ObjectionSettings = Field(default_factory=ObjectionSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)

    # Secrets of enabled tables whose ${VAR} is unset: harmless offline, fatal for
    # whatever reaches a CRM (see require_secrets).
    _missing_secrets: list[ConfigProblem] = PrivateAttr(default_factory=list)
    _source: str | None = PrivateAttr(default=None)

    def require_secrets(self) -> None:
        """Raise :class:`ConfigError` naming each secret an enabled table needs but lacks.

        A secret written as ``"${VAR}"`` whose variable is unset only warns when the file
        is loaded, so offline commands (``score``, ``explain``) work without credentials;
        ``config check`` and every command that talks to a CRM call this first.
        """
        if self._missing_secrets:
            raise ConfigError(self._missing_secrets, source=self._source)

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
        return (_Overrides(settings_cls), init_settings)


class _Overrides(EnvSettingsSource):
    """``CRMBRIDGE__*`` variables, read so that a bad one is a problem, not an exception.

    A value that is not UTF-8 is left out and a table that is not JSON is passed on as
    text: :func:`parse_config` names both variables (pydantic-settings would raise).
    """

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.env_vars = {k: v for k, v in self.env_vars.items() if v is None or _is_text(v)}

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except (ValueError, RecursionError):
            return value


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


def data_dir() -> Path:
    """Where the store lives when crmbridge runs on its bundled example (created on use)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("crmbridge", appauthor=False))


def load_config(path: Path | None = None) -> LoadedConfig:
    """Read, substitute, override and validate; raise ConfigError listing every problem.

    A relative SQLite path in ``bridge.database_url`` (the default one included) is
    resolved against the config file's directory, or against the platform's data
    directory for the bundled example — never against the current working directory.
    """
    resolved = resolve_config_path(path)
    if resolved is None:
        source, text = EXAMPLE_SOURCE, example_config_text()
        base = data_dir()
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problem = ConfigProblem(
                "bridge.database_url",
                f"cannot create the data directory {base}: {exc.strerror}",
                "use a config file (the store then lives next to it), or set "
                "CRMBRIDGE__BRIDGE__DATABASE_URL to an absolute path",
            )
            raise ConfigError([problem], source=source) from None
    else:
        base = resolved.resolve().parent
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
        except UnicodeDecodeError as exc:
            problem = ConfigProblem(
                "",
                f"{resolved} is not UTF-8 text (byte {exc.start} cannot be decoded)",
                "save the file with UTF-8 encoding",
            )
            raise ConfigError([problem], source=source) from None
    return parse_config(text, source=source, base_dir=base)


def parse_config(
    text: str, *, source: str = "<string>", base_dir: Path | None = None
) -> LoadedConfig:
    """Validate TOML text as a crmbridge configuration (environment: ``os.environ``).

    ``base_dir``: where a relative SQLite ``database_url`` lives (see :func:`load_config`);
    None keeps it as written.
    """
    try:
        return _parse_config(text, source, base_dir)
    except RecursionError:
        # Arrays or tables nested thousands deep (in the file or an override): no
        # crmbridge setting nests more than a few levels.
        problem = ConfigProblem("", "values nested too deeply to read", _NESTING_HINT)
        raise ConfigError([problem], source=source) from None


_NESTING_HINT = "no crmbridge setting nests more than a few tables or arrays"


def _parse_config(text: str, source: str, base_dir: Path | None) -> LoadedConfig:
    environ = os.environ
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem("", f"not valid TOML: {exc}")], source=source) from None
    except RecursionError:
        problem = ConfigProblem(
            "", "not valid TOML: arrays or tables nested too deeply to read", _NESTING_HINT
        )
        raise ConfigError([problem], source=source) from None
    except ValueError:  # Python refuses to read an integer of more than 4,300 digits
        problem = ConfigProblem("", "not valid TOML: a number has more than 4,300 digits")
        raise ConfigError([problem], source=source) from None
    renamed, problems = apply_renames(raw)
    unset: list[tuple[tuple[str | int, ...], str]] = []
    data = _substitute(raw, (), environ, unset)
    if base_dir is not None:
        _resolve_database(data, base_dir)
        _resolve_report_folder(data, base_dir)
    problems.extend(_unknown_overrides(environ))
    unusable = _unusable_overrides(environ)
    problems.extend(unusable)
    config: CrmbridgeConfig | None = None
    scoring: ScoringModel | None = None
    try:
        config = CrmbridgeConfig(**data)
        scoring = config.scoring
    except ValidationError as exc:
        named = {problem.path for problem in unusable}  # said better already
        problems.extend(p for p in _translate(exc, environ) if p.path not in named)
        scoring = _scoring_despite(exc, data)
    except SettingsError as exc:  # not expected (see _Overrides): still no traceback
        problems.append(ConfigProblem(ENV_PREFIX + "*", f"unusable override: {exc}"))
    if scoring is not None:
        problems.extend(model_problems(scoring))
    if config is not None:
        problems.extend(_company_paths(config))
        problems.extend(ownership_problems(config))
        problems.extend(feedback_problems(config.sla, config.assignment.owner_property))
    warnings: list[str] = list(renamed)
    missing: list[ConfigProblem] = []
    for path, name in unset:
        if _override_name(path, environ) is not None:
            continue  # CRMBRIDGE__A__B sets the value: the reference is not used
        where = format_path(path)
        if name in environ:  # set, but not to text
            problems.append(ConfigProblem(where, f"environment variable {name} {_NOT_TEXT}"))
        elif not _is_secret(path):
            problems.append(
                ConfigProblem(
                    where,
                    f"environment variable {name} is not set",
                    "set it, or remove the key to use the default",
                )
            )
        elif not _optional(path, config) and (table := _enabled_table(path, config, data)):
            missing.append(
                ConfigProblem(
                    where,
                    f"environment variable {name} is not set",
                    f"{table} is enabled: set {name}, or set {table}.enabled = false",
                )
            )
            warnings.append(
                f"{where}: environment variable {name} is not set; commands that reach the "
                "CRM (check, run) refuse to start until it is"
            )
        else:
            warnings.append(
                f"{where}: environment variable {name} is not set; the setting is left empty"
            )
    if problems:
        raise ConfigError(problems, source=source)
    assert config is not None
    if base_dir is not None:
        # An environment override is resolved against the same directory as the file.
        url = resolve_sqlite_path(config.bridge.database_url, base_dir)
        if url != config.bridge.database_url:
            bridge = config.bridge.model_copy(update={"database_url": url})
            config = config.model_copy(update={"bridge": bridge})
    config._missing_secrets = missing
    config._source = source
    warnings.extend(f"{format_path(path)}: {text}" for path, text in overmatch_warnings(config))
    return LoadedConfig(config=config, source=source, warnings=warnings)


def trigger_conditions(config: CrmbridgeConfig) -> list[tuple[str, Mapping[str, Condition]]]:
    """``(config path, conditions)`` of every trigger's property conditions."""
    return [
        (f"triggers[{i}].when.properties", trigger.when.properties)
        for i, trigger in enumerate(config.triggers)
    ]


def ownership_problems(config: CrmbridgeConfig) -> list[ConfigProblem]:
    """``[writeback] owner`` and ``owners``: each names an enabled connector or "both",
    and ``owners`` names crmbridge's own properties (``<prefix>_...``)."""
    writeback = config.writeback
    enabled = sorted(config.connectors.enabled())
    installed = sorted(config.connectors.tables())
    problems: list[ConfigProblem] = []
    named = [("writeback.owner", writeback.owner)]
    named += [(f"writeback.owners.{name}", owner) for name, owner in writeback.owners.items()]
    for path, owner in named:
        if owner == BOTH or owner in enabled:
            continue
        if owner in installed:
            problems.append(
                ConfigProblem(
                    path,
                    f'"{owner}" is not enabled: crmbridge would write this nowhere',
                    f"set [connectors.{owner}] enabled = true, or name an enabled CRM "
                    f'({", ".join(enabled) or "none is enabled"}) or "both"',
                )
            )
        else:
            choices = [*installed, BOTH]
            problems.append(
                ConfigProblem(path, f'unknown CRM "{owner}"', did_you_mean(owner, choices))
            )
    for name in writeback.owners:
        if not name.startswith(f"{writeback.prefix}_"):
            problems.append(
                ConfigProblem(
                    f"writeback.owners.{name}",
                    "not one of crmbridge's properties: only they are written to both CRMs",
                    f"crmbridge's properties are named {writeback.prefix}_score, "
                    f"{writeback.prefix}_stage, ...",
                )
            )
    return problems


def _company_paths(config: CrmbridgeConfig) -> list[ConfigProblem]:
    """Malformed ``company.`` names anywhere a rule reads a property."""
    return company_path_problems(
        config.scoring, config.bant, config.lifecycle, trigger_conditions(config)
    )


def _resolve_database(data: dict[str, Any], base_dir: Path) -> None:
    """Make the TOML's (or the default) relative SQLite path absolute, before validation."""
    bridge = data.get("bridge")
    if bridge is None:
        bridge = data["bridge"] = {}
    if not isinstance(bridge, dict):
        return
    url = bridge.get("database_url", DEFAULT_DATABASE_URL)
    if isinstance(url, str):
        bridge["database_url"] = resolve_sqlite_path(url, base_dir)


def _resolve_report_folder(data: dict[str, Any], base_dir: Path) -> None:
    """A relative ``report.folder`` lives beside the config file, as the store does."""
    report = data.get("report")
    folder = report.get("folder") if isinstance(report, dict) else None
    if isinstance(report, dict) and isinstance(folder, str) and folder:
        report["folder"] = str(base_dir / Path(folder).expanduser())


def _scoring_despite(exc: ValidationError, data: dict[str, Any]) -> ScoringModel | None:
    """A valid ``[scoring]`` while other sections are broken, so its checks still run."""
    broken = {error["loc"][0] for error in exc.errors() if error["loc"]}
    if "scoring" in broken:
        return None
    try:
        return CrmbridgeConfig(**{k: v for k, v in data.items() if k not in broken}).scoring
    except (ValidationError, SettingsError):
        return None


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of ``crmbridge.toml`` for editors (taplo / Even Better TOML)."""
    schema = CrmbridgeConfig.model_json_schema(by_alias=True)
    # A condition may also be written as a bare value (eq) or a bare list (in).
    condition = schema["$defs"]["Condition"]
    scalar = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]
    schema["$defs"]["Condition"] = {
        "description": condition.get("description"),
        "anyOf": [condition, *scalar, {"type": "array", "items": {"anyOf": scalar}}],
    }
    _durations_as_written(schema)
    # Business hours are written as one string, "09:00-18:00".
    schema["$defs"]["SlaSettings"]["properties"]["business_hours"]["default"] = "09:00-18:00"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "crmbridge.toml"
    return schema


def _durations_as_written(node: Any) -> None:
    """pydantic describes durations as ISO 8601 ("PT5M"); crmbridge reads "5m" or seconds."""
    if isinstance(node, list):
        for item in node:
            _durations_as_written(item)
    if not isinstance(node, dict):
        return
    if node.get("format") == "duration":
        del node["format"]
        node["type"] = ["string", "number"]
        node["pattern"] = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$"
        if isinstance(node.get("default"), str):
            seconds = TypeAdapter(timedelta).validate_python(node["default"]).total_seconds()
            unit, size = next(
                ((u, n) for u, n in (("d", 86400), ("h", 3600), ("m", 60)) if seconds % n == 0),
                ("s", 1),
            )
            node["default"] = f"{seconds / size:g}{unit}"
    for value in node.values():
        _durations_as_written(value)


def _substitute(
    value: Any,
    path: tuple[str | int, ...],
    environ: Mapping[str, str],
    unset: list[tuple[tuple[str | int, ...], str]],
) -> Any:
    """Replace ``${NAME}`` with the environment's value; a key naming an unset one (or
    one that is not UTF-8 text) is dropped and recorded in ``unset`` (path, variable) for
    :func:`parse_config` to judge."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            resolved = _substitute(item, (*path, key), environ, unset)
            if resolved is not _UNSET:
                out[key] = resolved
        return out
    if isinstance(value, list):
        return [_substitute(item, (*path, i), environ, unset) for i, item in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        missing = [
            name
            for name in _ENV_REF.findall(value)
            if name not in environ or not _is_text(environ[name])
        ]
        if missing:
            unset.append((path, missing[0]))
            return _UNSET
        return _ENV_REF.sub(lambda m: environ[m.group(1)], value)
    return value


_UNSET = object()


def _optional(path: tuple[str | int, ...], config: CrmbridgeConfig | None) -> bool:
    """May the secret at ``path`` stay empty in an enabled table?

    Each connector's settings model says which of its secrets are optional and which
    another way of signing in replaces (``optional_secrets``, ``secret_alternatives``).
    """
    if len(path) != 3 or path[0] != "connectors":
        return False
    table = plugins().get(str(path[1]))
    if table is None:
        return False
    key = str(path[2])
    if key in table.settings.optional_secrets:
        return True
    instead = table.settings.secret_alternatives.get(key)
    if instead is None or config is None:
        return False
    values = config.connectors.tables()[str(path[1])].model_dump()
    return all(values.get(name) is not None for name in instead)


def _is_secret(path: tuple[str | int, ...]) -> bool:
    """Is the setting at ``path`` a secret (a SecretStr field)?"""
    annotation: Any = CrmbridgeConfig
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return False
    # A constrained secret is Annotated[SecretStr, ...]: look through the annotation.
    return any(
        member is SecretStr or typing.get_args(member)[:1] == (SecretStr,)
        for member in _members(annotation)
        if typing.get_origin(member) is typing.Annotated or member is SecretStr
    )


def _enabled_table(
    path: tuple[str | int, ...], config: CrmbridgeConfig | None, data: Mapping[str, Any]
) -> str | None:
    """The TOML path of the table holding ``path`` when that table is ``enabled``."""
    table = path[:-1]
    # The validated values (overrides included); when the config is invalid anyway,
    # what the file says.
    node: Any = config.model_dump(by_alias=True) if config is not None else data
    for part in table:
        if isinstance(node, dict):
            node = node.get(part, {})
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = {}
    enabled = node.get("enabled", False) if isinstance(node, dict) else False
    return format_path(table) if enabled is True else None


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


_NOT_TEXT = "is not UTF-8 text (the environment holds bytes that cannot be decoded)"


def _is_text(value: str) -> bool:
    """False for environment values holding undecodable bytes (as surrogate escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unusable_overrides(environ: Mapping[str, str]) -> list[ConfigProblem]:
    """Overrides that cannot be read at all: bytes that are not UTF-8, and a table or
    list (``CRMBRIDGE__DAEMON=notjson``) that is not JSON."""
    problems = []
    for name, value in environ.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        if not _is_text(value):
            problems.append(ConfigProblem(name, _NOT_TEXT, "set it to UTF-8 text"))
            continue
        annotation: Any = CrmbridgeConfig
        for part in name[len(ENV_PREFIX) :].lower().split("__"):
            annotation = _step(annotation, part)
            if annotation is None:
                break
        if annotation is None or not _structured(annotation):
            continue
        try:
            json.loads(value)
        except (ValueError, RecursionError):
            problems.append(
                ConfigProblem(
                    name,
                    "is not valid JSON (a table or list is overridden with JSON)",
                    "e.g. CRMBRIDGE__DAEMON='{\"port\": 8081}', or set one key: "
                    "CRMBRIDGE__DAEMON__PORT=8081",
                )
            )
    return problems


def _structured(annotation: Any) -> bool:
    """Does every form of ``annotation`` (``None`` aside) take a table or a list?"""
    members = [m for m in _members(annotation) if m is not type(None)]
    return bool(members) and all(
        _as_model(m) is not None or typing.get_origin(m) in (list, dict, tuple) for m in members
    )


def format_path(loc: tuple[str | int, ...]) -> str:
    """``("scoring", "fit", 2, "when")`` → ``scoring.fit[2].when``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_SCALAR_BRANCHES = {"str", "int", "float", "bool", "list[str]", "list[union[str,int,float,bool]]"}


def _translate(exc: ValidationError, environ: Mapping[str, str]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(
            p
            for p in error["loc"]
            if not (isinstance(p, str) and (p in _SCALAR_BRANCHES or p == "[key]"))
        )
        problem = _problem(error, loc)
        # An unknown key may be a whole table that an override's deeper key created.
        override = _override_name(loc, environ, within=error["type"] == "extra_forbidden")
        if override is not None:
            problem = ConfigProblem(override, problem.message, problem.hint)
        # Union branches report one error each at the same path: keep the first. Unknown
        # keys share their table's path, so they are told apart by the key.
        key = str(problem) if error["type"] == "extra_forbidden" else problem.path
        if key not in seen:
            seen.add(key)
            problems.append(problem)
    return problems


def _override_name(
    loc: tuple[str | int, ...], environ: Mapping[str, str], *, within: bool = False
) -> str | None:
    """The ``CRMBRIDGE__A__B`` variable that set the value at ``loc``, if one did.

    ``within``: a variable setting a key inside ``loc`` (``CRMBRIDGE__A__B__C``) counts
    too, when no variable sets ``loc`` itself.
    """
    if not loc or any(isinstance(part, int) for part in loc):
        return None
    wanted = (ENV_PREFIX + "__".join(str(part) for part in loc)).upper()
    exact = next((name for name in environ if name.upper() == wanted), None)
    if exact is not None or not within:
        return exact
    return next((name for name in environ if name.upper().startswith(wanted + "__")), None)


# Custom errors whose message already names the offending value.
_SELF_DESCRIBING = {
    "unknown_operator",
    "empty_condition",
    "bad_timezone",
    "bad_duration",
    "grades_order",
    "bad_database_url",
    "backoff_order",
    "bool_not_number",
    "not_finite",
    "bad_webhook_url",
    "bad_host",
}
#: How much of a rejected value an error shows: enough to recognise it, never a page.
_SHOWN = 60
#: The longest message of one problem.
_LONGEST = 200


def _problem(error: Any, loc: tuple[str | int, ...]) -> ConfigProblem:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if loc[:-1] == ("connectors",):
            return _unknown_connector(key)
        allowed = _keys_at(loc[:-1])
        hint = did_you_mean(key, allowed) if allowed else None
        return ConfigProblem(format_path(loc[:-1]) or "(top level)", f'unknown key "{key}"', hint)
    if kind == "missing":
        return ConfigProblem(format_path(loc), "required key is missing")
    if kind in {"too_short", "string_too_short"} and ctx.get("min_length") == 1:
        return ConfigProblem(format_path(loc), "must not be empty")
    message = error["msg"]
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        message = "should be a table"  # not "a valid dictionary or instance of ScoringModel"
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    message = message[0].lower() + message[1:]
    # A secret's value is never quoted back, even one refused as malformed.
    # A table's input may hold its secrets (a model check on [report] sees the SMTP
    # password): only a scalar is quoted back.
    scalar = not isinstance(error.get("input"), dict | list | tuple)
    if kind not in _SELF_DESCRIBING and "input" in error and scalar and not _is_secret(loc):
        shown = _shown(error["input"])
        message = f"{message} (got {shown})"
    if len(message) > _LONGEST:  # a self-describing message quotes the value whole
        message = message[: _LONGEST - 1] + "…"
    return ConfigProblem(format_path(loc), message, ctx.get("hint"))


#: How much of a plugin's load failure a problem quotes (the log line has it whole).
_LOAD_ERROR_SHOWN = 160


def _unknown_connector(name: str) -> ConfigProblem:
    """A ``[connectors.<name>]`` table of no installed plugin, or of one that did not load."""
    path = format_path(("connectors", name))
    error = failures().get(name)
    if error is not None:
        if len(error) > _LOAD_ERROR_SHOWN:
            error = error[: _LOAD_ERROR_SHOWN - 1] + "…"
        return ConfigProblem(
            path,
            f"the {name} connector plugin failed to load: {error}",
            "reinstall it (the connector.plugin_unavailable log line says more), "
            "or remove the table",
        )
    installed = list(plugins())
    hint = did_you_mean(name, installed) if installed else "no connector plugin is installed"
    return ConfigProblem(path, f'no connector plugin "{name}" is installed', hint)


def _shown(value: Any) -> str:
    """``repr(value)``, cut to _SHOWN characters (a 400-digit number stays readable)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**_SHOWN:
        # str() of a huge int is quadratic (and refused past 4,300 digits).
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


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


def secret_values(model: BaseModel) -> list[str]:
    """Every secret value in a configuration, for log redaction."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
    return found
