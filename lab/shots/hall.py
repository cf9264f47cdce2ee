"""What every `--screenshots DIR` command needs: a small hall running inside the process
(embedded broker, hall server on a temporary SQLite file), devices connected to it, and a way
to let Qt draw before a picture is taken."""
from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from govhall.config import Config
from govhall.link import DeviceLink
from hallserver.broker import EmbeddedBroker, free_port
from hallserver.server import HallServer


def settle(seconds: float = 0.4) -> None:
    """Let Qt deliver what the network brought and draw it."""
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only
    app = QApplication.instance()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


@dataclass
class SmallHall:
    config: Config
    server: object
    broker_url: str
    links: dict = field(default_factory=dict)

    def device(self, device_id: str):   # noqa: ANN201 - a govhall.link.DeviceLink
        if device_id not in self.links:
            self.links[device_id] = DeviceLink(self.config.hall.id, device_id, self.broker_url).connect()
        return self.links[device_id]


@contextmanager
def small_hall(config: Config, out_dir: str | Path, http: bool = False) -> Iterator[SmallHall]:
    """A hall for screenshots; everything is stopped and removed at the end."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    QApplication.instance() or QApplication([])
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker().start()
    tmp = tempfile.TemporaryDirectory(prefix="govhall-shots-")
    server = HallServer(config, broker_url=broker.url, database_url=f"sqlite:///{tmp.name}/hall.db",
                        http=("127.0.0.1", free_port()) if http else None).start()
    hall = SmallHall(config, server, broker.url)
    try:
        yield hall
    finally:
        for link in hall.links.values():
            link.close()
        server.stop()
        broker.stop()
        tmp.cleanup()
