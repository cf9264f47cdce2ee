"""The hall server's MQTT side: receive commands, hand them to the one writer, publish.

paho's network thread only queues incoming messages; one worker thread runs the command
processor in arrival order, publishes what it returns after the commit, and only then
acknowledges the command to the broker (manual PUBACK). A server killed between receiving
and committing a command therefore gets it again from its persistent session on restart.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future

import paho.mqtt.client as mqtt

from govhall import contract as c
from govhall.link import is_tls_url, new_client, parse_broker_url, watch_suback
from hallserver.announce import Outgoing
from hallserver.domain.clock import hall_day
from hallserver.heap import freeze_heap, frozen
from hallserver.processor import CommandProcessor

log = logging.getLogger("hallserver.bus")

_RESYNC = object()
_TICK = object()
TICK_S = 5.0        # how often time alone may change what the kiosks should show
BATCH_MAX = 16      # device commands committed together at most (group commit, when busy)


def _is_message(item: object) -> bool:
    """A device's MQTT message (topic, payload, mid, qos), not a tick, query or local command."""
    return isinstance(item, tuple) and len(item) == 4 and isinstance(item[0], str) \
        and item[0] not in ("local", "query", "apply")


class ServerBus:
    def __init__(self, processor: CommandProcessor, broker_url: str, *, username: str | None = None,
                 password: str | None = None, ca_pem: str | None = None) -> None:
        self.processor = processor
        self.topics = processor.topics
        self.host, self.port = parse_broker_url(broker_url)
        # a persistent session: the broker keeps QoS 1 commands that arrive while we are down
        self.client = new_client(username or f"hallserver-{self.topics.hall}", clean_session=False,
                                 username=username, password=password, tls=is_tls_url(broker_url), ca_pem=ca_pem)
        offline = c.ServerState(online=False, hall_name=processor.config.hall.name)
        self.client.will_set(self.topics.server_state, c.encode(offline), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self._command_sub: tuple[int, threading.Event] | None = None
        self.client.manual_ack_set(True)
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(1000)
        self._inbox: queue.Queue = queue.Queue()
        self._held: deque = deque()        # taken from the inbox while gathering a batch; next in line
        self._worker = threading.Thread(target=self._work, name="hall-writer", daemon=True)
        self.connected = threading.Event()
        self.handled = 0
        self._heap_day = None

    def start(self, timeout: float = 10.0) -> None:
        self._worker.start()
        self.client.connect_async(self.host, self.port, keepalive=15)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            raise ConnectionError(f"no MQTT broker answered at {self.host}:{self.port}")

    def stop(self) -> None:
        self._inbox.put(None)
        self._worker.join(timeout=5)
        offline = c.ServerState(online=False, hall_name=self.processor.config.hall.name)
        info = self.client.publish(self.topics.server_state, c.encode(offline), qos=1, retain=True)
        try:
            info.wait_for_publish(2)
        except (RuntimeError, ValueError):
            pass
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, _userdata, _flags, reason_code, _props) -> None:
        if reason_code.is_failure:
            log.error("broker refused the hall server: %s", reason_code)
            return
        client.subscribe(self.topics.all_presence, qos=1)        # counters online/offline (离岗)
        _, mid = client.subscribe(self.topics.all_commands, qos=1)
        self._command_sub = (mid, threading.Event())
        watch_suback(client, mid, self._command_sub[1], "hall server")
        self._inbox.put(_RESYNC)           # rewrite every retained state from our truth
        log.info("connected to the broker at %s:%s", self.host, self.port)

    def _on_subscribe(self, _client, _userdata, mid, _reason_codes, _props) -> None:
        sub = self._command_sub
        if sub is not None and sub[0] == mid:
            sub[1].set()
            self.connected.set()

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put((msg.topic, msg.payload, msg.mid, msg.qos))

    def submit(self, payload: bytes, timeout: float = 5.0, device: str | None = None) -> dict:
        """Run a command from the server's own HTTP side (or a registered `device` that sent it
        over HTTP) through the one writer, in turn with the devices' commands, and return its reply."""
        done: Future = Future()
        self._inbox.put(("local", (payload, device), done))
        return done.result(timeout)

    def query(self, fn, timeout: float = 2.0):   # noqa: ANN001, ANN201 - any read of the processor
        """Run a read-only function of the processor on the writer thread (the engine's only
        owner), in turn with the commands, and return what it returns."""
        done: Future = Future()
        self._inbox.put(("query", fn, done))
        return done.result(timeout)

    def apply(self, fn, timeout: float = 10.0) -> None:   # noqa: ANN001 - a change of the processor
        """Run a change of the processor that is not a command (new settings) on the writer
        thread, in turn with the commands, and publish the messages it returns."""
        done: Future = Future()
        self._inbox.put(("apply", fn, done))
        try:
            done.result(timeout)
        except TimeoutError:
            done.cancel()                  # not run late, after the caller has given up on it
            raise

    def _next_item(self, timeout: float):   # noqa: ANN202 - an inbox item
        if self._held:
            return self._held.popleft()
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return _TICK

    def _more_messages(self, first: tuple) -> list[tuple]:
        """`first` and the device messages already waiting behind it (up to BATCH_MAX): one
        transaction for all of them when the hall is busy; alone when it is quiet."""
        batch = [first]
        while len(batch) < BATCH_MAX and not self._held:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if _is_message(item):
                batch.append(item)
            else:
                self._held.append(item)      # a tick, query or local command: next, in its turn
        return batch

    def _work(self) -> None:
        next_tick = time.monotonic()       # the first look (AB岗, front desk, hours) at once
        while True:
            try:
                self._publish(self.processor.held_summary())    # the queue summary held back in a rush
            except Exception:
                log.exception("the held queue summary could not be sent; carrying on")
            wake = min(next_tick, self.processor.summary_due_at())
            item = self._next_item(max(0.0, wake - time.monotonic()))
            if item is None:
                self.processor.store.release_idle_batch_connection(force=True)
                return
            if item is _TICK and time.monotonic() < next_tick:
                continue                   # woken only to send the held summary
            if item is _TICK or time.monotonic() >= next_tick:
                next_tick = time.monotonic() + TICK_S
                self._new_day_heap()
                self.processor.store.release_idle_batch_connection()   # a quiet hall keeps none
                try:
                    with self.processor.store.brief_waits():    # its writes are tried again on a later tick
                        out = self.processor.tick()
                    self._publish(out)
                except Exception:
                    log.exception("the periodic state check failed; carrying on")
                if item is _TICK:
                    continue
            if isinstance(item, tuple) and item[0] == "query":
                _, fn, done = item
                try:
                    done.set_result(fn(self.processor))
                except Exception as exc:
                    log.exception("a read of the hall state failed")
                    done.set_exception(exc)
                continue
            if isinstance(item, tuple) and item[0] == "apply":
                _, fn, done = item
                if not done.set_running_or_notify_cancel():
                    log.warning("a change of the settings was dropped: its caller gave up waiting")
                    continue
                try:
                    self._publish(fn(self.processor))
                    done.set_result(None)
                except Exception as exc:
                    log.exception("a change of the hall's settings failed")
                    done.set_exception(exc)
                continue
            if isinstance(item, tuple) and item[0] == "local":
                _, (payload, device), done = item
                try:
                    reply, out = self.processor.handle_local(payload, device)
                    self._publish(out)
                    done.set_result(reply)
                except Exception as exc:
                    log.exception("unexpected failure while handling a local command")
                    done.set_exception(exc)
                continue
            try:
                if item is _RESYNC:
                    out = self.processor.full_state()
                    self._publish(out)
                else:
                    self._handle_messages(self._more_messages(item))
            except Exception:
                # the processor turns every bad input into an error reply; this is a bug
                log.exception("unexpected failure while handling a message; carrying on")

    def _new_day_heap(self) -> None:
        """A frozen heap (hall server, heap.py) is collected and frozen again when the hall day turns."""
        day = hall_day(self.processor.clock)
        if self._heap_day is not None and day != self._heap_day and frozen():
            freeze_heap()
        self._heap_day = day

    def _handle_messages(self, batch: list[tuple]) -> None:
        """Commit, then publish what the commands produced, then acknowledge them to the broker.

        Every batch, one command or sixteen, is one transaction. If it cannot be committed
        because the database refuses every write for now (locked, full), each message is
        answered at once as before any write (processor.refuse_unsaved); otherwise (a lost
        connection, one command's bad row) they run again one at a time, so that only a
        command that fails alone is refused."""
        try:
            with self.processor.store.batch():
                outs = [self.processor.handle(topic, payload) for topic, payload, _, _ in batch]
        except Exception as exc:
            self.processor.rolled_back()
            refused = self.processor.store.refuses_every_write(exc)
            log.exception("a batch of %d commands could not be committed; %s", len(batch),
                          "refusing them: the database takes no writes" if refused else "running them one at a time")
            self.processor.reload()
            for topic, payload, mid, qos in batch:
                try:
                    self._publish(self.processor.refuse_unsaved(topic, payload) if refused
                                  else self.processor.handle(topic, payload))
                finally:
                    self._done(mid, qos)
            return
        self.processor.committed()
        for (_, _, mid, qos), out in zip(batch, outs, strict=True):
            self._publish(out)
            self._done(mid, qos)

    def _done(self, mid: int, qos: int) -> None:
        self.handled += 1
        if qos > 0:
            self.client.ack(mid, qos)     # committed and published: the broker may forget it

    def _publish(self, out: list[Outgoing]) -> None:
        for o in out:
            self.client.publish(o.topic, o.payload, qos=o.qos, retain=o.retain)
