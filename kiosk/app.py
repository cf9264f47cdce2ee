"""`hall kiosk`: the ticket kiosk as a program, and `--screenshots DIR` for every screen.

    hall kiosk --config hall.toml --device kiosk-1 [--printer URL] [--id-reader /dev/ttyUSB1]
    hall kiosk --screenshots DIR      every screen, portrait and landscape, standard and 适老化, and English
"""
from __future__ import annotations

from govhall.config import Config, device_credentials
from govhall.link import DeviceLink
from hardware.idcard import IdCardReader
from hardware.printer import TicketTemplate, open_printer
from hardware.voice import EspeakVoice

PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)


def run_kiosk(config: Config, device: str, broker_url: str, *, printer_url: str | None = None,
              id_reader_url: str | None = None, fullscreen: bool = False, voice: bool = True) -> int:
    import serial  # pyserial: only with a serial line
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    from kiosk.qt_kiosk import KioskWindow, categories_from_config  # loads Qt: only when used
    from kiosk.qtlink import QtLink  # loads Qt: only when used

    app = QApplication.instance() or QApplication([])
    link = DeviceLink(config.hall.id, device, broker_url, **device_credentials(config, device)).connect()
    printer = open_printer(printer_url) if printer_url else None
    reader = IdCardReader(serial.serial_for_url(id_reader_url, baudrate=115200)) if id_reader_url else None
    speaker = EspeakVoice() if voice else None
    window = KioskWindow(QtLink(link), categories_from_config(config), config.hall.name, printer=printer,
                         template=TicketTemplate(**config.ticket.model_dump()), id_reader=reader, voice=speaker,
                         idle_seconds=config.kiosk.idle_seconds,
                         keep_unprinted_seconds=config.kiosk.keep_unprinted_seconds)
    if fullscreen:
        window.showFullScreen()
    else:
        window.resize(*LANDSCAPE)
        window.show()
    try:
        return app.exec()
    finally:
        link.close()
        if speaker is not None:
            speaker.close()
