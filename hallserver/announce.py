"""What the hall server publishes after a commit: replies, retained states, events, and the
queue summary held back in a rush; and who hears of it (the web's live view). A part of
CommandProcessor."""
from __future__ import annotations

import logging
import time as monotonic_time
from dataclasses import dataclass
from datetime import timedelta

from govhall import contract as c
from govhall.device_file import hall_config_message
from hallserver.domain.queue import (
    Called,
    Cancelled,
    Changes,
    Completed,
    Issued,
    Rated,
    Requeued,
    Skipped,
    Transferred,
)
from hallserver.domain.rating_code import CODE_VALID_MINUTES, rating_code

log = logging.getLogger("hallserver.processor")   # the command path's log, as before


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


class Announcing:
    def _reply(self, device_id: str, reply: c.Reply) -> Outgoing:
        return Outgoing(self.topics.reply(device_id), c.encode(reply))

    def _state(self, topic: str, msg) -> Outgoing:
        return Outgoing(topic, c.encode(msg), qos=1, retain=True)

    def _announce(self, changes: Changes) -> list[Outgoing]:
        out = [self._state(self.topics.window_state(w.id), self.window_state(w))
               for w in changes.windows.values()]
        if changes.queue_changed:
            now = monotonic_time.monotonic()
            if now - self._summary_sent_at < self.summary_every_s:
                self._summary_held = True
            else:
                out.append(self._summary(now))
        for ev in changes.events:
            msg = self._event(ev)
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
            if isinstance(ev, Completed) and ev.ticket.token:
                out.append(self._rating_code(ev))
        for post in getattr(self, "_post_changes_out", []):
            msg = c.PostCoverage(**post)
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
        self._post_changes_out = []
        for kind, alert in changes.coverage:
            msg = c.CoverageAlert(category=alert.category, open=kind == "opened", since=self._local(alert.start),
                                  minutes=alert.minutes)
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
        for case in changes.cases:
            msg = self.cases.colour_event(case, self.clock.now(), self.clock.tz)
            if msg is None:            # its deadline is pending (next year's holidays): announced once computed
                self.cases.colours.pop(case.code, None)
                continue
            self.cases.colours[case.code] = msg.colour
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
        for ch in changes.device_alerts:
            a = ch.alert
            msg = c.DeviceAlert(device=a.device, component=a.component, condition=a.condition if ch.opened else "ok",
                                detail=a.detail if ch.opened else "", open=ch.opened,
                                since=self._local(a.since if ch.opened else ch.at))
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
        return out

    def _event(self, ev):
        match ev:
            case Issued():
                return c.TicketIssued(ticket=self.ticket_view(ev.ticket), waiting_ahead=ev.waiting_ahead)
            case Called():
                return c.TicketCalled(ticket=self.ticket_view(ev.ticket), window=ev.window.id,
                                      window_number=ev.window.number, window_name=ev.window.name,
                                      recall=ev.recall)
            case Skipped():
                return c.TicketSkipped(ticket=self.ticket_view(ev.ticket), window=ev.window.id)
            case Transferred():
                return c.TicketTransferred(ticket=self.ticket_view(ev.ticket), from_window=ev.from_window.id,
                                           to_window=ev.to_window, to_category=ev.to_category, reason=ev.reason)
            case Requeued():
                return c.TicketRequeued(ticket=self.ticket_view(ev.ticket))
            case Cancelled():
                return c.TicketCancelled(ticket=self.ticket_view(ev.ticket), reason=ev.reason)
            case Completed():
                return c.ServiceCompleted(ticket=self.ticket_view(ev.ticket), window=ev.window.id,
                                          staff=c.StaffView(id=ev.staff.id or "unknown", name=ev.staff.name))
            case Rated():
                r = ev.rating
                return c.RatingRecorded(rating_id=r.id, ticket=self.ticket_view(r.ticket), window=r.window,
                                        staff=r.staff, level=r.level, channel=r.channel)
        raise TypeError(f"unknown event {ev!r}")

    def _rating_code(self, ev: Completed) -> Outgoing:
        """评价码 of the service just completed, retained for the window's own tablet only."""
        t = ev.ticket
        until = (t.finished_at or self.clock.now()) + timedelta(minutes=CODE_VALID_MINUTES)
        msg = c.RatingCode(window=ev.window.id, ticket=t.number, code=rating_code(t.token),
                           valid_until=self._local(until))
        return self._state(self.topics.tablet_rating(ev.window.id), msg)

    def _summary(self, now: float, state: c.QueueState | None = None) -> Outgoing:
        self._summary_sent_at, self._summary_held = now, False
        return self._state(self.topics.queue_state, state or self.queue_state())

    def summary_due_at(self) -> float:
        """When the held queue summary is to go out (monotonic time; infinity: nothing held)."""
        return self._summary_sent_at + self.summary_every_s if self._summary_held else float("inf")

    def held_summary(self) -> list[Outgoing]:
        """The queue summary held back in a rush, once its time has come; the bus asks on every turn."""
        now = monotonic_time.monotonic()
        if not self._summary_held or now < self._summary_sent_at + self.summary_every_s:
            return []
        self._summary_held, self._summary_sent_at = False, now    # a failure below is not retried at once
        out = [self._summary(now)]
        self._notify(out)
        return out

    def full_state(self, online: bool = True) -> list[Outgoing]:
        """Every retained message, for startup and after a broker reconnect."""
        out = [self._state(self.topics.server_state,
                           c.ServerState(online=online, hall_name=self.config.hall.name, at=self.clock.now()))]
        out += [self._state(self.topics.window_state(w.id), self.window_state(w))
                for w in self.engine.windows.values()]
        out.append(self._summary(monotonic_time.monotonic()))
        out += [self._state(self.topics.window_inquiries(m.window), m)
                for m in self.inquiries.window_lists(self.engine, self.clock.tz, every=True)]   # 首问
        out.append(Outgoing(self.topics.hall_config, hall_config_message(self.config), qos=1, retain=True))
        self._notify(out)
        return out

    def _notify(self, out: list[Outgoing]) -> None:
        if self.store.batching:           # told once the batch is in the database (committed())
            self._uncommitted.extend(out)
            return
        for listener in self.listeners:
            try:
                listener(out)
            except Exception:
                log.exception("a state listener failed")

    def committed(self) -> None:
        """The bus's batch is in the database: the listeners (the web view) hear what it changed."""
        out, self._uncommitted = self._uncommitted, []
        self._notify(out)

    def rolled_back(self) -> None:
        """The bus's batch was not committed: nothing it changed is told to the listeners."""
        self._uncommitted = []
