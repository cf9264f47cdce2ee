"""MQTT brokers: the embedded amqtt broker for a one-command start, and Mosquitto.

Production halls run Mosquitto (see docs/deployment.md); `mosquitto_config` writes the
project's config for it, with `set_tcp_nodelay true`. Tests start Mosquitto through
`MosquittoProcess` on a free port with that config.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger("hallserver.broker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


class EmbeddedBroker:
    """amqtt in a background thread with its own event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host, self.port = host, port or free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="amqtt", daemon=True)
        self._broker = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _run(self) -> None:
        from amqtt.broker import Broker  # amqtt: only when the embedded broker is asked for
        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # anonymous access on the bound interface, no $SYS topics and no packet logging
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        try:
            self._broker = Broker(config, loop=self._loop)
            self._loop.run_until_complete(self._broker.start())
        except BaseException as exc:   # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> EmbeddedBroker:
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        self._thread.start()
        self._ready.wait(15)
        if self._error is not None:
            raise RuntimeError(f"the embedded broker did not start: {self._error}")
        if not self._ready.is_set():
            raise TimeoutError("the embedded broker did not start within 15 s")
        return self

    def stop(self) -> None:
        if self._broker is not None and self._loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            try:
                fut.result(5)
            except Exception:
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def mosquitto_config(port: int, *, bind: str = "127.0.0.1", persistence_dir: str | None = None) -> str:
    """The project's Mosquitto config (anonymous access; issue 11 adds passwords and ACLs)."""
    lines = [
        "# written by govhall (hallserver.broker.mosquitto_config)",
        "per_listener_settings false",
        f"listener {port} {bind}",
        "allow_anonymous true",
        "set_tcp_nodelay true",
        "max_packet_size 65536",
        "max_queued_messages 10000",
        "persistent_client_expiration 1d",
    ]
    if persistence_dir:
        lines += ["persistence true", f"persistence_location {persistence_dir.rstrip('/')}/"]
    else:
        lines += ["persistence false"]
    return "\n".join(lines) + "\n"


class MosquittoProcess:
    """A Mosquitto broker started from the `mosquitto` binary on a free port."""

    def __init__(self, port: int | None = None, workdir: str | None = None, conf_file: str | None = None) -> None:
        """`conf_file`: a Mosquitto config to run as it is (its listener must be `port`);
        without it, the project's open development config on `port`."""
        self.conf_file = conf_file
        self.binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if self.binary is None:
            raise FileNotFoundError("the mosquitto binary is not installed (Debian package mosquitto)")
        self.port = port or free_port()
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="govhall-mosquitto-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> MosquittoProcess:
        if self.conf_file is not None:
            conf = Path(self.conf_file)
        else:
            conf = self.workdir / "mosquitto.conf"
            conf.write_text(mosquitto_config(self.port))
        self.log = open(self.workdir / "mosquitto.log", "wb")
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", self.port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"mosquitto did not start; see {self.workdir / 'mosquitto.log'}") from None
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if getattr(self, "log", None):
            self.log.close()
