"""A device's link to the hall: one MQTT connection, commands with replies, retained state.

Every device (kiosk, counter, tablet, LED bridge, hall screen, and the simulated ones of
the demo) talks to the hall server through this class and nothing else.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from govhall import contract as c

log = logging.getLogger("govhall.link")

MessageHandler = Callable[[str, dict[str, Any]], None]


DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


def parse_broker_url(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    if parsed.scheme not in DEFAULT_PORTS or not parsed.hostname:
        raise ValueError(f"broker URL must look like mqtt://host:port or mqtts://host:port, not {url!r}")
    return parsed.hostname, parsed.port or DEFAULT_PORTS[parsed.scheme]


def is_tls_url(url: str) -> bool:
    return urlparse(url).scheme == "mqtts"


def is_loopback(host: str) -> bool:
    """This machine: "localhost" or a loopback address (127.0.0.0/8, ::1), never a name that looks like one."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(ca_pem: str | None) -> ssl.SSLContext:
    """Verify the broker's certificate and its host name: against the hall's own CA when given
    (hall broker-config --tls-generate), else against the system's CAs."""
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def new_client(client_id: str, *, clean_session: bool = True, username: str | None = None,
               password: str | None = None, tls: bool = False, ca_pem: str | None = None) -> mqtt.Client:
    """A paho client with TCP_NODELAY set on its socket (0.6 ms vs 44 ms per round trip); over
    TLS (mqtts://) when `tls`, checking the broker's certificate."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=clean_session, protocol=mqtt.MQTTv311)
    if tls:
        client.tls_set_context(tls_context(ca_pem))

    def _nodelay(_client, _userdata, sock) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
    client.on_socket_open = _nodelay
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    if username:
        client.username_pw_set(username, password)
    return client


SUBACK_TIMEOUT_S = 3.0
TAKEOVER_DROPS, TAKEOVER_WITHIN_S = 4, 30.0    # this often lost within this long: someone shares the account


def watch_suback(client: mqtt.Client, mid: int, acked: threading.Event, who: str) -> None:
    """Make sure the broker answers our first SUBSCRIBE after a connect.

    A broker can accept a connection and then never serve it (the embedded amqtt broker's
    session task can die while it sends retained messages on connect, when another client
    subscribes at the same moment). Without a SUBACK the client would sit connected and deaf;
    dropping the socket makes paho reconnect with a fresh session task.
    """
    def check() -> None:
        if not acked.is_set():
            log.warning("%s: no SUBACK %.0f s after connecting (mid %s); reconnecting", who, SUBACK_TIMEOUT_S, mid)
            sock = client.socket()
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
    timer = threading.Timer(SUBACK_TIMEOUT_S, check)
    timer.daemon = True
    timer.start()


class RequestTimeout(Exception):
    """No reply came from the hall server; the device should show 暂停服务 and retry later."""


class NotConnected(RequestTimeout):
    """The link is down: the command was not sent at all."""


class DeviceLink:
    def __init__(self, hall: str, device_id: str, broker_url: str, *, username: str | None = None,
                 password: str | None = None, ca_pem: str | None = None) -> None:
        self.topics = c.Topics(hall)
        self.device_id = device_id
        self.host, self.port = parse_broker_url(broker_url)
        self.tls = is_tls_url(broker_url)
        # staff passwords may cross this link only encrypted, or within this machine
        self.private = self.tls or is_loopback(self.host)
        # a production broker replaces it by the account (use_username_as_clientid): nobody takes it over
        self.client = new_client(f"{hall}-{device_id}", username=username, password=password,
                                 tls=self.tls, ca_pem=ca_pem)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        # presence: the broker says "offline" for us when we vanish (the last will)
        self.client.will_set(self.topics.presence(device_id), json.dumps({"type": "device.presence", "online": False}),
                             qos=1, retain=True)
        self.on_connection: Callable[[bool], None] | None = None   # told when the link goes up or down
        self._reply_sub: tuple[int, threading.Event] | None = None
        self._pending: dict[str, tuple[threading.Event, list]] = {}
        self._subs: list[tuple[str, MessageHandler]] = []
        self._sub_acks: dict[int, threading.Event] = {}     # SUBSCRIBE mid → set by its SUBACK
        self._net_thread: int | None = None                  # paho's network thread (its callbacks)
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self._closing = False
        self._drops: deque[float] = deque(maxlen=TAKEOVER_DROPS)   # when the link was last lost

    # ------------------------------------------------------------------ connection
    def connect(self, timeout: float = 10.0) -> DeviceLink:
        self.client.connect_async(self.host, self.port, keepalive=15)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            self.close()
            tls = " over TLS (check the CA, and that the broker's certificate names this host)" if self.tls else ""
            raise ConnectionError(f"no MQTT broker answered at {self.host}:{self.port}{tls}")
        return self

    def close(self) -> None:
        self._closing = True
        if self.connected.is_set():              # a clean goodbye sends no last will: say it ourselves
            info = self.client.publish(self.topics.presence(self.device_id),
                                       json.dumps({"type": "device.presence", "online": False}), qos=1, retain=True)
            try:
                info.wait_for_publish(1)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, _userdata, _flags, reason_code, _props) -> None:
        self._net_thread = threading.get_ident()
        if reason_code.is_failure:
            log.error("%s: broker refused the connection: %s", self.device_id, reason_code)
            return
        _, mid = client.subscribe(self.topics.reply(self.device_id), qos=1)
        self._reply_sub = (mid, threading.Event())
        watch_suback(client, mid, self._reply_sub[1], self.device_id)
        for topic, _ in self._subs:
            client.subscribe(topic, qos=1)      # retained state arrives again: the truth at once
        client.publish(self.topics.presence(self.device_id), json.dumps({"type": "device.presence", "online": True}),
                       qos=1, retain=True)

    def _on_subscribe(self, _client, _userdata, mid, _reason_codes, _props) -> None:
        with self._lock:
            acked = self._sub_acks.get(mid)
        if acked is not None:
            acked.set()
        sub = self._reply_sub
        if sub is not None and sub[0] == mid:
            sub[1].set()
            self.connected.set()                # only now can replies reach us
            self._tell(True)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:
        if self.connected.is_set() and not self._closing:
            log.warning("%s: lost the broker (%s); reconnecting", self.device_id, reason_code)
            self._drops.append(time.monotonic())
            if len(self._drops) == TAKEOVER_DROPS and self._drops[-1] - self._drops[0] < TAKEOVER_WITHIN_S:
                log.error("%s: dropped %d times in %.0f s: is another program connected with this device's "
                          "account? Each connection takes the other's place (one account, one program: give "
                          "the other its own device id)", self.device_id, TAKEOVER_DROPS, TAKEOVER_WITHIN_S)
                self._drops.clear()
        self.connected.clear()
        self._tell(False)

    def _tell(self, up: bool) -> None:
        if self.on_connection is not None:
            try:
                self.on_connection(up)
            except Exception:
                log.exception("%s: connection listener failed", self.device_id)

    # ------------------------------------------------------------------ state and events
    def subscribe(self, topic_filter: str, handler: MessageHandler, timeout: float = 5.0) -> None:
        """Call handler(topic, message) for every message on the filter (retained ones too).

        On a link that is up this returns once the broker has confirmed the subscription
        (SUBACK), so that an event sent after it returns reaches the handler (a screen started
        while the hall calls does not miss the first call); a link that is down subscribes
        when it connects, before it counts as connected."""
        self._subs.append((topic_filter, handler))
        if not self.connected.is_set():
            return
        acked = threading.Event()
        with self._lock:                 # the SUBACK's callback waits for the mid to be known
            rc, mid = self.client.subscribe(topic_filter, qos=1)
            if mid is not None:
                self._sub_acks[mid] = acked
        if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
            return                       # the link just went down: subscribed again on connect
        try:
            if threading.get_ident() != self._net_thread and not acked.wait(timeout):
                log.warning("%s: the broker did not confirm the subscription to %s within %.0f s",
                            self.device_id, topic_filter, timeout)
        finally:
            with self._lock:
                self._sub_acks.pop(mid, None)

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage) -> None:
        try:
            data = json.loads(msg.payload.decode("utf-8")) if msg.payload else {}
        except (UnicodeDecodeError, ValueError):
            log.warning("%s: ignored a non-JSON message on %s", self.device_id, msg.topic)
            return
        if not isinstance(data, dict):
            log.warning("%s: ignored a non-object message on %s", self.device_id, msg.topic)
            return
        if msg.topic == self.topics.reply(self.device_id):
            with self._lock:
                waiter = self._pending.get(data.get("id") or "")
            if waiter is not None:
                waiter[1].append(data)
                waiter[0].set()
            return
        for topic_filter, handler in list(self._subs):
            if mqtt.topic_matches_sub(topic_filter, msg.topic):
                try:
                    handler(msg.topic, data)
                except Exception:
                    log.exception("%s: handler for %s failed", self.device_id, topic_filter)

    # ------------------------------------------------------------------ commands
    def report_soon(self, component: str, condition: str, detail: str = "") -> None:
        """`device.report` from a thread of its own, so a bus or port loop never waits on it;
        a report that cannot go is logged (the next change of condition sends again)."""
        command = c.command("device.report", component=component, condition=condition, detail=detail[:200])

        def send() -> None:
            try:
                self.request(command)
            except RequestTimeout:
                log.warning("%s: could not report %s as %s", self.device_id, component, condition)
        threading.Thread(target=send, name=f"report-{component}", daemon=True).start()

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def request(self, command: dict[str, Any], *, timeout: float = 3.0, attempts: int = 3) -> dict[str, Any]:
        """Send a command and wait for its reply. Retries reuse the same id, so the server
        applies the command once however often it arrives."""
        if not self.connected.wait(timeout):
            # never queue a command for later: the person pressing the key must know it did not go
            raise NotConnected(f"{self.device_id}: not connected to the broker; {command.get('type')} not sent")
        command = dict(command)
        command.setdefault("id", self.new_id())
        payload = json.dumps(command, ensure_ascii=False).encode("utf-8")
        done, box = threading.Event(), []
        with self._lock:
            self._pending[command["id"]] = (done, box)
        try:
            for _ in range(attempts):
                self.client.publish(self.topics.command(self.device_id), payload, qos=1)
                if done.wait(timeout):
                    return box[0]
            raise RequestTimeout(f"no reply to {command['type']} {command['id']} after {attempts} tries")
        finally:
            with self._lock:
                self._pending.pop(command["id"], None)
