"""What the kiosk says, in Chinese first and English when a citizen switches (the 中文/English
button). Pure data and two helpers; no Qt here."""
from __future__ import annotations

from datetime import datetime

ZH, EN = "zh", "en"

TEXTS: dict[str, tuple[str, str]] = {
    "choose": ("请选择您要办理的业务", "Please choose a service"),
    "choose_in_group": ("请选择具体事项", "Please choose the matter"),
    "appointment": ("预约签到", "Appointment check-in"),
    "large_on": ("大字模式", "Large text"),
    "large_off": ("标准模式", "Standard text"),
    "lang": ("English", "中文"),
    "back": ("返回", "Back"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page": ("第 {n}/{total} 页", "Page {n} of {total}"),
    "taking": ("正在取号，请稍候…", "Taking your number…"),
    "offline": ("取号暂停：系统维护中，请稍候或咨询导办人员",
                "Tickets are paused while the system is serviced. Please wait or ask the staff."),
    "nobody_ahead": ("前面没有人等候，请留意叫号", "Nobody is ahead of you. Please watch for your call."),
    "ahead": ("前面还有 {n} 人等候", "{n} people ahead of you"),
    "wait": ("预计等候约 {m} 分钟", "Estimated wait: about {m} min"),
    "late": ("预约时间已过，已为您取普通号", "Your appointment time has passed; this is a normal ticket"),
    "watch": ("请留意叫号屏和语音，叫到后到窗口办理", "Watch the screens and listen for your number"),
    "printing": ("正在打印号票…", "Printing your ticket…"),
    "take_ticket": ("请取走号票", "Please take your ticket"),
    "printer_down": ("号票打印机暂时不能出票（{why}）", "The ticket printer cannot print ({why})"),
    "qr_offer": ("您可以改用手机扫码保存号码，或到服务台咨询",
                 "You can keep your number on your phone instead, or ask at the service desk"),
    "take_by_qr": ("扫码取号（不打印）", "Get a number by QR code"),
    "scan_to_keep": ("请用手机扫描二维码保存您的号码", "Scan the QR code with your phone to keep your number"),
    "note_number": ("请记下您的号码", "Please note your number"),
    "unprinted": ("号票未能打印（{why}）", "The ticket did not print ({why})"),
    "keep": ("保留此号", "Keep this number"),
    "discard": ("不要这个号", "Cancel this number"),
    "keep_hint": ("请扫码或记下号码后点「保留此号」，{s} 秒内未确认此号将作废",
                  "Scan or note the number, then tap Keep; unkept numbers are cancelled after {s} s"),
    "kept": ("号码已保留，请留意叫号", "Your number is kept. Please watch for your call."),
    "cancelled": ("此号已作废", "This number was cancelled"),
    "greet": ("{who}，您好，请选择要办理的业务", "Hello, please choose a service"),
    "code_prompt": ("请输入 6 位预约码", "Enter your 6-digit appointment code"),
    "code_len": ("预约码是 6 位数字", "The code has 6 digits"),
    "checking_in": ("正在签到，请稍候…", "Checking in…"),
    "delete": ("删除", "Delete"),
    "ok": ("确定", "OK"),
    "closed": ("暂停取号", "Not issuing now"),
    "quota_full": ("号源已满", "Fully booked"),
    "opens": ("{t} 起", "from {t}"),
    "waiting": ("等候 {n} 人", "{n} waiting"),
    "about": ("约 {m} 分钟", "about {m} min"),
    "services": ("{n} 项业务", "{n} services"),
    "green": ("绿色通道", "Priority lane"),
    "appt": ("预约", "Appointment"),
    "next_open": ("下次取号时间：{day} {t}", "Next tickets: {day} {t}"),
    "today": ("今天", "today"),
    "failed": ("取号失败，请重试", "Could not take a number. Please try again."),
}

# the server's refusals in English (its `message` is Chinese by contract)
ERRORS_EN = {
    "category_closed": "This service is not issuing tickets now",
    "quota_full": "All tickets for this service are taken",
    "appointment_not_found": "No appointment with this code. Please check it.",
    "already_checked_in": "This appointment is checked in already",
    "too_early": "Check-in has not opened yet",
    "appointment_expired": "This appointment has expired. Please book again or take a number.",
    "unavailable": "The system is busy. Please try again shortly.",
}


def text(key: str, lang: str = ZH, **values: object) -> str:
    zh, en = TEXTS[key]
    return (en if lang == EN else zh).format(**values)


def refusal_text(error: dict, lang: str = ZH, now: datetime | None = None) -> str:
    """What the kiosk says when there is no ticket: the reason, and when to come back."""
    message = ERRORS_EN.get(error.get("code", "")) if lang == EN else None
    out = message or error.get("message") or text("failed", lang)
    when = error.get("next_open")
    if when:
        at = datetime.fromisoformat(when)
        today = (now or datetime.now(at.tzinfo)).astimezone(at.tzinfo).date()
        day = text("today", lang) if at.date() == today else (
            f"{at.month}月{at.day}日" if lang == ZH else f"{at:%d %b}")
        out += ("，" if lang == ZH else ". ") + text("next_open", lang, day=day, t=f"{at:%H:%M}")
    return out
