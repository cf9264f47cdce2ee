"""A device's own file: what one kiosk, counter, tablet, screen or bridge holds, and nothing else.

`hall device-config --config hall.toml --device kiosk-1 --out kiosk-1.toml` writes it:

    [device]                       # who this device is
    hall = "demo"
    id = "kiosk-1"
    role = "kiosk"
    window = "w1"                  # counters and tablets
    printer = "/dev/usb/lp0"       # a kiosk's own hardware, where it has some

    [broker]                       # its own broker account, and the CA it checks the broker against
    url = "mqtts://hall-server.lan:8883"
    username = "kiosk-1"
    password = "…"
    ca_pem = "-----BEGIN CERTIFICATE-----…"

The rest of the hall's settings (categories, windows, the ticket's words …) the device reads
from the server when it starts: the retained `hall.config` (govhall/v1/{hall}/state/config),
which holds no secret (public_hall_config). So a stolen kiosk gives away one kiosk's account —
the broker lets it write only its own command topic — and no other password or hash.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from govhall import contract as c
from govhall.config import (
    BrokerUrl,
    Config,
    ConfigError,
    Name,
    _key_path,
    broker_ca_pem,
    parse_config,
    read_text_file,
)
from govhall.contract import Role
from govhall.link import is_loopback, is_tls_url, new_client, parse_broker_url

log = logging.getLogger("govhall.device_file")

HALL_CONFIG_WAIT_S = 15.0


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceIdentity(_Section):
    hall: Name
    id: Name
    role: Role
    window: Name | None = None
    printer: str | None = Field(default=None, max_length=200)
    id_reader: str | None = Field(default=None, max_length=200)


class DeviceBroker(_Section):
    url: BrokerUrl
    username: Name
    password: str = Field(min_length=12, max_length=128)
    ca_pem: str | None = Field(default=None, max_length=20000, pattern=r"^-----BEGIN CERTIFICATE-----")


class DeviceFile(_Section):
    device: DeviceIdentity
    broker: DeviceBroker


def is_device_file(path: str | Path) -> bool:
    """A device's own file (a [device] table, no [hall]) rather than a whole hall.toml."""
    try:
        data = tomllib.loads(read_text_file(Path(path)))
    except (ConfigError, tomllib.TOMLDecodeError):
        return False                   # load_config says what is wrong with it
    return "device" in data and "hall" not in data


def load_device_file(path: str | Path) -> DeviceFile:
    path = Path(path)
    try:
        data = tomllib.loads(read_text_file(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return DeviceFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(f"{path}: {_key_path(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                                    for e in exc.errors())) from None


# ---------------------------------------------------------------------------------------- the server's side
# the sections devices see (a section added to Config later stays on the server until named here);
# broker, database and managers never
PUBLIC_SECTIONS = ("hall", "http", "rules", "hours", "appointments", "led", "keypad", "ticket", "kiosk", "counter",
                   "ratings", "screen", "calendar", "cases", "matters", "shifts", "posts", "attendance", "categories",
                   "windows", "staff", "devices")
LEFT_OUT = {"attendance": {"posts_csv"}, "cases": {"catalogue"}, "calendar": {"file"}, "ratings": {"secret"},
            "http": {"tls_cert", "tls_key"}, "staff": {"__all__": {"password_hash"}},
            "devices": {"__all__": {"password", "printer", "id_reader"}}}   # a device's own hardware: in its file


def public_hall_config(config: Config) -> dict[str, Any]:
    """hall.toml as devices may see it: every secret left out — the broker's and the database's
    accounts, device passwords, staff and manager password hashes, the ratings' key, the HTTPS key,
    any user:password in a URL — and the file names already read in (catalogue, posts, calendar)."""
    data = config.model_dump(mode="json", include=set(PUBLIC_SECTIONS), exclude=LEFT_OUT)
    data["http"]["public_url"] = _without_userinfo(data["http"]["public_url"])
    for section in ("led", "keypad"):
        data[section]["port"] = _without_userinfo(data[section]["port"])
    for window in data["windows"]:
        window["led_port"] = _without_userinfo(window["led_port"])
    return data


def _without_userinfo(url: str | None) -> str | None:
    """A URL without a user name or password in it (tcp://user:pw@host:9100 → tcp://host:9100)."""
    if not url or "@" not in url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def check_device_url(broker_url: str, *, allow_plain: bool = False) -> None:
    """A ConfigError unless devices would reach the broker over TLS (or on this machine)."""
    try:
        host, _ = parse_broker_url(broker_url)
    except ValueError as exc:
        raise ConfigError(f"hall device-config: {exc}") from None
    if not is_tls_url(broker_url) and not is_loopback(host) and not allow_plain:
        raise ConfigError(f"hall device-config: {broker_url} is not encrypted: the device's password and the staff's "
                          "passwords would cross the hall's network in clear. Give the broker a TLS listener "
                          "(hall broker-config --tls-generate) and an mqtts:// URL ([broker] device_url), or "
                          "--allow-plain on a network of its own")


def device_url_of(config: Config) -> str | None:
    """How devices reach the broker: [broker] device_url (never the server's own URL, which is
    often 127.0.0.1: on a device that is the device itself)."""
    return config.broker.device_url


def device_file_text(config: Config, device_id: str, broker_url: str, *, allow_plain: bool = False,
                     system_ca: bool = False) -> str:
    """The TOML of one device's own file (hall device-config)."""
    device = config.device(device_id)
    if device is None or device.role == Role.WEB:
        raise ConfigError(f"hall device-config: no device {device_id!r} in [[devices]]")
    if not device.password:
        raise ConfigError(f"hall device-config: {device_id} has no password yet: generate one in the dashboard "
                          "(设置 → 设备 → 生成密码) or set [[devices]] password")
    check_device_url(broker_url, allow_plain=allow_plain)
    ca_pem = broker_ca_pem(config) if is_tls_url(broker_url) else None
    if is_tls_url(broker_url) and ca_pem is None and not system_ca:
        raise ConfigError("hall device-config: no CA for the device to check the broker against: set [broker] ca "
                          "(hall broker-config --tls-generate made tls/ca.pem), or --system-ca for a broker whose "
                          "certificate a public CA signed")
    identity = {"hall": config.hall.id, "id": device.id, "role": device.role.value}
    for key in ("window", "printer", "id_reader"):
        if getattr(device, key):
            identity[key] = getattr(device, key)
    account = {"url": broker_url, "username": device.id, "password": device.password,
               **({"ca_pem": ca_pem} if ca_pem else {})}
    DeviceFile.model_validate({"device": identity, "broker": account})          # what we write, we can read
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"govhall: device {device.id} of hall {config.hall.id} (hall device-config). "
                            "Its own broker account only: keep it 0600, owned by the device's user."))
    doc.add("device", identity)
    broker = tomlkit.table()
    for key, value in account.items():
        broker.add(key, tomlkit.string(value, multiline=key == "ca_pem") if key == "ca_pem" else value)
    doc.add("broker", broker)
    return tomlkit.dumps(doc)


def write_device_file(path: str | Path, text: str) -> None:
    """A new file of our own (mkstemp: 0600, never one someone else made or linked) before a byte
    of the password is in it, then swapped in whole."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------------- the device's side
def config_from_server(device: DeviceFile, data: dict[str, Any]) -> Config:
    """The Config a device program runs with: the server's public settings, this device's own
    account and hardware from its file."""
    config = parse_config(data, "<hall.config from the hall server>", staff_passwords=False)   # the server checks them
    if config.hall.id != device.device.hall:
        raise ConfigError(f"the hall server speaks for hall {config.hall.id!r}, this device belongs to "
                          f"{device.device.hall!r}")
    me = config.device(device.device.id)
    if me is None or me.role != device.device.role:
        raise ConfigError(f"the hall's settings have no {device.device.role.value} {device.device.id!r} "
                          "(removed in the dashboard?)")
    me.password = device.broker.password
    for key in ("window", "printer", "id_reader"):
        if getattr(device.device, key):
            setattr(me, key, getattr(device.device, key))
    config.broker.url = device.broker.url
    config.broker.username, config.broker.password = device.broker.username, device.broker.password
    config.broker.ca_pem = device.broker.ca_pem
    return config


def fetch_hall_config(device: DeviceFile, timeout: float = HALL_CONFIG_WAIT_S) -> Config:
    """Connect with the device's own account, take the retained hall.config, disconnect. A plain
    client, not a DeviceLink: no presence is said (a counter going "offline" would count as 离岗)."""
    host, port = parse_broker_url(device.broker.url)
    client = new_client(f"{device.device.hall}-{device.device.id}", username=device.broker.username,
                        password=device.broker.password, tls=is_tls_url(device.broker.url),
                        ca_pem=device.broker.ca_pem)
    topic = c.Topics(device.device.hall).hall_config
    got: list[dict[str, Any]] = []
    arrived, refused = threading.Event(), []

    def on_connect(client, _userdata, _flags, reason_code, _props) -> None:   # noqa: ANN001
        if reason_code.is_failure:
            refused.append(str(reason_code))
            arrived.set()
        else:
            client.subscribe(topic, qos=1)

    def on_message(_client, _userdata, msg) -> None:   # noqa: ANN001
        try:
            message = json.loads(msg.payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            log.warning("%s: ignored a hall.config that is not JSON", device.device.id)
            return
        if isinstance(message, dict) and message.get("type") == "hall.config" and isinstance(message.get("config"),
                                                                                           dict):
            got.append(message["config"])
            arrived.set()
    client.on_connect, client.on_message = on_connect, on_message
    client.connect_async(host, port, keepalive=15)
    client.loop_start()
    try:
        if not arrived.wait(timeout):
            tls = " over TLS (check the CA and the host name in the broker's certificate)" \
                if is_tls_url(device.broker.url) else ""
            raise ConfigError(f"{device.device.id}: no hall settings from {host}:{port}{tls} within {timeout:.0f} s "
                              f"({topic}): is the broker reachable and the hall server running?")
        if refused:
            raise ConfigError(f"{device.device.id}: the broker refused the device's account: {refused[0]}")
        return config_from_server(device, got[-1])
    finally:
        client.disconnect()
        client.loop_stop()


def hall_config_message(config: Config) -> bytes:
    """The retained hall.config payload (the server publishes it on every start and settings change)."""
    return json.dumps(c.HallConfigState(config=public_hall_config(config)).model_dump(mode="json"),
                      ensure_ascii=False).encode("utf-8")
