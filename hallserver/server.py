"""The hall server process: store + command processor + MQTT bus + the manager dashboard."""
from __future__ import annotations

import logging
import os
import subprocess

from govhall.config import Config, ConfigError, broker_ca_pem
from govhall.link import is_tls_url
from hallserver.broker_security import write_broker_accounts
from hallserver.bus import ServerBus
from hallserver.domain.clock import Clock, SteadyClock, SystemClock
from hallserver.processor import SUMMARY_EVERY_S, CommandProcessor
from hallserver.store import Store, redact_url
from hallserver.web.live import LiveView

log = logging.getLogger("hallserver")


def rating_secret(config: Config) -> str | None:
    """The ratings' hash-chain key: GOVHALL_RATINGS_SECRET, else ratings.secret."""
    return os.environ.get("GOVHALL_RATINGS_SECRET") or config.ratings.secret


class HallServer:
    def __init__(self, config: Config, *, broker_url: str, clock: Clock | None = None,
                 database_url: str | None = None, http: tuple[str, int] | None = None,
                 config_path: str | None = None) -> None:
        """`http` is (host, port) for the dashboard, or None for no web side; `config_path` is the
        hall.toml the config came from (the dashboard's settings are written there)."""
        self.config = config
        self.config_path = config_path
        self.dashboard = None             # the web side's Dashboard, when there is one
        self.clock = clock or SteadyClock(SystemClock(config.hall.timezone))   # never backwards
        self.database_url = database_url or config.database.url
        self.broker_url = broker_url
        self.http = http
        self.store = Store(self.database_url)
        self.store.rating_secret = rating_secret(config)
        self.processor: CommandProcessor | None = None
        self.bus: ServerBus | None = None
        self.view: LiveView | None = None
        self.web = None

    def start(self) -> HallServer:
        self.store.migrate()
        self.store.checkpoint_in_background()
        self.processor = CommandProcessor(self.config, self.store, self.clock, summary_every_s=SUMMARY_EVERY_S)
        self.view = LiveView(self.processor.topics, self.clock)
        self.processor.listeners.append(self.view.on_outgoing)
        self.processor.presence_listeners.append(self.view.on_presence)
        self.view.seed_device_alerts([
            {"device": a.device, "component": a.component, "condition": a.condition, "detail": a.detail,
             "open": True, "since": a.since.astimezone(self.clock.tz).isoformat()}
            for a in self.processor.devices.open_alerts()])
        if self.http is not None:
            from hallserver.web.app import WebServer, create_app  # loads uvicorn: only when used
            from hallserver.web.dashboard import Dashboard
            dashboard = Dashboard(self.config.hall.name, self.view, self.store, self.clock,
                                  {x.id: x.name for x in self.config.categories})
            from hardware.printer import TicketTemplate
            dashboard.ticket_template = TicketTemplate(**self.config.ticket.model_dump())
            dashboard.config = self.config
            dashboard.config_path = self.config_path
            self.dashboard = dashboard
            app = create_app(dashboard, submit=lambda payload, device=None: self.bus.submit(payload, device=device),
                             query=lambda fn: self.bus.query(fn), apply_config=self.apply_config)
            tls = (self.config.http.tls_cert, self.config.http.tls_key) if self.config.http.tls_cert else None
            self.web = WebServer(app, *self.http, tls=tls).start()
            if self.processor.public_url is None:
                self.processor.public_url = self.web.url
            log.info("dashboard at %s", self.web.url)
        self.bus = ServerBus(self.processor, self.broker_url,
                             username=self.config.broker.username, password=self.config.broker.password,
                             ca_pem=broker_ca_pem(self.config) if is_tls_url(self.broker_url) else None)
        self.bus.start()
        log.info("hall %s serving on %s with %s", self.config.hall.id, self.broker_url,
                 redact_url(self.database_url))
        return self

    def apply_config(self, config: Config) -> dict[str, str]:
        """New settings (saved from the dashboard into hall.toml) taken up while running: the
        processor rebuilds its state under them on the writer thread and publishes every
        retained state again; the dashboard shows them. When the devices changed and
        `[broker] config_dir` is set, the broker's passwd and acl there are rewritten (Mosquitto
        takes them on its reload: deploy/systemd/govhall-broker-reload.path). Broker, database
        and HTTP settings are not among them (the dashboard does not edit those): they need a
        restart. Returns what happened to the broker's files: {"broker": ...}."""
        if self.bus is None:
            raise RuntimeError("the server is not running")
        broker = "unchanged"                 # the broker's files follow the saved file, applied or not
        if [d.model_dump() for d in config.devices] != [d.model_dump() for d in self.config.devices]:
            broker = self.write_broker_accounts(config)
        self.bus.apply(lambda processor: processor.apply_config(config))
        self.config = config
        if self.dashboard is not None:
            from hardware.printer import TicketTemplate
            self.dashboard.config = config
            self.dashboard.hall_name = config.hall.name
            self.dashboard.category_names = {x.id: x.name for x in config.categories}
            self.dashboard.ticket_template = TicketTemplate(**config.ticket.model_dump())
        return {"broker": broker}

    @staticmethod
    def write_broker_accounts(config: Config) -> str:
        """"updated", "not_configured" (no [broker] config_dir: run hall broker-config), or why not."""
        if not config.broker.config_dir:
            return "not_configured"
        try:
            write_broker_accounts(config, config.broker.config_dir)
        except (ConfigError, OSError, subprocess.SubprocessError) as exc:
            log.warning("the broker's accounts were not rewritten: %s", exc)
            return f"failed: {exc}"
        log.info("the broker's passwd and acl rewritten in %s", config.broker.config_dir)
        return "updated"

    @property
    def dashboard_url(self) -> str | None:
        return self.web.url if self.web is not None else None

    def stop(self) -> None:
        """Stop cleanly: the server's state goes "offline" on the broker. Safe to call twice."""
        bus, web, self.bus, self.web = self.bus, self.web, None, None
        if bus is not None:
            bus.stop()
        if web is not None:
            web.stop()
        self.store.close()
