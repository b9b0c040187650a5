"""One settings tree: a YAML file overlaid by SAFECITY_* environment variables.

Loaded once at start and passed down; nothing else reads the environment. A bad file fails at
start with the file, the line, the field and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from safecity.core.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    url: str = Field(
        default="sqlite:///var/safecity.db",
        description="SQLAlchemy URL: sqlite:///PATH (embedded) or postgresql://USER:PW@HOST/DB",
        min_length=9,
    )
    echo: bool = Field(default=False, description="Log every SQL statement")


class ApiSettings(_Section):
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds")
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port (0 picks a free one)")
    page_size_max: int = Field(default=500, ge=10, le=10_000, description="Largest page served")


class SecuritySettings(_Section):
    master_key: SecretStr = Field(
        description="Fernet key (32 url-safe base64 bytes) encrypting device credentials at rest",
    )
    token_ttl_s: int = Field(
        default=12 * 3600, ge=60, le=30 * 86400, description="Session token lifetime, seconds"
    )
    lockout_after: int = Field(
        default=5, ge=1, le=100, description="Consecutive failed sign-ins that lock an account"
    )
    lockout_s: int = Field(
        default=900, ge=10, le=86400, description="How long a locked account stays locked"
    )
    login_per_minute: int = Field(
        default=20, ge=1, le=10_000, description="Sign-in attempts allowed per source per minute"
    )


class ReceiverSettings(_Section):
    enabled: bool = Field(default=True, description="Run the SIA DC-09 alarm receiver")
    host: str = Field(
        default="0.0.0.0",  # noqa: S104 (alarm panels connect from the whole network)
        description="Address the DC-09 listeners bind",
    )
    tcp_port: int | None = Field(
        default=7000, ge=0, le=65535, description="DC-09 TCP port (0: a free one; null: none)"
    )
    udp_port: int | None = Field(
        default=7000, ge=0, le=65535, description="DC-09 UDP port (0: a free one; null: none)"
    )
    window_past_s: int = Field(
        default=40, ge=1, le=3600, description="Oldest accepted encrypted timestamp, seconds"
    )
    window_future_s: int = Field(
        default=20, ge=1, le=3600, description="Newest accepted encrypted timestamp, seconds"
    )
    max_batch: int = Field(
        default=2000, ge=1, le=100_000, description="Most alarms stored in one group commit"
    )
    defer_processing_above: int = Field(
        default=64,
        ge=0,
        le=100_000,
        description="Alarms waiting for their ACK above which inbox processing gives way "
        "(with `own_process: false`; a receiver in its own process has the kernel's priority)",
    )
    max_defer_s: float = Field(
        default=1.0, ge=0.0, le=60.0, description="Longest one hold-back of inbox processing"
    )
    own_process: bool = Field(
        default=True,
        description="Run the DC-09 listeners and the inbox writer in a process of their own, so "
        "alarm processing and the API never delay an ACK",
    )
    priority: int = Field(
        default=10,
        ge=0,
        le=19,
        description="Nice levels the receiver process runs above the platform (needs "
        "CAP_SYS_NICE; without it a warning is logged and the receiver runs at normal priority)",
    )


class GroupQuotaSettings(_Section):
    cameras: list[int] = Field(min_length=1, description="Device ids of the cameras in the group")
    quota_bytes: int = Field(
        ge=1 << 20, le=1 << 60, description="Most bytes of recording the group may keep"
    )


class MediaSettings(_Section):
    recording: bool = Field(
        default=True, description="Record every enabled camera of the registry with a stream URL"
    )
    root: Path = Field(
        default=Path("var/recordings"), description="Directory the segment files are written under"
    )
    segment_s: int = Field(
        default=60, ge=1, le=3600, description="Segment length: cut at the first keyframe after"
    )
    retention_days: float | None = Field(
        default=30.0, gt=0, le=3650, description="Delete recordings older than this (null: keep)"
    )
    quota_bytes: int | None = Field(
        default=None, ge=1 << 20, le=1 << 60, description="Most bytes all cameras may keep"
    )
    group_quotas: dict[str, GroupQuotaSettings] = Field(
        default_factory=dict, description="Per-group quotas, by group name"
    )
    min_free_bytes: int = Field(
        default=1 << 30,
        ge=0,
        le=1 << 50,
        description="Free disk below which the oldest unlocked recordings are deleted",
    )
    retention_check_s: float = Field(
        default=30.0, ge=1, le=3600, description="Seconds between retention checks"
    )
    ring_s: float = Field(
        default=30.0, ge=0, le=300, description="Seconds of packets kept in memory per camera"
    )
    alarm_pre_s: float = Field(
        default=30.0, ge=0, le=600, description="Seconds before an alarm kept from retention"
    )
    alarm_post_s: float = Field(
        default=60.0, ge=0, le=3600, description="Seconds after an alarm kept from retention"
    )
    alarm_keep_days: float = Field(
        default=90.0, gt=0, le=3650, description="Days an alarm's clip is kept from retention"
    )
    reconnect_min_s: float = Field(
        default=0.5, ge=0.05, le=60, description="First wait before reconnecting a lost camera"
    )
    reconnect_max_s: float = Field(
        default=4.0, ge=0.1, le=600, description="Longest wait between reconnection attempts"
    )
    offline_after_s: float = Field(
        default=10.0, ge=1, le=3600, description="Seconds without video before a camera is offline"
    )
    rtsp_transport: Literal["tcp", "udp"] = Field(
        default="tcp", description="RTSP: RTP interleaved on the TCP connection, or over UDP"
    )
    ingest_engine: Literal["native", "pyav"] = Field(
        default="native",
        description="rtsp:// H.264/H.265 cameras: our own RTSP/RTP/fMP4 path on one thread "
        "(native), or PyAV (libavformat) per camera; files and other codecs always use PyAV",
    )
    ingest_workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Ingest worker processes the cameras are sharded over (by camera id), each "
        "running the engines for its shard; 0: threads in the platform process",
    )
    open_timeout_s: float = Field(
        default=5.0, ge=0.1, le=120, description="Seconds to wait for a stream to open"
    )
    read_timeout_s: float = Field(
        default=5.0, ge=0.1, le=120, description="Seconds without a packet before a stream is lost"
    )
    max_jump_s: float = Field(
        default=2.0, ge=0.1, le=600, description="Largest media-time step kept in one segment"
    )

    @model_validator(mode="after")
    def _backoff_bounds(self) -> MediaSettings:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s must not exceed reconnect_max_s")
        return self


class PushSettings(_Section):
    enabled: bool = Field(
        default=False, description="Run the RTSP push ingest point (publishers at /push/<name>)"
    )
    host: str = Field(default="127.0.0.1", description="Address the push RTSP server binds")
    port: int = Field(default=8554, ge=0, le=65535, description="RTSP TCP port (0: a free one)")
    udp: bool = Field(default=True, description="Offer RTP over UDP besides TCP interleaved")
    session_timeout_s: float = Field(
        default=60.0, ge=5, le=3600, description="Seconds a UDP session lives without a packet"
    )


class OnvifSettings(_Section):
    events: bool = Field(
        default=True,
        description="Relay motion and tamper events of cameras with an onvif_url to the bus",
    )
    resolve_streams: bool = Field(
        default=True,
        description="Record a camera with an onvif_url but no stream_url from its first profile",
    )
    timeout_s: float = Field(
        default=5.0, ge=0.5, le=60, description="Seconds to wait for one ONVIF request"
    )
    pull_timeout_s: float = Field(
        default=10.0, ge=0.5, le=60, description="Seconds one event long poll (PullMessages) waits"
    )
    reconnect_min_s: float = Field(
        default=1.0,
        ge=0.05,
        le=60,
        description="First wait before resubscribing to a camera, or asking one that did not "
        "give its stream URI again",
    )
    reconnect_max_s: float = Field(
        default=60.0,
        ge=0.1,
        le=3600,
        description="Longest wait between resubscription (or stream URI) attempts",
    )

    @model_validator(mode="after")
    def _backoff_bounds(self) -> OnvifSettings:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s must not exceed reconnect_max_s")
        return self


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level written"
    )
    json_lines: bool = Field(default=True, description="JSON lines (True) or a console format")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAFECITY_", env_nested_delimiter="__", extra="forbid"
    )

    store: StoreSettings = Field(default_factory=StoreSettings, description="Database")
    api: ApiSettings = Field(default_factory=ApiSettings, description="HTTP API and console")
    security: SecuritySettings = Field(description="Keys, tokens and sign-in limits")
    receiver: ReceiverSettings = Field(
        default_factory=ReceiverSettings, description="SIA DC-09 alarm receiver"
    )
    media: MediaSettings = Field(
        default_factory=MediaSettings, description="Recording, segment index and retention"
    )
    push: PushSettings = Field(
        default_factory=PushSettings, description="RTSP push ingest point (ffmpeg -f rtsp)"
    )
    onvif: OnvifSettings = Field(
        default_factory=OnvifSettings, description="ONVIF cameras: events, stream URIs, PTZ"
    )
    log: LogSettings = Field(default_factory=LogSettings, description="Structured logging")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 (signature fixed by pydantic-settings)
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 (no .env is read)
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 (no secret dir)
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file (passed as init kwargs); no .env file is read.
        return env_settings, init_settings


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key, by its dotted path."""


def _load_with_lines(text: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[tuple[str, ...], int] = {}

        def walk(current: yaml.Node | None, path: tuple[str, ...]) -> None:
            if isinstance(current, yaml.MappingNode):
                for key, value in current.value:
                    key_path = (*path, str(key.value))
                    lines[key_path] = key.start_mark.line + 1
                    walk(value, key_path)
            elif isinstance(current, yaml.SequenceNode):
                for index, item in enumerate(current.value):
                    lines[(*path, str(index))] = item.start_mark.line + 1
                    walk(item, (*path, str(index)))

        walk(node, ())
        data = loader.construct_document(node) if node is not None else {}
    finally:
        loader.dispose()
    return data, lines


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read `path` (YAML) if given, overlay SAFECITY_* variables and `overrides`, validate."""
    data: dict[str, Any] = {}
    lines: dict[tuple[str, ...], int] = {}
    where = str(path) if path else "<environment>"
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
        try:
            loaded, lines = _load_with_lines(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}{line}: not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}:1: the top level must be a mapping of sections")
        data = loaded
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(data.get(section), dict):
            data[section] = {**data[section], **values}
        else:
            data[section] = values
    try:
        return Settings(**data)
    except SettingsError as exc:  # a SAFECITY_<SECTION> variable that is not valid JSON
        raise ConfigError(f"<environment>: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(_describe(exc, lines, where)) from exc


def _describe(exc: ValidationError, lines: dict[tuple[str, ...], int], where: str) -> str:
    """One line per problem: where the bad value came from, the field, and why."""
    from_env = EnvSettingsSource(Settings)()  # the environment wins: blame it, not the file
    problems = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        field = ".".join(loc) or "(root)"
        if loc and _provides(from_env, loc):
            at = f"SAFECITY_{'__'.join(loc).upper()} (environment)"
        else:
            line_no = _nearest_line(lines, loc)
            at = f"{where}:{line_no}" if line_no else where
        problems.append(f"{at}: {field}: {error['msg']}")
    return "\n".join(problems)


def _provides(values: Any, loc: tuple[str, ...]) -> bool:
    for part in loc:
        if not isinstance(values, dict) or part not in values:
            return False
        values = values[part]
    return True


def _nearest_line(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int | None:
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None
