"""Bring MQTT messages and command replies into the Qt GUI thread.

paho calls back on its network thread; widgets may only be touched on the GUI thread. A
`QtLink` re-emits every message as a Qt signal (queued across threads) and runs commands on
a worker thread, delivering the reply as a signal too, so the GUI never blocks on the network.

A QtLink belongs to the widget that shows it (`attach`), so Qt deletes it on the GUI thread
together with the widget; a message or reply that arrives after that is dropped.
"""
from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from govhall.link import DeviceLink, RequestTimeout

# shown when no reply comes: the device retried with the same id and gave up for now
NO_REPLY = {"ok": False, "error": {"code": "unavailable", "message": "系统繁忙，请稍后再试"}}


class QtLink(QObject):
    message = Signal(str, dict)       # topic, payload
    replied = Signal(str, dict)       # the tag given to send(), the reply

    def __init__(self, link: DeviceLink) -> None:
        super().__init__()
        self.link = link
        self.topics = link.topics

    def attach(self, widget: QObject) -> None:
        self.setParent(widget)

    def _emit(self, signal_name: str, *args: Any) -> None:
        try:
            getattr(self, signal_name).emit(*args)
        except RuntimeError:          # the widget and this link are gone: nobody to tell
            pass

    def subscribe(self, topic_filter: str) -> None:
        self.link.subscribe(topic_filter, lambda topic, data: self._emit("message", topic, data))

    def send(self, tag: str, command: dict[str, Any]) -> None:
        def work() -> None:
            try:
                reply = self.link.request(command)
            except (RequestTimeout, OSError):
                reply = NO_REPLY
            self._emit("replied", tag, reply)
        threading.Thread(target=work, name=f"cmd-{tag}", daemon=True).start()
