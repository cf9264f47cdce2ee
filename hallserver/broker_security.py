"""The broker's side of security: one user per device (its id, its own password), a password
file made with `mosquitto_passwd`, and an ACL that gives each device only the topics of its
role. The hall server checks the role of every command again (defence in depth), so a broker
misconfiguration alone opens no hole. docs/security.md explains the model.

    hall broker-config --config hall.toml --out /etc/mosquitto/govhall [--tls-cert … --tls-key … --tls-ca …]
"""
from __future__ import annotations

import grp
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from govhall.config import SERVER_ACCOUNT, Config, ConfigError, device_credentials  # noqa: F401 - re-exported
from govhall.contract import Role, Topics

# what each role may read, besides its own reply topic; every role writes only its own cmd topic
READS: dict[Role, tuple[str, ...]] = {
    Role.KIOSK: ("state/queue", "state/server", "state/config"),
    Role.COUNTER: ("state/#", "event/#"),
    Role.TABLET: ("state/window/{window}", "state/server", "state/config", "event/service.completed",
                  "tablet/{window}/rating"),      # its window's 评价码: no other role reads tablet/
    Role.LED_BRIDGE: ("state/window/+", "state/server", "state/config"),
    Role.SCREEN: ("state/#", "event/#"),
    Role.KEYPAD_BRIDGE: ("state/window/+", "state/server", "state/config"),
    Role.ATTENDANCE_TERMINAL: ("state/server", "state/config"),
}


def acl_text(config: Config) -> str:
    topics = Topics(config.hall.id)
    lines = ["# written by govhall (hall broker-config): one user per device, its role's topics only", ""]
    server_user = config.broker.username or SERVER_ACCOUNT
    lines += [f"user {server_user}", f"topic readwrite {topics.base}/#", ""]
    for d in config.devices:
        if d.role == Role.WEB:
            continue
        lines += [f"user {d.id}", f"topic write {topics.command(d.id)}", f"topic write {topics.presence(d.id)}",
                  f"topic read {topics.reply(d.id)}"]
        for pattern in READS[d.role]:
            lines.append(f"topic read {topics.base}/{pattern.format(window=d.window or '+')}")
        lines.append("")
    return "\n".join(lines)


def broker_conf_text(out_dir: Path, *, port: int = 1883, bind: str = "0.0.0.0", persistence_dir: str | None = None,
                     tls: tuple[str, str, str] | None = None, tls_port: int = 8883, tls_bind: str = "0.0.0.0",
                     run_as: str | None = None) -> str:
    lines = ["# written by govhall (hall broker-config)", "per_listener_settings false",
             *([f"user {run_as}"] if run_as else []),
             f"listener {port} {bind}", "allow_anonymous false", f"password_file {out_dir / 'passwd'}",
             f"acl_file {out_dir / 'acl'}",
             "use_username_as_clientid true",     # a client id is its account: nobody takes over another's
             "set_tcp_nodelay true",
             "max_packet_size 1048576",           # the retained hall.config of a hall with a large catalogue
             "max_queued_messages 10000", "persistent_client_expiration 1d"]
    if tls is not None:
        cert, key, ca = tls
        lines += [f"listener {tls_port} {tls_bind}", f"certfile {cert}", f"keyfile {key}", f"cafile {ca}",
                  "tls_version tlsv1.2"]
    if persistence_dir:
        lines += ["persistence true", f"persistence_location {persistence_dir.rstrip('/')}/"]
    else:
        lines += ["persistence false"]
    return "\n".join(lines) + "\n"


def readable_by_mosquitto(*files: Path) -> None:
    """Owner read/write, group mosquitto read (the broker drops to that user), nobody else."""
    try:
        gid = grp.getgrnam("mosquitto").gr_gid
    except KeyError:
        gid = None
    for f in files:
        f.chmod(0o640)
        if gid is not None and os.geteuid() == 0:
            os.chown(f, -1, gid)


def write_broker_accounts(config: Config, out_dir: str | Path) -> None:
    """The broker's `passwd` (hashed by mosquitto_passwd) and `acl` in `out_dir`, each swapped in
    whole (Mosquitto rereads them on SIGHUP: it never sees half a file). The dashboard calls this
    after a device change when `[broker] config_dir` is set; `hall broker-config` at setup."""
    out = Path(out_dir).resolve()
    missing = [d.id for d in config.devices if d.role != Role.WEB and not d.password]
    if not config.broker.username or not config.broker.password:
        missing.insert(0, "[broker] username/password (the hall server's own account)")
    if missing:
        raise ConfigError("hall broker-config: give every device its own password ([[devices]] password): "
                          + ", ".join(missing))
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise ConfigError("hall broker-config: mosquitto_passwd is needed (Debian package mosquitto)")
    out.mkdir(parents=True, exist_ok=True)
    accounts = [(config.broker.username, config.broker.password)] + \
        [(d.id, d.password) for d in config.devices if d.role != Role.WEB]
    fd, passwd_tmp = tempfile.mkstemp(prefix=".passwd-", dir=out)       # 0600: never readable by others
    fd_acl, acl_tmp = tempfile.mkstemp(prefix=".acl-", dir=out)
    try:
        with os.fdopen(fd_acl, "w") as f:                                # both descriptors closed first
            f.write(acl_text(config))
        with os.fdopen(fd, "w") as f:
            f.writelines(f"{user}:{password}\n" for user, password in accounts)
        subprocess.run([tool, "-U", passwd_tmp], check=True, capture_output=True, timeout=30)   # hashed in place
        readable_by_mosquitto(Path(passwd_tmp), Path(acl_tmp))
        os.replace(passwd_tmp, out / "passwd")
        os.replace(acl_tmp, out / "acl")
    finally:
        for tmp in (passwd_tmp, acl_tmp):
            if os.path.exists(tmp):
                os.unlink(tmp)


def write_broker_config(config: Config, out_dir: str | Path, **options) -> Path:   # noqa: ANN003
    """mosquitto.conf, acl and passwd (hashed by mosquitto_passwd) in `out_dir`."""
    out = Path(out_dir).resolve()
    write_broker_accounts(config, out)
    conf = out / "mosquitto.conf"
    conf.write_text(broker_conf_text(out, **options))
    return conf
