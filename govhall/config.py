"""The hall's configuration: one TOML file, validated with pydantic.

A bad file is refused with the file, the key and the reason, e.g.
``hall.toml: windows[2].categories: unknown category 'Z'``.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from govhall.contract import NAME_PATTERN, Role

Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HallConfig(_Section):
    id: Name
    name: str = Field(min_length=1, max_length=64)
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class BrokerConfig(_Section):
    url: str = Field(default="embedded",
                     description='"embedded" for the built-in amqtt broker, or mqtt://host:port')
    username: str | None = None
    password: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value != "embedded" and not value.startswith("mqtt://"):
            raise ValueError('must be "embedded" or mqtt://host:port')
        return value


class DatabaseConfig(_Section):
    url: str = "sqlite:///hall.db"


class HttpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class RulesConfig(_Section):
    max_recalls: int = Field(default=2, ge=0, le=10, description="重呼 at most this many times")


class CategoryConfig(_Section):
    id: Name
    name: str = Field(min_length=1, max_length=32)
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$", description="letter(s) before the number: A001")


class WindowConfig(_Section):
    id: Name
    number: int = Field(ge=1, le=999, description="the number on the window sign")
    name: str = Field(default="", max_length=32)
    categories: list[Name] = Field(min_length=1, description="served in this order of preference")
    led_address: int | None = Field(default=None, ge=1, le=254)

    @model_validator(mode="after")
    def _default_name(self) -> "WindowConfig":
        if not self.name:
            self.name = f"{self.number}号窗口"
        return self


class StaffConfig(_Section):
    id: Name
    name: str = Field(min_length=1, max_length=32)


class DeviceConfig(_Section):
    id: Name
    role: Role
    window: Name | None = Field(default=None, description="counters and tablets belong to one window")


class LedConfig(_Section):
    port: str = Field(default="loop://", description="pyserial URL or device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=9600, ge=1200, le=921600)


class Config(_Section):
    hall: HallConfig
    broker: BrokerConfig = BrokerConfig()
    database: DatabaseConfig = DatabaseConfig()
    http: HttpConfig = HttpConfig()
    rules: RulesConfig = RulesConfig()
    led: LedConfig = LedConfig()
    categories: list[CategoryConfig] = Field(min_length=1)
    windows: list[WindowConfig] = Field(min_length=1)
    staff: list[StaffConfig] = Field(default_factory=list)
    devices: list[DeviceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_check(self) -> "Config":
        _unique("categories", [c.id for c in self.categories])
        _unique("categories prefix", [c.prefix for c in self.categories])
        _unique("windows", [w.id for w in self.windows])
        _unique("windows number", [w.number for w in self.windows])
        _unique("staff", [s.id for s in self.staff])
        _unique("devices", [d.id for d in self.devices])
        known = {c.id for c in self.categories}
        for w in self.windows:
            missing = [c for c in w.categories if c not in known]
            if missing:
                raise ValueError(f"window {w.id!r} serves unknown category {missing[0]!r}")
        windows = {w.id for w in self.windows}
        for d in self.devices:
            if d.window is not None and d.window not in windows:
                raise ValueError(f"device {d.id!r} belongs to unknown window {d.window!r}")
            if d.role in (Role.COUNTER, Role.TABLET) and d.window is None:
                raise ValueError(f"device {d.id!r} is a {d.role.value} and needs a window")
        return self

    # lookups used everywhere
    def category(self, category_id: str) -> CategoryConfig | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def window(self, window_id: str) -> WindowConfig | None:
        return next((w for w in self.windows if w.id == window_id), None)

    def device(self, device_id: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.id == device_id), None)


def _unique(what: str, values: list) -> None:
    seen = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{what}: {v!r} appears twice")
        seen.add(v)


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file, key and reason."""


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_config(data: dict, source: str = "<config>") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {_key_path(err['loc'])}: {msg}")
        raise ConfigError("\n".join(lines)) from None


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse_config(data, str(path))
    url = config.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        # a relative SQLite path is relative to the config file, not to the current directory
        config.database.url = "sqlite:///" + str((path.parent / url.removeprefix("sqlite:///")).resolve())
    return config
