"""The window's receipts on its ESC/POS printer: the 收件回执 (what was received, when the
case is promised, a QR to track it) and the 一次性告知单 (every missing material, once).
Chinese in the printer's Chinese mode as GB18030, like the ticket (hardware/printer.py)."""
from __future__ import annotations

from datetime import datetime

from escpos.printer import Dummy

from hardware.printer import FS_CHINESE_OFF, FS_CHINESE_ON


def _writer():   # noqa: ANN202 - (printer, chinese)
    p = Dummy()
    p.hw("INIT")

    def chinese(text: str, *, align: str = "left", double: bool = False, bold: bool = False) -> None:
        p.set_with_default(align=align, double_height=double, double_width=double, bold=bold)
        p._raw(FS_CHINESE_ON + text.encode("gb18030") + FS_CHINESE_OFF + b"\n")
    return p, chinese


DELIVERY_WORDS = {"mail": "邮寄送达", "online": "网上送达"}     # 不见面: a case's result not fetched at the window


def _when(value: str) -> str:
    return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M}"


def compose_receipt(case: dict, hall_name: str) -> bytes:
    """收件回执 for a case view (hallserver/case_desk.py)."""
    p, chinese = _writer()
    chinese(hall_name, align="center", bold=True)
    chinese("收 件 回 执", align="center", double=True)
    chinese(f"办件编号：{case['code']}")
    chinese(f"事项：{case['matter_name']}（{case['kind']}）")
    chinese(f"承办部门：{case['department']}")
    chinese(f"受理时间：{_when(case['accepted_at'])}")
    chinese("已收材料：")
    for name, pages in case["received"].items():
        chinese(f"  {name}  {pages} 页")
    if case["missing"]:
        chinese(f"待补正材料 {len(case['missing'])} 项，详见一次性告知单；补正期间不计办理时限")
    elif case.get("due") is None:            # next year's holidays not loaded: the date comes later
        chinese(f"承诺办结：{case.get('due_pending') or '待定'}", bold=True)
        chinese("办结时限确定后可扫码查询")
    else:
        chinese(f"承诺办结：{_when(case['due'])} 前", bold=True)
        chinese(f"取件时间：{_when(case['due'])[:10]} 起")
        if case.get("due_warning"):
            chinese(f"（{case['due_warning']}）")
    chinese(f"受理人：{case['handler']}（{case['window']}）")
    assisted = case.get("assisted")
    if isinstance(assisted, dict) and all(isinstance(assisted.get(k), str) for k in ("role", "helper", "group")):
        chinese(f"代办：{assisted['role']} {assisted['helper']}（服务对象：{assisted['group']}）")
    if case.get("delivery") in DELIVERY_WORDS:
        chinese(f"送达方式：{DELIVERY_WORDS[case['delivery']]}（不见面办理）")
    if case.get("track_url"):
        p.set_with_default(align="center")
        p.qr(case["track_url"], native=True, size=5)
        chinese("扫码查询办理进度", align="center")
    p.cut()
    return p.output


def compose_notice(case: dict, hall_name: str) -> bytes:
    """一次性告知单: every missing material of the case, once, with what happens next."""
    p, chinese = _writer()
    chinese(hall_name, align="center", bold=True)
    chinese("一次性告知单", align="center", double=True)
    chinese(f"办件编号：{case['code']}")
    chinese(f"事项：{case['matter_name']}")
    chinese("您的申请还需补正以下材料：")
    for i, name in enumerate(case["missing"], start=1):
        chinese(f"  {i}. {name}")
    chinese("以上为全部需补正材料，请一次备齐后到窗口提交。补正期间不计办理时限。")
    chinese(f"告知人：{case['handler']}  {_when(case['accepted_at'])}")
    if case.get("track_url"):
        p.set_with_default(align="center")
        p.qr(case["track_url"], native=True, size=5)
    p.cut()
    return p.output
