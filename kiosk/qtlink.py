"""Bring MQTT messages and command replies into the Qt GUI thread.

paho calls back on its network thread; widgets may only be touched on the GUI thread. A
`QtLink` re-emits every message as a Qt signal (queued across threads) and runs commands on
a worker thread, delivering the reply as a signal too, so the GUI never blocks on the network.

A QtLink belongs to the widget that shows it (`attach`), so Qt deletes it on the GUI thread
together with the widget; a message or reply that arrives after that is dropped.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from govhall.link import DeviceLink, NotConnected, RequestTimeout

# shown when no reply comes: the device retried with the same id and gave up for now
NO_REPLY = {"ok": False, "error": {"code": "unavailable", "message": "系统繁忙，请稍后再试"}}
# shown when the link is down: the command was not sent, and will not be sent later
NOT_SENT = {"ok": False, "error": {"code": "not_sent", "message": "网络连接中断，操作未发送，请恢复后重试"}}


class QtLink(QObject):
    """Signals carry JSON text, not Python objects: a queued Qt event that is dropped (its
    widget closed first) must not hold Python references, which Qt would free without the GIL."""

    message_json = Signal(str, str)       # topic, payload as JSON text
    replied_json = Signal(str, str)       # the tag given to send(), the reply as JSON text
    connection = Signal(int)              # the link to the broker went up (1) or down (0): an int, not a
                                          # bool — PySide6 miscounts references to True/False sent across threads

    def __init__(self, link: DeviceLink) -> None:
        super().__init__()
        self.link = link
        self.topics = link.topics
        link.on_connection = self._on_connection

    def _on_connection(self, up: bool) -> None:
        try:
            self.connection.emit(1 if up else 0)
        except RuntimeError:          # the widget and this link are gone
            pass

    def attach(self, widget: QObject, on_message: Callable[[str, dict], None] | None = None,
               on_reply: Callable[[str, dict], None] | None = None) -> None:
        """Make the widget own this link and receive its messages and replies as dicts."""
        self.setParent(widget)
        if on_message is not None:
            self.message_json.connect(lambda topic, text: on_message(topic, json.loads(text)))
        if on_reply is not None:
            self.replied_json.connect(lambda tag, text: on_reply(tag, json.loads(text)))

    def _emit(self, signal_name: str, first: str, data: dict) -> None:
        try:
            getattr(self, signal_name).emit(first, json.dumps(data, ensure_ascii=False))
        except RuntimeError:          # the widget and this link are gone: nobody to tell
            pass

    def subscribe(self, topic_filter: str) -> None:
        self.link.subscribe(topic_filter, lambda topic, data: self._emit("message_json", topic, data))

    def send(self, tag: str, command: dict[str, Any]) -> None:
        def work() -> None:
            try:
                reply = self.link.request(command)
            except NotConnected:
                reply = NOT_SENT
            except (RequestTimeout, OSError):
                reply = NO_REPLY
            self._emit("replied_json", tag, reply)
        threading.Thread(target=work, name=f"cmd-{tag}", daemon=True).start()
