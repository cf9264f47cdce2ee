"""The hall's configuration: one TOML file, validated with pydantic.

A bad file is refused with the file, the key and the reason, e.g.
``hall.toml: windows[2].categories: unknown category 'Z'``.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from govhall.contract import NAME_PATTERN, Role

Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HallConfig(_Section):
    id: Name
    name: str = Field(min_length=1, max_length=64)
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


BrokerUrl = Annotated[str, Field(pattern=r"^mqtts?://[^\s/:]+(:[0-9]{1,5})?/?$", max_length=300)]


class BrokerConfig(_Section):
    url: str = Field(default="embedded",
                     description='"embedded" for the built-in amqtt broker, or mqtt://host:port (mqtts:// for TLS)')
    username: str | None = None
    password: str | None = None
    config_dir: str | None = Field(
        default=None, description="the folder `hall broker-config --out` wrote (relative to hall.toml): device "
                                  "changes saved in the dashboard rewrite its passwd and acl")
    device_url: BrokerUrl | None = Field(
        default=None, description="how devices reach the broker, e.g. mqtts://hall-server.lan:8883 "
                                  "(hall device-config writes it into each device's file)")
    ca: str | None = Field(default=None, max_length=300,
                           description="the broker's CA certificate (PEM file, relative to hall.toml) that "
                                       "mqtts:// links check the broker against (default: the system's CAs)")
    ca_pem: str | None = Field(default=None, max_length=20000, pattern=r"^-----BEGIN CERTIFICATE-----",
                               description="the same CA inline (a device's own file carries it so)")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value != "embedded" and not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError('must be "embedded", mqtt://host:port or mqtts://host:port')
        return value


class DatabaseConfig(_Section):
    url: str = "sqlite:///hall.db"


class HttpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
                                   description="how phones reach the hall server (the ticket's QR code)")
    tls_cert: str | None = Field(default=None, description="the dashboard over HTTPS: certificate (PEM, "
                                                           "relative to hall.toml); or a reverse proxy in front")
    tls_key: str | None = Field(default=None, description="its private key (PEM)")

    @model_validator(mode="after")
    def _tls_pair(self) -> HttpConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        return self


class AppointmentsConfig(_Section):
    """预约."""
    slot_minutes: int = Field(default=30, ge=5, le=240)
    capacity: int = Field(default=4, ge=1, le=1000, description="appointments per category and slot")
    check_in_before_minutes: int = Field(default=15, ge=0, le=240)
    check_in_after_minutes: int = Field(default=15, ge=0, le=240)
    horizon_days: int = Field(default=7, ge=0, le=90)
    per_id_active: int = Field(default=3, ge=1, le=50,
                               description="real-name: appointments booked and still to come per ID number "
                                           "(and one per category and day)")
    per_phone_active: int = Field(default=3, ge=1, le=50, description="the same per mobile number")
    per_address_per_hour: int = Field(default=10, ge=1, le=100000,
                                      description="bookings accepted from one client address in an hour")


class RulesConfig(_Section):
    max_recalls: int = Field(default=2, ge=0, le=10, description="重呼 at most this many times")
    default_service_minutes: float = Field(
        default=8.0, gt=0, le=240, description="service time assumed for a category until it has history")
    starvation_minutes: float = Field(
        default=30.0, gt=0, le=480, description="a ticket waiting this long is called before any priority")
    requeue_after: int = Field(default=3, ge=0, le=50, description="过号重排: a returning citizen goes after this many")
    requeue_within_minutes: float = Field(default=30.0, gt=0, le=480, description="过号重排 allowed this long after")
    green_age: int = Field(default=65, ge=50, le=100, description="绿色通道 from this age (ID card)")
    wait_target_minutes: float = Field(default=20.0, gt=0, le=480,
                                       description="平均等候 target the dashboard measures each category against")
    long_wait_minutes: float = Field(default=30.0, gt=0, le=480,
                                     description="an alert when anyone has waited longer than this")


class CategoryConfig(_Section):
    id: Name
    name: str = Field(min_length=1, max_length=32)
    name_en: str = Field(default="", max_length=48, description="shown when the kiosk is switched to English")
    group: str = Field(default="", max_length=32,
                       description="部门/主题: categories with the same group share one kiosk button "
                                   "that opens a second page listing them")
    group_en: str = Field(default="", max_length=48)
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$", description="letter(s) before the number: A001")
    last_ticket_minutes: int | None = Field(default=None, ge=0, le=240,
                                            description="停止取号 this long before a session ends (overrides hours)")
    daily_quota: int | None = Field(default=None, ge=1, le=10000, description="tickets per day (号源)")
    session_quota: int | None = Field(default=None, ge=1, le=10000,
                                      description="tickets per session (上午/下午 half-day)")
    appointment_capacity: int | None = Field(default=None, ge=0, le=1000,
                                             description="预约 per slot (overrides appointments.capacity)")


TimeOfDay = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM")]
Span = tuple[TimeOfDay, TimeOfDay]


def _check_spans(spans: list[Span]) -> list[Span]:
    previous_end = ""
    for start, end in spans:
        if start >= end:
            raise ValueError(f"session {start}-{end} ends before it starts")
        if start < previous_end:
            raise ValueError(f"session {start}-{end} overlaps the one before; list sessions in time order")
        previous_end = end
    return spans


class ExtendedHoursConfig(_Section):
    """延时服务: extra sessions on some weekdays (1 = Monday … 7 = Sunday)."""
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1)
    sessions: list[Span] = Field(min_length=1)
    categories: list[Name] | None = Field(default=None, description="only these categories (default: all)")

    @field_validator("sessions")
    @classmethod
    def _in_order(cls, spans: list[Span]) -> list[Span]:
        return _check_spans(spans)


def _day(value: object) -> date:
    """A day of the hall's calendar: a TOML date or "YYYY-MM-DD" (never a number or a time)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


Day = Annotated[date, BeforeValidator(_day)]


class HoursConfig(_Section):
    """Opening hours. Without this section the hall issues tickets at any time. The days follow
    the working-day calendar ([calendar]): closed on 法定节假日, open on 调休 working days, else on
    `weekdays`; `open_days` and `closed_days` are the hall's own exceptions (docs/queue.md)."""
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default=[1, 2, 3, 4, 5], description=(
        "the days of an ordinary week the hall opens (1 = Monday … 7 = Sunday; 6 for a hall open on Saturdays)"))
    sessions: list[Span] = Field(default=[("09:00", "12:00"), ("13:30", "17:00")],
                                 description="上午 and 下午: the half-days of session quotas")
    last_ticket_minutes: int = Field(default=30, ge=0, le=240, description="停止取号 this long before a session ends")
    extended: list[ExtendedHoursConfig] = Field(default_factory=list)
    open_days: list[Day] = Field(default_factory=list, description=(
        "days open with the regular sessions although the calendar says closed (a holiday's special service, "
        "an extra Saturday), YYYY-MM-DD"))
    closed_days: list[Day] = Field(default_factory=list, description=(
        "days closed all day, 延时服务 too (an event), YYYY-MM-DD"))

    @field_validator("sessions")
    @classmethod
    def _in_order(cls, spans: list[Span]) -> list[Span]:
        return _check_spans(spans)

    @field_validator("open_days", "closed_days")
    @classmethod
    def _plausible(cls, days: list[date]) -> list[date]:
        for day in days:
            if not 2000 <= day.year <= 2100:
                raise ValueError(f"{day} is not a day of the years 2000–2100")
        return days

    @model_validator(mode="after")
    def _open_or_closed(self) -> HoursConfig:
        both = sorted(set(self.open_days) & set(self.closed_days))
        if both:
            raise ValueError(f"{both[0]} is in both open_days and closed_days")
        return self


class WindowConfig(_Section):
    id: Name
    number: int = Field(ge=1, le=999, description="the number on the window sign")
    name: str = Field(default="", max_length=32)
    categories: list[Name] = Field(min_length=1, description="served in this order of preference")
    led_address: int | None = Field(default=None, ge=1, le=254)
    led_port: str | None = Field(default=None, description="this screen's bus when not led.port (another RS-485 line)")
    keypad_address: int | None = Field(default=None, ge=1, le=254, description="the window's caller keypad (呼叫器)")
    elderly_first: bool = Field(default=False,
                                description="老年人优先窗口: also calls 绿色通道 tickets of every category")
    department: str = Field(default="", max_length=40, description="the department the window belongs to (差评整改)")

    @model_validator(mode="after")
    def _default_name(self) -> WindowConfig:
        if not self.name:
            self.name = f"{self.number}号窗口"
        return self


class StaffConfig(_Section):
    id: Name
    name: str = Field(min_length=1, max_length=32)
    post: str = Field(default="", max_length=32, description="岗位, shown on the rating tablet")
    department: str = Field(default="", max_length=32,
                            description="科室/部门: the monthly attendance sheet is signed per department")
    shifts: list[str] | None = Field(default=None, description="the shifts this person works (names); default: all")
    photo: str | None = Field(default=None, max_length=300, description="a photo file for the rating tablet")
    password_hash: str | None = Field(
        default=None, pattern=r"^\$argon2(id|i|d)\$",
        description="argon2 hash of the login password (`hall staff-password`); without one, login needs none")


class ManagerConfig(_Section):
    """A hall manager (大厅管理人员): logs in to the dashboard and its HTTP API."""
    id: Name
    name: str = Field(min_length=1, max_length=32)
    password_hash: str = Field(pattern=r"^\$argon2(id|i|d)\$", description="argon2 hash (hall staff-password)")
    role: Literal["manager", "lead", "auditor"] = Field(
        default="manager", description="manager 大厅管理员: everything; lead 部门负责人: their departments' "
                                       "cases, leave, attendance, ratings and rectifications, no ranking "
                                       "adjustments or settings; auditor 审计: reads only")
    departments: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=50,
        description="a lead's departments (those of windows, staff and matters); a lead needs at least one")


class DeviceConfig(_Section):
    id: Name
    role: Role
    window: Name | None = Field(default=None, description="counters and tablets belong to one window")
    printer: str | None = Field(default=None, max_length=200,
                                description="kiosk ticket printer URL: /dev/ttyUSB0, tcp://host:9100, usb://0416:5011")
    id_reader: str | None = Field(default=None, max_length=200, description="二代身份证 reader port: /dev/ttyUSB1")
    password: str | None = Field(default=None, min_length=12, max_length=128,
                                 description="the device's own broker password (hall broker-config)")


class TicketConfig(_Section):
    """The printed ticket's words besides the number (号票模板); preview at /api/ticket/preview.png."""
    notice: str = Field(default="过号请到取号机或窗口重新排队，30分钟内有效", max_length=120)
    footer: str = Field(default="请留意叫号屏和语音提示", max_length=120)
    qr_caption: str = Field(default="扫码查看排队进度", max_length=40)
    show_estimate: bool = True
    show_qr: bool = True


class KioskConfig(_Section):
    idle_seconds: int = Field(default=20, ge=5, le=600, description="back to the home screen after this long untouched")
    keep_unprinted_seconds: int = Field(
        default=60, ge=10, le=600,
        description="a number that did not print stays this long on screen (with its QR) for the citizen to keep")
    voice: bool = Field(default=True, description="spoken guidance in 适老化 mode (espeak-ng)")


class KeypadConfig(_Section):
    port: str = Field(default="/dev/ttyUSB1", description="the keypads' RS-485 adapter: pyserial URL or device")
    baudrate: int = Field(default=9600, ge=1200, le=921600)


class LedConfig(_Section):
    port: str = Field(default="loop://", description="pyserial URL or device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=9600, ge=1200, le=921600)
    protocol: str = Field(default="govhall", pattern=r"^[a-z0-9_-]{1,32}$",
                          description="the screens' frame protocol (hardware/led.py PROTOCOLS); the bridge checks it")
    brightness: int = Field(default=16, ge=1, le=16)
    idle_scroll: bool = Field(default=True, description="the idle text (window, staff, services) scrolls")


SAME_DAY_KINDS = ("即办件", "当日办结件")     # finished within the day: 0 promised days, never extended


class MatterConfig(_Section):
    """One matter of the catalogue (事项目录)."""
    id: Name
    name: str = Field(min_length=1, max_length=60)
    department: str = Field(min_length=1, max_length=40)
    kind: Literal["即办件", "当日办结件", "承诺件", "上报件", "联办件"] = Field(
        default="承诺件", description="即办件 (即收即办件), 当日办结件, 承诺件 (限时办结件), 上报件, 联办件: "
                                    "docs/deadlines.md")
    legal_days: int = Field(ge=0, le=365, description="法定时限, working days")
    promised_days: int = Field(ge=0, le=365, description="承诺时限, working days, never over the legal limit")
    materials: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=50)
    step_days: dict[Literal["审核", "审批", "办结"], Annotated[int, Field(ge=1, le=365)]] = Field(
        default_factory=dict, description="working days each step may take after the one before (its own colour)")
    max_extension_days: int | None = Field(
        default=None, ge=0, le=30, description="延期 at most (working days, once per case); default by kind "
                                               "(行政许可法 §42): 10, 联办件 15, 即办件 and 当日办结件 0 (never)")
    certificate: bool = Field(
        default=False, description="发证: the decision gives a certificate, sent (by mail or online) within 10 "
                                   "working days of 办结 (行政许可法 §44), its own step colour")

    @model_validator(mode="after")
    def _limits(self) -> MatterConfig:
        if self.promised_days > self.legal_days:
            raise ValueError(f"promised {self.promised_days} working days is longer than the legal {self.legal_days}")
        if (self.kind in SAME_DAY_KINDS) != (self.promised_days == 0):
            raise ValueError("a 即办件 or 当日办结件 has 0 promised days, and only they do")
        if len(set(self.materials)) != len(self.materials):
            raise ValueError("a material is listed twice")
        if self.kind in SAME_DAY_KINDS and self.max_extension_days:
            raise ValueError(f"a {self.kind} is never extended: max_extension_days must be 0")
        return self


class CasesConfig(_Section):
    catalogue: str | None = Field(default=None,
                                  description="事项目录 as CSV (relative to hall.toml), added to [[matters]]")
    online_per_id_per_day: int = Field(default=3, ge=1, le=100,
                                       description="网上申报 (real-name intake) per ID number in a hall day")
    online_per_phone_per_day: int = Field(default=3, ge=1, le=100, description="the same per mobile number")
    online_per_address_per_day: int = Field(default=10, ge=1, le=100000,
                                            description="网上申报 accepted from one client address in a day")
    after_hours_next_day: bool = Field(
        default=False, description="a case accepted at or after closing time, or on a day off, counts as received "
                                   "on the next working day (its promised days from the day after that)")


class ComplaintsConfig(_Section):
    """投诉 (docs/complaints.md): both defaults are ours, no source gives them."""
    days: int = Field(default=5, ge=1, le=60, description="working days from registration to 办结")
    public_per_address_per_day: int = Field(default=5, ge=1, le=100000,
                                            description="complaints from the phone page per client address a day")


class EvaluationIndicatorConfig(_Section):
    """One item of 万众评股室's score sheet (表一)."""
    key: Annotated[str, Field(min_length=1, max_length=16)]
    system: Annotated[str, Field(min_length=1, max_length=20)] = Field(description="首问负责制 …")
    name: Annotated[str, Field(min_length=1, max_length=80)]
    points: Decimal = Field(gt=0, le=100, decimal_places=2)


class EvaluationGroupConfig(_Section):
    """One group of raters (参评者) and its share of the weighted score."""
    key: Name
    name: Annotated[str, Field(min_length=1, max_length=40)]
    weight: Decimal = Field(gt=0, le=1, decimal_places=4)


class EvaluationConfig(_Section):
    """万众评股室 (docs/evaluation.md): empty `indicators` / `groups` are the source's (004) 90-point sheet
    and its five groups; a campaign keeps the sheet and groups it was opened with."""
    indicators: list[EvaluationIndicatorConfig] = Field(default_factory=list, max_length=100)
    groups: list[EvaluationGroupConfig] = Field(default_factory=list, max_length=20)
    public_per_address_per_day: int = Field(default=20, ge=1, le=100000,
                                            description="QR score sheets per client address a day (ours)")

    @model_validator(mode="after")
    def _unique(self) -> EvaluationConfig:
        for what, keys in (("indicators", [i.key for i in self.indicators]), ("groups", [g.key for g in self.groups])):
            if len(set(keys)) != len(keys):
                raise ValueError(f"{what}: keys must be unique")
        return self


class CalendarConfig(_Section):
    """Working days (工作日) for 限时办结: chinese-calendar's years plus the hall's own file."""
    file: str | None = Field(default=None, description="the hall's calendar file (TOML, relative to hall.toml)")
    missing_year: Literal["error", "warn"] = Field(
        default="error", description="a deadline in a year with no schedule: refuse it, or weekends-only and warn")
    yellow_days_left: int = Field(default=1, ge=0, le=30, description="yellow with this many working days left")
    yellow_used: float = Field(default=0.8, gt=0, le=1, description="yellow once this share of the time is used")


class ShiftConfig(_Section):
    """A shift (班次). Without `weekdays` it is worked on every working day of the calendar;
    with them (1 = Monday … 7 = Sunday) on those days only, as 延时服务 shifts are."""
    name: str = Field(min_length=1, max_length=16)
    start: TimeOfDay
    end: TimeOfDay
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] | None = None

    @model_validator(mode="after")
    def _order(self) -> ShiftConfig:
        if self.start >= self.end:
            raise ValueError(f"shift {self.name} ends before it starts")
        return self


class PostConfig(_Section):
    """岗位 with its A and its B (AB岗)."""
    id: Name
    name: str = Field(min_length=1, max_length=32)
    a: Name
    b: Name
    categories: list[Name] = Field(min_length=1)
    front_desk: bool = Field(default=False, description="前台受理: never left without a staffed, open window")

    @model_validator(mode="after")
    def _two_people(self) -> PostConfig:
        if self.a == self.b:
            raise ValueError("A and B must be two different people")
        return self


class LeaveLevelConfig(_Section):
    """One row of 请销假 by level: a leave up to `up_to_days` long (none: any longer) needs these
    approvers in order, each a role (`lead`, `manager`) or a `[[managers]]` id."""
    up_to_days: float | None = Field(default=None, gt=0, le=366)
    approvers: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=5)

    @model_validator(mode="after")
    def _two_levels_two_people(self) -> LeaveLevelConfig:
        named = [a for a in self.approvers if a not in ("lead", "manager")]
        if len(set(named)) != len(named):
            raise ValueError("the same manager cannot approve two levels")
        return self


class AttendanceConfig(_Section):
    posts_csv: str | None = Field(default=None,
                                  description="more [[posts]] from a CSV: id,name,a,b,categories,front_desk")
    grace_minutes: int = Field(default=5, ge=0, le=60, description="late only after start + this")
    away_limit_minutes: int = Field(default=15, ge=1, le=240,
                                    description="离岗: away (paused, offline, out and back in) longer than this")
    leave_levels: list[LeaveLevelConfig] = Field(
        default_factory=list, max_length=10,
        description="请销假 by level: the approvers by the leave's length, limits ascending; "
                    "none: one approval by a manager or lead")

    @model_validator(mode="after")
    def _ascending(self) -> AttendanceConfig:
        limits = [lv.up_to_days for lv in self.leave_levels]
        if None in limits[:-1]:
            raise ValueError("leave_levels: only the last level may have no up_to_days")
        given = [x for x in limits if x is not None]
        if any(b <= a for a, b in zip(given, given[1:], strict=False)):
            raise ValueError("leave_levels: up_to_days must ascend")
        return self


class ScreenConfig(_Section):
    """The hall screen (综合屏) and the calling voice (语音叫号)."""
    notice: str = Field(default="", max_length=300, description="a notice moving along the bottom of the hall screen")
    clips: str = Field(default="", max_length=300,
                       description="folder of the voice clips (hall voice --build-clips); default ~/.cache/govhall")


class RatingsConfig(_Section):
    """好差评."""
    secret: str | None = Field(default=None, min_length=16, max_length=200,
                               description="key of the ratings' hash chain; keep it out of the database "
                                           "(or set GOVHALL_RATINGS_SECRET)")
    reasons: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default=["态度", "效率", "一次性告知", "材料要求", "环境", "其他"], min_length=1, max_length=10,
        description="reasons offered with 不满意 and 非常不满意")
    tablet_timeout_seconds: int = Field(default=60, ge=10, le=600, description="the tablet waits this long: 未评价")
    complaint_phone: str = Field(default="12345", max_length=20, description="shown on the tablet: 投诉电话")
    group_weights: dict[str, float] = Field(
        default={"4": 0.6, "3": 0.3, "2": 0.1}, description="ranking: weight of each rater group (rating channel code)")
    manager_share: float = Field(default=0.2, ge=0, le=1, description="ranking: the manager-adjusted share of a score")
    phone_retention_days: int = Field(default=180, ge=30, le=3650,
                                      description="phone numbers given for 回访 are masked (138****8000) after this")
    phone_valid_days: int = Field(default=7, ge=0, le=90,
                                  description="the ticket's phone page takes a rating this many days after the "
                                              "service, and a 差评's follow-up (追评) this many days after its 整改")


class CounterConfig(_Section):
    lock_minutes: float = Field(default=10, gt=0, le=240,
                                description="the counter locks after this long without a key (not while serving)")
    badge_login_posts: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=50,
        description="posts (岗位, [[staff]] post) whose staff may log in with their staff number or badge alone, "
                    "without a password_hash; \"*\" for every post (demos, training). Default: none")


class Config(_Section):
    hall: HallConfig
    broker: BrokerConfig = BrokerConfig()
    database: DatabaseConfig = DatabaseConfig()
    http: HttpConfig = HttpConfig()
    rules: RulesConfig = RulesConfig()
    hours: HoursConfig | None = None
    appointments: AppointmentsConfig = AppointmentsConfig()
    led: LedConfig = LedConfig()
    keypad: KeypadConfig = KeypadConfig()
    ticket: TicketConfig = TicketConfig()
    kiosk: KioskConfig = KioskConfig()
    counter: CounterConfig = CounterConfig()
    ratings: RatingsConfig = RatingsConfig()
    screen: ScreenConfig = ScreenConfig()
    calendar: CalendarConfig = CalendarConfig()
    cases: CasesConfig = CasesConfig()
    complaints: ComplaintsConfig = ComplaintsConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    matters: list[MatterConfig] = Field(default_factory=list)
    shifts: list[ShiftConfig] = Field(default_factory=list)
    posts: list[PostConfig] = Field(default_factory=list)
    attendance: AttendanceConfig = AttendanceConfig()
    categories: list[CategoryConfig] = Field(min_length=1)
    windows: list[WindowConfig] = Field(min_length=1)
    staff: list[StaffConfig] = Field(default_factory=list)
    managers: list[ManagerConfig] = Field(default_factory=list)
    devices: list[DeviceConfig] = Field(default_factory=list)

    # lookups used everywhere
    def category(self, category_id: str) -> CategoryConfig | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def window(self, window_id: str) -> WindowConfig | None:
        return next((w for w in self.windows if w.id == window_id), None)

    def device(self, device_id: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.id == device_id), None)


def read_text_file(path: Path, *, bom: bool = False, hint: str = "") -> str:
    """A config file's text (UTF-8; `bom`: a byte-order mark allowed, as Excel writes CSV), or a
    ConfigError that names the file and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig" if bom else "utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text{hint}") from None


def find_window(config: Config, window: str) -> WindowConfig:
    """`--window` by id (w3) or by the number on the sign (3)."""
    found = config.window(window) or next((w for w in config.windows if str(w.number) == window), None)
    if found is None:
        raise ConfigError(f"no window {window!r} (give its id or its number)")
    return found


def cross_check(config: Config, *, staff_passwords: bool = True) -> list[tuple[str, str]]:
    """References between sections: (key path, reason) for every problem found. `staff_passwords`
    False for the hall's settings as a device gets them (hall.config: no hash in them at all)."""
    problems: list[tuple[str, str]] = []

    def unique(section: str, key: str, values: list) -> None:
        seen: set = set()
        for i, v in enumerate(values):
            if v in seen:
                problems.append((f"{section}[{i}].{key}", f"{v!r} appears twice"))
            seen.add(v)

    unique("categories", "id", [x.id for x in config.categories])
    unique("categories", "prefix", [x.prefix for x in config.categories])
    unique("windows", "id", [w.id for w in config.windows])
    unique("windows", "number", [w.number for w in config.windows])
    unique("windows", "led_address", [w.led_address for w in config.windows if w.led_address is not None])
    unique("windows", "keypad_address", [w.keypad_address for w in config.windows if w.keypad_address is not None])
    unique("staff", "id", [x.id for x in config.staff])
    unique("devices", "id", [d.id for d in config.devices])
    unique("matters", "id", [m.id for m in config.matters])
    unique("posts", "id", [p.id for p in config.posts])
    staff_ids = {x.id for x in config.staff}
    shift_names = {x.name for x in config.shifts}
    if staff_passwords:
        problems += _staff_without_password(config)
    for i, person in enumerate(config.staff):
        for name in person.shifts or ():
            if config.shifts and name not in shift_names:
                problems.append((f"staff[{i}].shifts", f"unknown shift {name!r}"))
    for i, post in enumerate(config.posts):
        for who in ("a", "b"):
            if getattr(post, who) not in staff_ids:
                problems.append((f"posts[{i}].{who}", f"unknown staff {getattr(post, who)!r}"))
        for cat in post.categories:
            if cat not in {x.id for x in config.categories}:
                problems.append((f"posts[{i}].categories", f"unknown category {cat!r}"))
    known = {x.id for x in config.categories}
    for i, w in enumerate(config.windows):
        for cat in w.categories:
            if cat not in known:
                problems.append((f"windows[{i}].categories", f"unknown category {cat!r}"))
    if config.hours is not None:
        for i, ext in enumerate(config.hours.extended):
            for cat in ext.categories or ():
                if cat not in known:
                    problems.append((f"hours.extended[{i}].categories", f"unknown category {cat!r}"))
    problems += _manager_departments(config)
    problems += _leave_approvers(config)
    windows = {w.id for w in config.windows}
    server_accounts = reserved_device_ids(config)
    for i, d in enumerate(config.devices):
        if d.id in server_accounts:
            problems.append((f"devices[{i}].id", f"{d.id!r} is the hall server's own broker account; "
                                                 "give the device another id"))
        if d.window is not None and d.window not in windows:
            problems.append((f"devices[{i}].window", f"unknown window {d.window!r}"))
        if d.role == Role.WEB:
            problems.append((f"devices[{i}].role", "'web' is the server's own HTTP side, not a device"))
        if d.role in (Role.COUNTER, Role.TABLET) and d.window is None:
            problems.append((f"devices[{i}].window", f"a {d.role.value} needs a window"))
    return problems


def _staff_without_password(config: Config) -> list[tuple[str, str]]:
    """Without a password_hash a staff member logs in with the staff number alone: only where the
    hall says so for their post ([counter] badge_login_posts)."""
    allowed = set(config.counter.badge_login_posts)
    return [(f"staff[{i}].password_hash",
             f"{person.id} has no password; set one (hall staff-password) or allow badge-only login for the post "
             f"{person.post or '(none)'!r} in [counter] badge_login_posts")
            for i, person in enumerate(config.staff)
            if person.password_hash is None and "*" not in allowed and (not person.post or person.post not in allowed)]


SERVER_ACCOUNT = "hall-server"      # the hall server's broker account when [broker] username names none


def reserved_device_ids(config: Config) -> set[str]:
    """Ids no device may have: the broker account (and so the client id) of the hall server."""
    return {SERVER_ACCOUNT, *([config.broker.username] if config.broker.username else [])}


def _leave_approvers(config: Config) -> list[tuple[str, str]]:
    """Each approver of 请销假 by level is a role or a manager (not an auditor) the hall knows."""
    deciders = {m.id for m in config.managers if m.role != "auditor"}
    problems = []
    for i, level in enumerate(config.attendance.leave_levels):
        for who in level.approvers:
            if who not in ("lead", "manager") and who not in deciders:
                problems.append((f"attendance.leave_levels[{i}].approvers",
                                 f"{who!r} is neither lead, manager nor the id of a manager or lead"))
    return problems


def _manager_departments(config: Config) -> list[tuple[str, str]]:
    """A lead answers for one or more departments the hall knows (of its windows, staff, matters)."""
    known = {x.department for x in (*config.windows, *config.staff, *config.matters) if x.department}
    problems = []
    for i, m in enumerate(config.managers):
        if m.role == "lead" and not m.departments:
            problems.append((f"managers[{i}].departments",
                             "a lead (部门负责人) needs the department(s) they answer for"))
        if m.role != "lead" and m.departments:
            problems.append((f"managers[{i}].departments", f"only a lead has departments; a {m.role} sees them all"))
        for name in m.departments:
            if name not in known:
                problems.append((f"managers[{i}].departments",
                                 f"unknown department {name!r} (no window, staff member or matter has it)"))
    return problems


def device_credentials(config: Config, device_id: str) -> dict[str, str | None]:
    """DeviceLink's username, password and CA for a device program: the device id and its own
    password. Never the hall server's account (with it a device would kick the server off the
    broker and get its rights): a device without a password of its own connects anonymously,
    which only a development broker lets in."""
    device = config.device(device_id)
    ca_pem = broker_ca_pem(config)
    if device is not None and device.password:
        return {"username": device.id, "password": device.password, "ca_pem": ca_pem}
    if config.broker.username:
        raise ConfigError(f"{device_id}: no device of that id with a password of its own in [[devices]]; a device "
                          "never uses the hall server's broker account (设置 → 设备 → 生成密码, or hall device-config)")
    return {"username": None, "password": None, "ca_pem": ca_pem}


CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----")


def broker_ca_pem(config: Config) -> str | None:
    """The CA that mqtts:// links check the broker against: inline, from its file, or None (the
    system's). Only the certificates of the file: one holding a private key is refused."""
    if config.broker.ca_pem:
        return config.broker.ca_pem
    if not config.broker.ca:
        return None
    text = read_text_file(Path(config.broker.ca))
    if "PRIVATE KEY" in text:
        raise ConfigError(f"{config.broker.ca}: broker.ca holds a private key: give the CA's certificate only "
                          "(it goes into every device's file)")
    certificates = CERTIFICATE.findall(text)
    if not certificates:
        raise ConfigError(f"{config.broker.ca}: broker.ca: no PEM certificate in it")
    return "\n".join(certificates) + "\n"


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file, key and reason."""


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_config(data: dict, source: str = "<config>", *, staff_passwords: bool = True) -> Config:
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {_key_path(err['loc'])}: {msg}")
        raise ConfigError("\n".join(lines)) from None
    problems = cross_check(config, staff_passwords=staff_passwords)
    if problems:
        raise ConfigError("\n".join(f"{source}: {key}: {why}" for key, why in problems))
    return config
