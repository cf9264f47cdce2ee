"""The hall's own certificates for the broker's TLS listener, made with the `openssl` command.

    hall broker-config --config hall.toml --out /etc/mosquitto/govhall --tls-generate --tls-host hall-server.lan

makes
- in `{out}/../govhall-ca/` (root only, 0700; `--tls-ca-dir` puts it elsewhere): `ca.key`, the
  hall CA's private key, never in the broker's folder and never copied anywhere;
- in `{out}/tls/` (group mosquitto, 0750): `ca.pem`, the hall's own CA (10 years): every
  device's file carries it, and devices trust the broker only if its certificate is signed by
  it; `server.pem` / `server.key` (0640), the broker's certificate (397 days, the longest
  browsers accept; the defaults are ours) for the host names and addresses devices use.

Rotation: run the same command again before `server.pem` runs out (`hall broker-config` prints
its end date): the CA is kept, a new server certificate is issued, Mosquitto takes it on a
restart, and the devices need nothing new. `--tls-new-ca` makes a new CA too (when ca.key may
have leaked): then every device needs its file again (`hall device-config`).
"""
from __future__ import annotations

import grp
import ipaddress
import os
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from govhall.config import ConfigError

CA_DAYS = 3650
SERVER_DAYS = 397


def _openssl(*args: str) -> str:
    tool = shutil.which("openssl")
    if tool is None:
        raise ConfigError("hall broker-config --tls-generate: the openssl command is needed (Debian package openssl)")
    run = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise ConfigError(f"openssl {args[0]} failed: {run.stderr.strip()[:400]}")
    return run.stdout


HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
IP_ADDRESS = re.compile(r"^[0-9A-Fa-f:.]{2,45}$")      # no scope id (%…), no other character


def _subject_alt_names(hosts: list[str]) -> str:
    names = []
    for host in hosts:
        if IP_ADDRESS.match(host):
            try:
                names.append(f"IP:{ipaddress.ip_address(host)}")
                continue
            except ValueError:
                pass
        if not HOST_NAME.match(host):
            raise ConfigError(f"--tls-host {host!r}: not a host name or address")
        names.append(f"DNS:{host}")
    return ",".join(names)


def _group_mosquitto(path: Path, mode: int) -> None:
    """The broker (which drops to user mosquitto) may read it; nobody else but root."""
    os.chmod(path, mode)
    try:
        gid = grp.getgrnam("mosquitto").gr_gid
    except KeyError:
        return
    if os.geteuid() == 0:
        os.chown(path, 0, gid)


def make_certificates(out_dir: str | Path, hall_id: str, hosts: list[str], *, new_ca: bool = False,
                      days: int = SERVER_DAYS, ca_dir: str | Path | None = None) -> tuple[str, str, str]:
    """(server.pem, server.key, ca.pem) in `{out_dir}/tls`, the CA kept unless `new_ca` or missing;
    the CA's key in `ca_dir` (default: `govhall-ca` beside `out_dir`)."""
    if not hosts:
        raise ConfigError("hall broker-config --tls-generate: give the broker's host name(s) with --tls-host")
    names = _subject_alt_names(hosts)
    out = Path(out_dir).resolve()
    folder, private = out / "tls", Path(ca_dir).resolve() if ca_dir else out.parent / "govhall-ca"
    for made, mode in ((folder, 0o750), (private, 0o700)):
        made.mkdir(parents=True, exist_ok=True)
        os.chmod(made, mode)
    _group_mosquitto(folder, 0o750)
    ca_pem, ca_key = folder / "ca.pem", private / "ca.key"
    if new_ca or not (ca_pem.exists() and ca_key.exists()):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", str(ca_key), "-out", str(ca_pem), "-days", str(CA_DAYS),
                 "-subj", f"/O=govhall/CN=govhall {hall_id} hall CA",
                 "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        os.chmod(ca_key, 0o600)
    server_pem, server_key = folder / "server.pem", folder / "server.key"
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        csr, ext = Path(tmp) / "server.csr", Path(tmp) / "server.ext"
        new_key = Path(tmp) / "server.key"
        ext.write_text(f"subjectAltName={names}\nextendedKeyUsage=serverAuth\n"
                       "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", str(new_key), "-out", str(csr), "-subj", f"/O=govhall/CN={hosts[0]}")
        new_pem = Path(tmp) / "server.pem"
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key), "-CAcreateserial",
                 "-CAserial", str(private / "ca.srl"), "-out", str(new_pem), "-days", str(days),
                 "-extfile", str(ext))
        _group_mosquitto(new_key, 0o640)
        os.replace(new_key, server_key)          # key and certificate swapped in whole
        os.replace(new_pem, server_pem)
    os.chmod(ca_pem, 0o644)
    os.chmod(server_pem, 0o644)
    return str(server_pem), str(server_key), str(ca_pem)


def certificate_end(pem_file: str | Path) -> datetime:
    """When a certificate runs out (its notAfter)."""
    out = _openssl("x509", "-in", str(pem_file), "-noout", "-enddate").strip()
    return datetime.strptime(out.removeprefix("notAfter="), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
