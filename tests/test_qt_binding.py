"""A guard on the Qt binding itself: PySide6 6.12.0 drops a reference to None on every call of
a function that returns nothing (QLabel.setText, processEvents …). On Python 3.11, where None
is not immortal, a kiosk or counter then dies with "none_dealloc" after some ten thousand
calls. pyproject.toml keeps that version out; this test fails if such a binding comes back."""
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication, QLabel  # noqa: E402


def test_void_qt_calls_do_not_drop_references_to_none_or_true():
    app = QApplication.instance() or QApplication([])
    label = QLabel()
    before_none, before_true = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(2000):
        label.setText("A001")
        app.processEvents()
        label.isVisible()
    # other threads (earlier tests' network loops) take and drop references meanwhile; a broken
    # binding loses one per call: 2000 loops × 3 calls would be about −6000
    assert sys.getrefcount(None) - before_none > -1000
    assert sys.getrefcount(True) - before_true > -1000
