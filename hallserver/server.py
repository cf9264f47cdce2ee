"""The hall server process: store + command processor + MQTT bus (+ the web, when asked)."""
from __future__ import annotations

import logging

from govhall.config import Config
from hallserver.bus import ServerBus
from hallserver.domain.clock import Clock, SystemClock
from hallserver.processor import CommandProcessor
from hallserver.store import Store, redact_url

log = logging.getLogger("hallserver")


class HallServer:
    def __init__(self, config: Config, *, broker_url: str, clock: Clock | None = None,
                 database_url: str | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock(config.hall.timezone)
        self.database_url = database_url or config.database.url
        self.broker_url = broker_url
        self.store = Store(self.database_url)
        self.processor: CommandProcessor | None = None
        self.bus: ServerBus | None = None

    def start(self) -> HallServer:
        self.store.migrate()
        self.processor = CommandProcessor(self.config, self.store, self.clock)
        self.bus = ServerBus(self.processor, self.broker_url,
                             username=self.config.broker.username, password=self.config.broker.password)
        self.bus.start()
        log.info("hall %s serving on %s with %s", self.config.hall.id, self.broker_url,
                 redact_url(self.database_url))
        return self

    def stop(self) -> None:
        if self.bus is not None:
            self.bus.stop()
        self.store.close()
