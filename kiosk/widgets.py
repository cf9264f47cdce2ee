"""Small Qt pieces the citizen-facing screens share: wrapping big buttons, labels, QR codes."""
from __future__ import annotations

import io

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


def qr_pixmap(url: str, size: int) -> QPixmap:
    import qrcode  # qrcode (Pillow): only when a QR code is drawn
    image = qrcode.make(url, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)


def plain_labels(root: QWidget, *rich: QLabel) -> None:
    """Every label of a screen shows its text as it is: Qt would otherwise take a name or a note
    that looks like HTML ("<b>…", "<img …>") as rich text and draw it. The few labels that are
    rich on purpose are named in `rich`, and whatever data they show is escaped."""
    for label in root.findChildren(QLabel):
        if label not in rich:
            label.setTextFormat(Qt.TextFormat.PlainText)


class TileButton(QPushButton):
    """A big button whose words wrap (QPushButton's own text does not): long English names fit."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self._label = QLabel(label, objectName="tile")
        self._label.setObjectName("tile")
        self._label.setTextFormat(Qt.TextFormat.PlainText)      # a category's name, shown as it is
        self._label.setWordWrap(True)
        self._label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        box = QVBoxLayout(self)
        box.setContentsMargins(16, 8, 16, 8)
        box.addWidget(self._label)

    def text(self) -> str:   # the words on the button, as QPushButton.text() would give them
        return self._label.text()

    def setText(self, label: str) -> None:   # noqa: N802 - Qt's name
        self._label.setText(label)


def label(name: str, object_name: str = "hint", wrap: bool = True) -> QLabel:
    label = QLabel("", objectName=object_name)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(wrap)
    label.setObjectName(object_name)
    label.setProperty("role", name)
    return label
