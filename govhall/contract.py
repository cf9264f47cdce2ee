"""The wire contract: every MQTT topic and message of govhall, in one place.

No other module spells a topic string. Third-party device makers read `docs/contract.md`,
which documents this module, and the JSON Schemas that `hall contract --schemas DIR` writes.

Shape of the contract
- Topics live under ``govhall/v1/{hall}/``.
- A device sends commands on ``device/{device}/cmd`` and gets replies on ``device/{device}/reply``.
- The server publishes retained state on ``state/...`` and QoS 1 events on ``event/{type}``.
- Every payload is a UTF-8 JSON object with a ``type``; commands also carry an ``id``
  (client-chosen, unique per device) that makes them idempotent.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

VERSION = "v1"
ROOT = "govhall"
MAX_PAYLOAD_BYTES = 16 * 1024
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
COMMAND_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


def is_valid_name(value: str) -> bool:
    """Hall, device, window, category and staff ids must be safe inside a topic."""
    return bool(_NAME_RE.match(value))


# --------------------------------------------------------------------------- topics
class Topics:
    """Every topic of one hall. Build one per hall id and ask it for topics."""

    def __init__(self, hall: str) -> None:
        if not is_valid_name(hall):
            raise ValueError(f"hall id {hall!r} must match {NAME_PATTERN}")
        self.hall = hall
        self.base = f"{ROOT}/{VERSION}/{hall}"

    # device -> server
    def command(self, device: str) -> str:
        return f"{self.base}/device/{device}/cmd"

    @property
    def all_commands(self) -> str:
        return f"{self.base}/device/+/cmd"

    def device_from_command_topic(self, topic: str) -> str | None:
        return self._device_in(topic, "/cmd")

    def _device_in(self, topic: str, suffix: str) -> str | None:
        """The device of `device/{device}{suffix}`, or None for any other topic."""
        prefix = f"{self.base}/device/"
        if topic.startswith(prefix) and topic.endswith(suffix):
            device = topic[len(prefix):-len(suffix)]
            return device if is_valid_name(device) else None
        return None

    def presence(self, device: str) -> str:
        """Retained `device.presence`: the device says it is online; its last will says offline."""
        return f"{self.base}/device/{device}/presence"

    @property
    def all_presence(self) -> str:
        return f"{self.base}/device/+/presence"

    def device_from_presence_topic(self, topic: str) -> str | None:
        return self._device_in(topic, "/presence")

    # server -> device
    def reply(self, device: str) -> str:
        return f"{self.base}/device/{device}/reply"

    def window_state(self, window: str) -> str:
        return f"{self.base}/state/window/{window}"

    @property
    def all_window_states(self) -> str:
        return f"{self.base}/state/window/+"

    def tablet_rating(self, window: str) -> str:
        """Retained `rating.code` for the window's rating tablet only (the broker lets no other role
        read it: outside state/ and event/, which counters and the hall screen read)."""
        return f"{self.base}/tablet/{window}/rating"

    @property
    def all_tablet(self) -> str:
        return f"{self.base}/tablet/#"

    @property
    def queue_state(self) -> str:
        return f"{self.base}/state/queue"

    @property
    def server_state(self) -> str:
        return f"{self.base}/state/server"

    @property
    def hall_config(self) -> str:
        """Retained `hall.config`: the hall's settings without a secret, for devices that run from
        their own file (hall device-config) and so hold nothing else."""
        return f"{self.base}/state/config"

    def window_inquiries(self, window: str) -> str:
        """Retained `inquiry.list`: the 首问 inquiries handed to the window or its staff member."""
        return f"{self.base}/state/inquiries/{window}"

    @property
    def all_state(self) -> str:
        return f"{self.base}/state/#"

    def event(self, event_type: str) -> str:
        return f"{self.base}/event/{event_type}"

    @property
    def all_events(self) -> str:
        return f"{self.base}/event/+"


# --------------------------------------------------------------------------- roles
class Role(StrEnum):
    KIOSK = "kiosk"
    COUNTER = "counter"
    TABLET = "tablet"
    LED_BRIDGE = "led-bridge"
    SCREEN = "screen"
    KEYPAD_BRIDGE = "keypad-bridge"
    ATTENDANCE_TERMINAL = "attendance-terminal"
    WEB = "web"        # the server's own HTTP side (phone pages, dashboard); never an MQTT device


# --------------------------------------------------------------------------- errors
class ErrorCode(StrEnum):
    """Stable error codes. The Chinese message is fit to show on a device's screen."""

    BAD_JSON = "bad_json"
    TOO_LARGE = "too_large"
    INVALID = "invalid"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_DEVICE = "unknown_device"
    FORBIDDEN = "forbidden"
    UNKNOWN_CATEGORY = "unknown_category"
    UNKNOWN_WINDOW = "unknown_window"
    UNKNOWN_STAFF = "unknown_staff"
    WINDOW_CLOSED = "window_closed"
    WINDOW_PAUSED = "window_paused"
    WINDOW_NOT_PAUSED = "window_not_paused"
    WINDOW_TAKEN = "window_taken"
    WINDOW_BUSY = "window_busy"
    STAFF_ELSEWHERE = "staff_elsewhere"
    BAD_PASSWORD = "bad_password"
    LOGIN_LOCKED = "login_locked"
    NO_CURRENT_TICKET = "no_current_ticket"
    QUEUE_EMPTY = "queue_empty"
    RECALL_LIMIT = "recall_limit"
    NOTHING_TO_RATE = "nothing_to_rate"
    ALREADY_RATED = "already_rated"
    CATEGORY_CLOSED = "category_closed"
    QUOTA_FULL = "quota_full"
    SLOT_FULL = "slot_full"
    APPOINTMENT_NOT_FOUND = "appointment_not_found"
    ALREADY_CHECKED_IN = "already_checked_in"
    TOO_EARLY = "too_early"
    APPOINTMENT_EXPIRED = "appointment_expired"
    TICKET_NOT_FOUND = "ticket_not_found"
    REQUEUE_EXPIRED = "requeue_expired"
    UNKNOWN_MATTER = "unknown_matter"
    CASE_NOT_FOUND = "case_not_found"
    WAITING_MATERIALS = "waiting_materials"
    NO_SCHEDULE = "no_schedule"
    EXTENSION_USED = "extension_used"
    EXTENSION_TOO_LONG = "extension_too_long"
    NOT_FOUND = "not_found"
    RATING_EXPIRED = "rating_expired"
    POST_UNCOVERED = "post_uncovered"
    UNKNOWN_COVER = "unknown_cover"
    COVER_IS_SELF = "cover_is_self"
    COVER_UNAVAILABLE = "cover_unavailable"
    STAFF_COVERING = "staff_covering"
    OWN_LEAVE = "own_leave"
    LEAVE_WRONG_LEVEL = "leave_wrong_level"
    LEAVE_APPROVED_TWICE = "leave_approved_twice"
    NOT_REACHED = "not_reached"
    UNKNOWN_REASON = "unknown_reason"
    FOLLOW_UP_NOT_ALLOWED = "follow_up_not_allowed"
    NOT_RECTIFIED = "not_rectified"
    ALREADY_FOLLOWED_UP = "already_followed_up"
    ALREADY_BOOKED = "already_booked"
    BOOKING_LIMIT = "booking_limit"
    APPLICATION_LIMIT = "application_limit"
    NOT_REPLIED = "not_replied"
    UNKNOWN_DEPARTMENT = "unknown_department"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


ERROR_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.BAD_JSON: "消息格式错误，无法解析",
    ErrorCode.TOO_LARGE: "消息过大",
    ErrorCode.INVALID: "消息内容不符合要求",
    ErrorCode.UNKNOWN_TYPE: "不支持的指令",
    ErrorCode.UNKNOWN_DEVICE: "设备未登记，请联系大厅管理员",
    ErrorCode.FORBIDDEN: "本设备无权执行此操作",
    ErrorCode.UNKNOWN_CATEGORY: "没有这项业务",
    ErrorCode.UNKNOWN_WINDOW: "没有这个窗口",
    ErrorCode.UNKNOWN_STAFF: "工号不存在",
    ErrorCode.WINDOW_CLOSED: "窗口未登录，请先登录",
    ErrorCode.WINDOW_PAUSED: "窗口暂停服务中，请先恢复服务",
    ErrorCode.WINDOW_NOT_PAUSED: "窗口未处于暂停状态",
    ErrorCode.WINDOW_TAKEN: "该窗口已有工作人员登录",
    ErrorCode.WINDOW_BUSY: "请先办结或过号当前号",
    ErrorCode.STAFF_ELSEWHERE: "该工作人员已在其他窗口登录",
    ErrorCode.BAD_PASSWORD: "工号或密码错误",
    ErrorCode.LOGIN_LOCKED: "密码错误次数过多，请稍后再试或联系管理员",
    ErrorCode.NO_CURRENT_TICKET: "当前没有正在办理的号",
    ErrorCode.QUEUE_EMPTY: "当前没有等候的群众",
    ErrorCode.RECALL_LIMIT: "已达到重呼次数上限",
    ErrorCode.NOTHING_TO_RATE: "当前没有可评价的服务",
    ErrorCode.ALREADY_RATED: "本次服务已评价，感谢您的参与",
    ErrorCode.CATEGORY_CLOSED: "本业务现在不取号",
    ErrorCode.QUOTA_FULL: "本业务号源已满",
    ErrorCode.SLOT_FULL: "该时段预约已满，请选择其他时段",
    ErrorCode.APPOINTMENT_NOT_FOUND: "没有找到这个预约码，请核对",
    ErrorCode.ALREADY_CHECKED_IN: "该预约已签到取号",
    ErrorCode.TOO_EARLY: "还没到签到时间",
    ErrorCode.APPOINTMENT_EXPIRED: "预约已过期，请重新预约或现场取号",
    ErrorCode.TICKET_NOT_FOUND: "没有找到这个号，请核对号票",
    ErrorCode.REQUEUE_EXPIRED: "过号时间太久，请重新取号",
    ErrorCode.UNKNOWN_MATTER: "事项目录中没有这个事项",
    ErrorCode.CASE_NOT_FOUND: "没有找到这个办件",
    ErrorCode.WAITING_MATERIALS: "该办件正在等待补正材料",
    ErrorCode.NO_SCHEDULE: "尚未导入该年度的节假日安排，无法计算办结时限，请联系管理员",
    ErrorCode.EXTENSION_USED: "该办件已延期过一次，依法不能再次延期",
    ErrorCode.EXTENSION_TOO_LONG: "延期天数超过本事项允许的上限（一般10个工作日，联办件15个，"
                                  "即办件、当日办结件不能延期）",
    ErrorCode.NOT_FOUND: "没有找到该记录",
    ErrorCode.RATING_EXPIRED: "已超过评价期限",
    ErrorCode.POST_UNCOVERED: "批准后将有岗位A、B角同时不在岗，请指定其他人员顶岗",
    ErrorCode.UNKNOWN_COVER: "顶岗人员工号不存在",
    ErrorCode.COVER_IS_SELF: "请假人员本人不能作为顶岗人员",
    ErrorCode.COVER_UNAVAILABLE: "顶岗人员在请假期间有请假或未排班，请另选顶岗人员",
    ErrorCode.STAFF_COVERING: "该人员在此期间是他人请假的顶岗人员，请先为其另找顶岗人员",
    ErrorCode.OWN_LEAVE: "不能审批本人的请假",
    ErrorCode.LEAVE_WRONG_LEVEL: "该请假当前不在您的审批层级，请按审批顺序由本级审批人审批",
    ErrorCode.LEAVE_APPROVED_TWICE: "同一人不能审批同一请假的两个层级",
    ErrorCode.NOT_REACHED: "实名差评须先回访到群众本人",
    ErrorCode.UNKNOWN_REASON: "评价原因不在本大厅的原因列表中，请重新选择",
    ErrorCode.FOLLOW_UP_NOT_ALLOWED: "只有差评（不满意、非常不满意）在整改完成后可以追评",
    ErrorCode.NOT_RECTIFIED: "该差评尚未整改完成，整改完成后才能追评",
    ErrorCode.ALREADY_FOLLOWED_UP: "本次服务已追评，每次服务只能追评一次",
    ErrorCode.ALREADY_BOOKED: "您当天已预约过这项业务，请勿重复预约",
    ErrorCode.BOOKING_LIMIT: "您的有效预约已达上限，请先办理或取消已有预约",
    ErrorCode.APPLICATION_LIMIT: "今天的网上申报次数已达上限，请明天再试或到大厅办理",
    ErrorCode.NOT_REPLIED: "投诉人留有联系电话，须先记录答复再办结",
    ErrorCode.UNKNOWN_DEPARTMENT: "没有这个部门",
    ErrorCode.UNAVAILABLE: "系统暂时不可用，请稍后再试",
    ErrorCode.INTERNAL: "系统内部错误，请稍后再试",
}


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str = Field(description="Chinese text fit to show on the device's screen")
    detail: str | None = Field(default=None, description="English detail for logs and developers")
    next_open: datetime | None = Field(
        default=None, description="category_closed / quota_full: when the category issues tickets again")


# --------------------------------------------------------------------------- shared views
class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Name = Annotated[str, Field(pattern=NAME_PATTERN)]
CommandId = Annotated[str, Field(pattern=COMMAND_ID_PATTERN)]


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class WindowStatus(StrEnum):
    CLOSED = "closed"      # nobody logged in
    IDLE = "idle"          # open, not serving anyone
    SERVING = "serving"    # a ticket was called to this window
    PAUSED = "paused"      # staff paused the window (暂停服务)


class PauseReason(StrEnum):
    AWAY = "away"          # 离开
    MEETING = "meeting"    # 会议
    MEAL = "meal"          # 用餐
    OTHER = "other"        # 其他


class TicketClass(StrEnum):
    """The ticket's class in the call order (docs/queue.md)."""
    GREEN = "green"              # 绿色通道: elderly, disabled, pregnant, military
    APPOINTMENT = "appointment"  # 预约: checked in within the slot's window
    NORMAL = "normal"


class GreenReason(StrEnum):
    ELDERLY = "elderly"          # 老年人 (ID-card age at or above rules.green_age)
    DISABLED = "disabled"        # 残疾人
    PREGNANT = "pregnant"        # 孕妇
    MILITARY = "military"        # 军人
    OTHER = "other"              # 导办 staff judgement


class TicketView(_Msg):
    id: int
    number: str = Field(description="what the citizen sees, e.g. A001")
    category: Name = Field(description="the category it waits in now (a transfer can change it)")
    category_name: str
    status: TicketStatus
    issued_at: datetime
    called_at: datetime | None = None
    window: Name | None = None
    recalls: int = 0
    priority: TicketClass = TicketClass.NORMAL
    green_reason: GreenReason | None = None
    transferred_from: Name | None = Field(default=None, description="the window that transferred it (转移)")
    transfer_reason: str | None = None
    requeued: bool = Field(default=False, description="re-queued after a skip (过号重排)")


class StaffView(_Msg):
    id: Name
    name: str


class StaffToday(_Msg):
    """The staff member's own figures today, on their counter."""
    served: int
    avg_service_s: float | None = Field(description="mean service time (called → completed), seconds")
    ratings: int
    satisfaction: float | None = Field(description="% of ratings 基本满意 or better; null without ratings")
    avg_level: float | None = Field(default=None, description="mean rating level 1–5 (the tablet's stars)")


# --------------------------------------------------------------------------- commands
class _Command(_Msg):
    id: CommandId = Field(description="client-chosen, unique per device; a repeat returns the first reply")


class IssueTicket(_Command):
    """Kiosk asks for a ticket in one service category (取号).

    绿色通道: the kiosk sends the birth date it read from the ID card (never the ID number);
    the server grants the green channel at `rules.green_age`. A 导办 (guide) at the kiosk can
    grant it for another reason with `green_reason`.
    """
    type: Literal["ticket.issue"] = "ticket.issue"
    category: Name
    birth_date: date | None = Field(default=None, description="from the ID card, for the 绿色通道 age check")
    green_reason: GreenReason | None = Field(default=None, description="导办 override: grant the 绿色通道")


class RequeueTicket(_Command):
    """A skipped citizen is back (过号重排): queue the ticket again, after a few others."""
    type: Literal["ticket.requeue"] = "ticket.requeue"
    number: Annotated[str, Field(pattern=r"^[A-Z]{1,3}[0-9]{3,5}$")] = Field(description="today's ticket number")


class CancelTicket(_Command):
    """作废: the kiosk withdraws a ticket it issued that nobody took away (the print failed and
    the citizen did not take the on-screen QR instead). Only while it waits, never after a call."""
    type: Literal["ticket.cancel"] = "ticket.cancel"
    number: Annotated[str, Field(pattern=r"^[A-Z]{1,3}[0-9]{3,5}$")]
    reason: Literal["print_failed", "abandoned"]


class DeviceComponent(StrEnum):
    PRINTER = "printer"          # the kiosk's ticket printer, a counter's receipt printer
    ID_READER = "id_reader"
    LED_PORT = "led_port"
    SCREEN = "screen"
    KEYPAD = "keypad"
    CALENDAR = "calendar"        # the server's own working-day calendar (next year's schedule missing)


class DeviceCondition(StrEnum):
    """How a device part is doing. Anything but ok opens a device alert for the manager."""
    OK = "ok"
    PAPER_NEAR_END = "paper_near_end"    # 纸将尽: still printing, change the roll soon
    PAPER_OUT = "paper_out"              # 缺纸
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"                  # not answering
    FAULT = "fault"


class DeviceReport(_Command):
    """A device tells the server how one of its parts is (paper, ports): the manager's device alerts.
    Send it when the condition changes; sending the same condition again changes nothing."""
    type: Literal["device.report"] = "device.report"
    component: DeviceComponent
    condition: DeviceCondition
    detail: Annotated[str, Field(max_length=200)] = ""


class CheckInAppointment(_Command):
    """预约签到: the citizen enters or scans the appointment code at the kiosk."""
    type: Literal["appointment.check_in"] = "appointment.check_in"
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


IdHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$",
                              description="HMAC-SHA256 of the ID number with the hall's secret: never the number")]
MobilePhone = Annotated[str, Field(pattern=r"^1[3-9][0-9]{9}$", description="a mainland mobile number")]


class BookAppointment(_Command):
    """预约, real-name: book a slot (sent by the server's own HTTP side, POST /api/appointments, which
    checked the ID number and sends only its keyed hash)."""
    type: Literal["appointment.book"] = "appointment.book"
    category: Name
    slot_start: datetime = Field(description="the slot's start, with UTC offset, e.g. 2026-11-24T09:30:00+08:00")
    name: Annotated[str, Field(min_length=2, max_length=20)]
    phone: MobilePhone
    id_hash: IdHash


class Transfer(_Command):
    """Hand the current citizen on (转移) to another window or category, keeping the issue time."""
    type: Literal["window.transfer"] = "window.transfer"
    window: Name
    to_window: Name | None = None
    to_category: Name | None = None
    reason: Annotated[str, Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _one_target(self) -> Transfer:
        if (self.to_window is None) == (self.to_category is None):
            raise ValueError("give exactly one of to_window and to_category")
        return self


class WindowLogin(_Command):
    """Staff log in at a window (窗口登录) with their staff number (工号) and password; the
    window opens. Sent again with the password by a counter that locked itself when idle."""
    type: Literal["window.login"] = "window.login"
    window: Name
    staff: Name
    password: Annotated[str, Field(max_length=128)] | None = Field(
        default=None, description="checked against the staff member's argon2 hash; never stored or logged")


class WindowLogout(_Command):
    type: Literal["window.logout"] = "window.logout"
    window: Name


class CallNext(_Command):
    """Call the next citizen to this window (叫号). A ticket still being served is completed first."""
    type: Literal["window.call_next"] = "window.call_next"
    window: Name


class Recall(_Command):
    """Call the current ticket again (重呼)."""
    type: Literal["window.recall"] = "window.recall"
    window: Name


class Skip(_Command):
    """The called citizen did not come (过号)."""
    type: Literal["window.skip"] = "window.skip"
    window: Name


class Complete(_Command):
    """The service is finished (办结); the window's rating tablet lights up."""
    type: Literal["window.complete"] = "window.complete"
    window: Name


class Pause(_Command):
    """Pause the window (暂停服务) with a reason."""
    type: Literal["window.pause"] = "window.pause"
    window: Name
    reason: PauseReason


class Resume(_Command):
    type: Literal["window.resume"] = "window.resume"
    window: Name


Pages = Annotated[int, Field(ge=1, le=9999, strict=True)]
MaterialName = Annotated[str, Field(min_length=1, max_length=60)]
CaseCode = Annotated[str, Field(pattern=r"^[0-9]{13}$", description="the case number on the receipt (办件编号)")]


Delivery = Literal["window", "mail", "online"]


class AssistedBy(_Msg):
    """代办/帮办 (docs/deadlines.md, rules 003 §15 and 000): who helped the applicant — a staff
    member of the hall (`staff`, 帮办员) or a volunteer by name (`volunteer`, 志愿者), exactly one —
    and for whom (`group`)."""
    group: Literal["老年人", "残疾人", "孕妇", "其他"]
    staff: Name | None = None
    volunteer: Annotated[str, Field(min_length=2, max_length=20, pattern=r"^[^\s<>&]+( [^\s<>&]+)*$")] | None = None

    @model_validator(mode="after")
    def _one_helper(self) -> AssistedBy:
        if (self.staff is None) == (self.volunteer is None):
            raise ValueError("name the staff member or the volunteer who helped: exactly one")
        return self


class AcceptCase(_Command):
    """受理: open a case for the citizen served at this window, with the materials received and
    their pages; every catalogue material not received is missing (一次性告知) and stops the clock.
    `assisted_by`: the 代办/帮办 helper; `delivery`: the result at the window, or 不见面 by mail or online."""
    type: Literal["case.accept"] = "case.accept"
    window: Name
    matter: Name
    received: dict[MaterialName, Pages] = Field(default_factory=dict, max_length=50)
    missing: list[MaterialName] = Field(default_factory=list, max_length=50)
    assisted_by: AssistedBy | None = None
    delivery: Delivery = "window"


class Applicant(_Msg):
    """The real-name applicant of an online application: the ID number only as its keyed hash."""
    name: Annotated[str, Field(min_length=2, max_length=20)]
    phone: MobilePhone
    id_hash: IdHash


class ApplyOnline(_Command):
    """An online application (网上申报) received over HTTP: a case without a window; the
    promised days count from the next working day like any other case. `applicant`: a citizen's
    real-name intake (POST /api/cases/online); none when a logged-in manager enters it."""
    type: Literal["case.apply_online"] = "case.apply_online"
    matter: Name
    received: dict[MaterialName, Pages] = Field(default_factory=dict, max_length=50)
    applicant: Applicant | None = None
    delivery: Delivery = "window"


class SupplementCase(_Command):
    """补正: the missing materials arrive; when none is missing any more the clock runs again."""
    type: Literal["case.supplement"] = "case.supplement"
    window: Name
    case: CaseCode
    received: dict[MaterialName, Pages] = Field(min_length=1, max_length=50)


class AdvanceCase(_Command):
    """The next step of a case: 审核, 审批, 办结, 取件 (in that order), with an optional note."""
    type: Literal["case.advance"] = "case.advance"
    window: Name
    case: CaseCode
    step: Literal["审核", "审批", "办结", "取件"]
    note: Annotated[str, Field(max_length=200)] = ""
    tracking: Annotated[str, Field(max_length=40, pattern=r"^[A-Za-z0-9-]*$",
                                   description="取件 of a case delivered by mail: the tracking number (邮件号)")] = ""


class RequestExtension(_Command):
    """延期: ask for more working days, with a reason told to the applicant; a manager approves it
    on the dashboard. Once per case, at most the matter's limit (行政许可法 §42: 10, 联办件 15;
    即办件 never): else extension_used / extension_too_long."""
    type: Literal["case.request_extension"] = "case.request_extension"
    window: Name
    case: CaseCode
    days: int = Field(ge=1, le=30, strict=True)
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class ApproveExtension(_Command):
    """A manager approves the waiting extension of a case (the server's own HTTP side)."""
    type: Literal["case.approve_extension"] = "case.approve_extension"
    case: CaseCode
    manager: Name


class RectificationAction(_Command):
    """差评整改 on the HTTP side: 核实回访 (`verify`, with `reached`), 整改 (`rectify`), 申诉
    (`appeal`, by the staff member rated, `filed_by` the manager who entered it) and the decision
    (`decide`, with `upheld`; neither the staff member nor whoever filed the appeal may decide it)."""
    type: Literal["rectification.act"] = "rectification.act"
    rectification: int = Field(ge=1, strict=True)
    action: Literal["verify", "rectify", "appeal", "decide"]
    by: Name
    note: Annotated[str, Field(min_length=1, max_length=500)]
    reached: bool = False
    upheld: bool = False
    filed_by: Name | None = None     # an appeal a manager entered for the staff member: that manager


ComplaintNumber = Annotated[str, Field(pattern=r"^TS-[0-9]{8}-[0-9]{3,4}$", description="投诉编号, TS-20261204-001")]
ComplaintChannel = Literal["tablet", "phone", "hotline", "box", "book"]


class ComplaintRegister(_Command):
    """投诉登记 (docs/complaints.md): `channel` tablet (评价器, the window's tablet: its own window),
    phone (手机页面, the citizen), hotline (12345热线), box (意见箱), book (留言簿) — the last three entered
    by staff on the dashboard; optionally assigned at once (`department`, `window`, `staff`)."""
    type: Literal["complaint.register"] = "complaint.register"
    channel: ComplaintChannel
    text: Annotated[str, Field(min_length=1, max_length=1000)]
    name: Annotated[str, Field(max_length=20)] = ""
    phone: Annotated[str, Field(pattern=r"^(1[3-9][0-9]{9})?$")] = Field(
        default="", description="the complainant's mobile number, to be told the result; empty: none given")
    by: Name | None = Field(default=None, description="who entered it (the dashboard's manager); none from a tablet "
                                                      "or the citizen's phone")
    window: Name | None = Field(default=None, description="the window complained about (a tablet: its own)")
    department: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    staff: Name | None = None


class ComplaintAction(_Command):
    """A step of a complaint on the HTTP side: `assign` (department, and window and/or staff), `handle`
    (办理: what was done), `reply` (答复: `method` and `told_at`, when the complainant was told) and
    `close` (办结; a complaint with a phone number only after its reply: not_replied)."""
    type: Literal["complaint.act"] = "complaint.act"
    complaint: ComplaintNumber
    action: Literal["assign", "handle", "reply", "close"]
    by: Name
    note: Annotated[str, Field(max_length=500)] = ""
    department: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    window: Name | None = None
    staff: Name | None = None
    method: Literal["电话", "短信", "当面", "书面", "其他"] | None = None
    told_at: datetime | None = None


class ClockInOut(_Command):
    """考勤: an attendance terminal (fingerprint, face) reports a clock-in or clock-out."""
    type: Literal["attendance.clock"] = "attendance.clock"
    staff: Name
    kind: Literal["in", "out"]
    method: Literal["fingerprint", "face", "card", "other"] = "other"


class CorrectAttendance(_Command):
    """A manager adds a clock event that is missing (补卡), with who and why (the HTTP side)."""
    type: Literal["attendance.correct"] = "attendance.correct"
    staff: Name
    kind: Literal["in", "out"]
    at: datetime
    by: Name
    reason: Annotated[str, Field(min_length=2, max_length=200)]


InquiryOutcome = Literal["answered", "ticket", "referred"]


class InquiryRecord(_Command):
    """首问登记 (docs/inquiries.md): the first-asked staff member records a citizen's question —
    from a counter (`window`: its own; the staff logged in there is the first-asked) or the
    dashboard's 导办台 (`staff`, the first-asked, and `by`, the manager entering it). `answered`:
    answered on the spot (已答复); `to_window` or `to_staff`: handed on at once (已转交); neither:
    登记, to be answered or handed on later. No ID numbers in `question`."""
    type: Literal["inquiry.record"] = "inquiry.record"
    window: Name | None = None
    staff: Name | None = None
    by: Name | None = None
    question: Annotated[str, Field(min_length=1, max_length=200)]
    topic: Name | None = Field(default=None, description="a category or matter id of the hall")
    answered: bool = False
    to_window: Name | None = None
    to_staff: Name | None = None

    @model_validator(mode="after")
    def _one_way(self) -> InquiryRecord:
        if self.to_window is not None and self.to_staff is not None:
            raise ValueError("hand off to a window or to a staff member, not both")
        if self.answered and (self.to_window is not None or self.to_staff is not None):
            raise ValueError("an inquiry answered on the spot is not handed off")
        return self


class InquiryHandOff(_Command):
    """转交: the first-asked hands a recorded (登记) inquiry to a window or a staff member."""
    type: Literal["inquiry.hand_off"] = "inquiry.hand_off"
    inquiry: int = Field(ge=1, strict=True)
    window: Name | None = None
    staff: Name | None = None
    by: Name | None = None
    to_window: Name | None = None
    to_staff: Name | None = None

    @model_validator(mode="after")
    def _one_target(self) -> InquiryHandOff:
        if (self.to_window is None) == (self.to_staff is None):
            raise ValueError("give exactly one of to_window and to_staff")
        return self


class InquiryClose(_Command):
    """The outcome of an inquiry: `answered` (答复), `ticket` (the citizen took a ticket) or
    `referred` (outside the hall). On a 登记 one by the first-asked (已答复); on a 已转交 one by the
    receiver (已办结): the staff member it went to, or the staff at the window it went to."""
    type: Literal["inquiry.close"] = "inquiry.close"
    inquiry: int = Field(ge=1, strict=True)
    window: Name | None = None
    staff: Name | None = None
    by: Name | None = None
    outcome: InquiryOutcome
    note: Annotated[str, Field(max_length=200)] = ""


Score = Annotated[str, Field(pattern=r"^[0-9]{1,3}(\.[0-9]{1,2})?$", description="points as text, ≤ 2 decimals")]


class EvaluationAction(_Command):
    """万众评股室 (docs/evaluation.md) on the HTTP side: `open` a campaign (name, starts, ends, units), a
    score `sheet` (campaign, unit, group, scores per indicator, opinion: entered from paper by `by`, or
    from the group's QR form with its `token`), the leading group's `adjust` (campaign, unit, points −10 … +10,
    reason), `close` the campaign, `rectify` a sheet's opinion (sheet, note: what the unit did)."""
    type: Literal["evaluation.act"] = "evaluation.act"
    action: Literal["open", "sheet", "adjust", "close", "rectify"]
    by: Name | None = None
    campaign: int | None = Field(default=None, ge=1, strict=True)
    name: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    starts: date | None = None
    ends: date | None = None
    units: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list, max_length=500)
    unit: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    group: Name | None = None
    token: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")] | None = None
    scores: dict[Annotated[str, Field(max_length=16)], Score] = Field(default_factory=dict, max_length=100)
    opinion: Annotated[str, Field(max_length=500)] = ""
    points: Annotated[str, Field(pattern=r"^[+-]?[0-9]{1,3}(\.[0-9]{1,2})?$")] | None = None
    reason: Annotated[str, Field(max_length=500)] = ""
    sheet: int | None = Field(default=None, ge=1, strict=True)
    note: Annotated[str, Field(max_length=500)] = ""


class LeaveAction(_Command):
    """请假 on the HTTP side: `request` (staff, kind, start, end, reason, optional cover),
    `decide` (manager, approve, optional cover: else the request's): the next level of
    `[[attendance.leave_levels]]`, the last one approves; `end` (销假)."""
    type: Literal["leave.act"] = "leave.act"
    action: Literal["request", "decide", "end"]
    leave: int | None = Field(default=None, ge=1)
    staff: Name | None = None
    kind: Literal["事假", "病假", "年休假", "调休", "婚假", "产假", "丧假", "公差", "其他"] | None = None
    start: datetime | None = None
    end: datetime | None = None
    reason: Annotated[str, Field(max_length=200)] = ""
    manager: Name | None = None
    approve: bool = False
    cover: Name | None = None


class SubmitRating(_Command):
    """Rate the service just completed at this window (好差评). 5 非常满意 … 1 非常不满意."""
    type: Literal["rating.submit"] = "rating.submit"
    window: Name
    level: int = Field(ge=1, le=5, strict=True, description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    reasons: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=10)
    comment: Annotated[str, Field(max_length=500)] = ""
    phone: Annotated[str, Field(pattern=r"^(1[0-9]{10})?$")] = Field(
        default="", description="the citizen's mobile number for 回访 (follow-up of a 差评), if they give one")


class RateByToken(_Command):
    """Rate one's own service on the phone page behind the ticket's QR code (好差评, channel 3).
    Sent by the server's own HTTP side (POST /t/{token}/rating); one rating per service."""
    type: Literal["rating.submit_by_token"] = "rating.submit_by_token"
    token: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16}$")]
    level: int = Field(ge=1, le=5, strict=True, description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    reasons: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=10)
    comment: Annotated[str, Field(max_length=500)] = ""
    phone: Annotated[str, Field(pattern=r"^(1[0-9]{10})?$")] = Field(
        default="", description="the citizen's mobile number for 回访 (follow-up of a 差评), if they give one")


class FollowUpRating(_Command):
    """追评: the one follow-up rating of a 差评 after its rectification closed as 已整改, linked to
    the first rating. From the ticket's phone page (`token`: channel 3, POST /t/{token}/follow-up)
    or a manager entering the level the citizen gave on a 回访 call (`rectification` and `by`:
    channel 5, POST /api/rectifications/{id}/follow-up). Sent by the server's own HTTP side only."""
    type: Literal["rating.follow_up"] = "rating.follow_up"
    token: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16}$")] | None = None
    rectification: int | None = Field(default=None, ge=1, strict=True)
    by: Name | None = Field(default=None, description="with `rectification`: the manager who entered it")
    level: int = Field(ge=1, le=5, strict=True, description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    reasons: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=10)
    comment: Annotated[str, Field(max_length=500)] = ""

    @model_validator(mode="after")
    def _one_source(self) -> FollowUpRating:
        if (self.token is None) == (self.rectification is None):
            raise ValueError("give exactly one of token and rectification")
        if (self.rectification is None) != (self.by is None):
            raise ValueError("a follow-up entered for a rectification names who entered it (by); a phone one does not")
        return self


Command = Annotated[
    Union[IssueTicket, RequeueTicket, CheckInAppointment, BookAppointment, WindowLogin, WindowLogout, CallNext,
          Recall, Skip, Complete, Transfer, Pause, Resume, SubmitRating, CancelTicket, DeviceReport, RateByToken,
          AcceptCase, ApplyOnline, SupplementCase, AdvanceCase, RequestExtension, ApproveExtension, FollowUpRating,
          RectificationAction, ClockInOut, CorrectAttendance, LeaveAction, ComplaintRegister, ComplaintAction,
          InquiryRecord, InquiryHandOff, InquiryClose, EvaluationAction],
    Field(discriminator="type"),
]
COMMAND_TYPES: tuple[type[_Command], ...] = (
    IssueTicket, RequeueTicket, CheckInAppointment, BookAppointment, WindowLogin, WindowLogout, CallNext, Recall,
    Skip, Complete, Transfer, Pause, Resume, SubmitRating, CancelTicket, DeviceReport, RateByToken,
    AcceptCase, ApplyOnline, SupplementCase, AdvanceCase, RequestExtension, ApproveExtension, FollowUpRating,
    RectificationAction, ClockInOut, CorrectAttendance, LeaveAction, ComplaintRegister, ComplaintAction,
    InquiryRecord, InquiryHandOff, InquiryClose, EvaluationAction,
)
COMMAND_NAMES = frozenset(c.model_fields["type"].default for c in COMMAND_TYPES)
_command_adapter: TypeAdapter[Command] = TypeAdapter(Command)

# Which role may send which command. The server checks this on every command.
ROLE_COMMANDS: dict[Role, frozenset[str]] = {
    Role.KIOSK: frozenset({"ticket.issue", "ticket.requeue", "appointment.check_in", "ticket.cancel",
                           "device.report"}),
    Role.COUNTER: frozenset({"window.login", "window.logout", "window.call_next", "window.recall",
                             "window.skip", "window.complete", "window.transfer", "window.pause",
                             "window.resume", "ticket.requeue", "device.report", "case.accept",
                             "case.supplement", "case.advance", "case.request_extension",
                             "inquiry.record", "inquiry.hand_off", "inquiry.close"}),
    Role.KEYPAD_BRIDGE: frozenset({"window.call_next", "window.recall", "window.skip", "window.complete",
                                   "window.pause", "window.resume", "window.transfer", "device.report"}),
    Role.TABLET: frozenset({"rating.submit", "device.report", "complaint.register"}),
    Role.LED_BRIDGE: frozenset({"device.report"}),
    Role.SCREEN: frozenset({"device.report"}),
    Role.ATTENDANCE_TERMINAL: frozenset({"device.report", "attendance.clock"}),
    Role.WEB: frozenset({"appointment.book", "rating.submit_by_token", "rating.follow_up", "case.approve_extension",
                         "case.apply_online", "rectification.act", "attendance.correct", "leave.act",
                         "complaint.register", "complaint.act",
                         "inquiry.record", "inquiry.hand_off", "inquiry.close", "evaluation.act"}),
}


# --------------------------------------------------------------------------- replies
class Reply(_Msg):
    type: Literal["reply"] = "reply"
    id: str | None = Field(description="the command id; null when the command had no readable id")
    ok: bool
    result: dict[str, Any] | None = None
    error: ErrorBody | None = None


def error_reply(command_id: str | None, code: ErrorCode, detail: str | None = None,
                next_open: datetime | None = None) -> Reply:
    return Reply(id=command_id, ok=False,
                 error=ErrorBody(code=code, message=ERROR_MESSAGES[code], detail=detail, next_open=next_open))


# --------------------------------------------------------------------------- state (retained)
class WindowState(_Msg):
    type: Literal["window.state"] = "window.state"
    window: Name
    number: int = Field(description="the number on the window sign, spoken in calls")
    name: str
    categories: list[Name]
    status: WindowStatus
    staff: StaffView | None = None
    ticket: TicketView | None = None
    pause_reason: PauseReason | None = None
    since: datetime = Field(description="when the window entered this status")
    staff_today: StaffToday | None = Field(default=None, description="the logged-in staff member's figures today")


class CategoryQueue(_Msg):
    category: Name
    name: str
    prefix: str
    waiting: int
    open_windows: int
    issuing: bool = Field(default=True, description="tickets can be taken now")
    not_issuing_because: Literal["closed", "quota_full"] | None = Field(
        default=None, description="closed: outside the hours or after 停止取号; quota_full: 号源已满")
    next_open: datetime | None = Field(default=None, description="when it issues again")
    estimated_wait_s: int | None = Field(
        default=None, description="预计等候 of a normal ticket taken now (refreshed every few seconds); "
                                  "null when no open window serves the category")


class QueueState(_Msg):
    type: Literal["queue.state"] = "queue.state"
    categories: list[CategoryQueue]
    at: datetime


class DevicePresence(_Msg):
    """A device's own retained message: online when it connects; its MQTT last will (and its
    clean shutdown) says offline. The server uses it for 离岗 (a counter offline in a shift)."""
    type: Literal["device.presence"] = "device.presence"
    online: bool


class ServerState(_Msg):
    type: Literal["server.state"] = "server.state"
    online: bool
    hall_name: str = ""
    at: datetime | None = None


class HallConfigState(_Msg):
    """The hall's settings as devices see them: hall.toml with every secret left out (broker and
    database accounts, device passwords, staff and manager password hashes, the ratings' key)."""
    type: Literal["hall.config"] = "hall.config"
    config: dict[str, Any]


class InquiryItem(_Msg):
    inquiry: int
    question: str
    topic: str = ""
    asked_by: str = Field(description="the first-asked staff member's id")
    asked_by_name: str = ""
    from_window: str = Field(default="", description="the window it was asked at; empty: the 导办台")
    to_staff: str = Field(default="", description="handed to this staff member; empty: to the window")
    handed_at: datetime


class InquiryList(_Msg):
    """Retained on `state/inquiries/{window}`: the 首问 inquiries (已转交) the window is to answer —
    handed to the window, or to the staff member logged in there."""
    type: Literal["inquiry.list"] = "inquiry.list"
    window: Name
    items: list[InquiryItem] = Field(default_factory=list, max_length=200)


# --------------------------------------------------------------------------- events (QoS 1)
class TicketIssued(_Msg):
    type: Literal["ticket.issued"] = "ticket.issued"
    ticket: TicketView
    waiting_ahead: int


class TicketCalled(_Msg):
    """A number is called: "请 A001 号到 3 号窗口办理". Recalls have recall > 0."""
    type: Literal["ticket.called"] = "ticket.called"
    ticket: TicketView
    window: Name
    window_number: int
    window_name: str
    recall: int = 0


class TicketSkipped(_Msg):
    type: Literal["ticket.skipped"] = "ticket.skipped"
    ticket: TicketView
    window: Name


class TicketTransferred(_Msg):
    type: Literal["ticket.transferred"] = "ticket.transferred"
    ticket: TicketView
    from_window: Name
    to_window: Name | None = None
    to_category: Name | None = None
    reason: str


class TicketRequeued(_Msg):
    type: Literal["ticket.requeued"] = "ticket.requeued"
    ticket: TicketView


class TicketCancelled(_Msg):
    type: Literal["ticket.cancelled"] = "ticket.cancelled"
    ticket: TicketView
    reason: str


class DeviceAlert(_Msg):
    """A device part changed condition: an alert opens (condition not ok) or closes (ok)."""
    type: Literal["device.alert"] = "device.alert"
    device: Name
    component: DeviceComponent
    condition: DeviceCondition
    detail: str = ""
    open: bool = Field(description="true while the condition needs someone; false when it is ok again")
    since: datetime


class CaseColour(_Msg):
    """A case's colour changed (红黄绿, with the calendar or an action): the dashboard and the
    handler's counter show yellow and red ones."""
    type: Literal["case.colour"] = "case.colour"
    case: str
    matter: str
    window: str
    staff: str
    colour: Literal["green", "yellow", "red"]
    due: datetime
    waiting_materials: bool = False
    finished: bool = False


class ComplaintColour(_Msg):
    """A complaint turned red (overdue: open past its deadline) or was closed after being red; the
    managers' board shows the red ones (docs/complaints.md)."""
    type: Literal["complaint.colour"] = "complaint.colour"
    complaint: str
    department: str
    window: str
    colour: Literal["green", "red"]
    due: datetime
    closed: bool = False


class CaseDigest(_Msg):
    """每日通报: once a day at closing time, per department: today's accepted and finished cases
    and the open ones by colour."""
    type: Literal["case.digest"] = "case.digest"
    day: date
    departments: dict[str, dict[str, int]]


class PostCoverage(_Msg):
    """AB岗: a post's state changed — `a` (A at the post), `b` (A away: B covers at `window`,
    which now also calls the post's categories), `uncovered` (neither)."""
    type: Literal["post.coverage"] = "post.coverage"
    post: str
    name: str
    a: str
    b: str
    state: Literal["a", "b", "uncovered"]
    window: str | None = None


class CoverageAlert(_Msg):
    """前台不断档: a front-desk category has no staffed, open window (open), or has one again
    (closed, with the minutes it was empty)."""
    type: Literal["coverage.alert"] = "coverage.alert"
    category: str
    open: bool
    since: datetime
    minutes: int | None = None


class RatingCode(_Msg):
    """评价码, retained on the window's own tablet topic (`Topics.tablet_rating`) at 办结: the
    code that the window's static rating QR asks for with the ticket number. Only the tablet of
    that window may read it (broker ACL); the hall screen, LEDs and counters never see it."""
    type: Literal["rating.code"] = "rating.code"
    window: Name
    ticket: Annotated[str, Field(pattern=r"^[A-Z]{1,3}[0-9]{3,5}$")] = Field(description="the ticket number")
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    valid_until: datetime = Field(description="the static QR takes the code until then")


class ServiceCompleted(_Msg):
    type: Literal["service.completed"] = "service.completed"
    ticket: TicketView
    window: Name
    staff: StaffView


class RatingRecorded(_Msg):
    type: Literal["rating.recorded"] = "rating.recorded"
    rating_id: int
    ticket: TicketView
    window: Name
    staff: Name
    level: int
    channel: int = Field(description="好差评 channel code: 1 PC, 2 mobile, 3 QR, 4 hall tablet, "
                         "5 other hall terminal, 6 SMS, 7 system default")


EVENT_TYPES: tuple[type[_Msg], ...] = (TicketIssued, TicketCalled, TicketSkipped, TicketTransferred,
                                       TicketRequeued, TicketCancelled, ServiceCompleted, RatingRecorded,
                                       DeviceAlert, CaseColour, CaseDigest, CoverageAlert, PostCoverage,
                                       ComplaintColour)
STATE_TYPES: tuple[type[_Msg], ...] = (WindowState, QueueState, ServerState, DevicePresence, RatingCode,
                                       HallConfigState, InquiryList)


# --------------------------------------------------------------------------- parsing
class ContractError(Exception):
    """A payload that breaks the contract; carries the error reply to send back."""

    def __init__(self, code: ErrorCode, detail: str, command_id: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.command_id = command_id

    def reply(self) -> Reply:
        return error_reply(self.command_id, self.code, self.detail)


_COMMAND_BY_NAME: dict[str, type[_Command]] = {x.model_fields["type"].default: x for x in COMMAND_TYPES}


def _problems(exc: ValidationError, skip: int = 1) -> str:
    """The first five problems, each with its field (`skip`: the union's tag at the front of the path)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'][skip:]) or '(message)'}: {e['msg']}"
                     for e in exc.errors()[:5])


def command(kind: str, **fields: Any) -> dict[str, Any]:
    """A command as a device sends it, built by the contract's own type: an unknown type or
    field, a wrong or a missing value is a ContractError here, on the device, before anything
    is sent. The id is the link's to give (DeviceLink.request)."""
    model = _COMMAND_BY_NAME.get(kind)
    if model is None:
        raise ContractError(ErrorCode.UNKNOWN_TYPE, f"unknown command type {kind[:40]!r}")
    try:
        built = model.model_validate({"id": "on-the-device", "type": kind, **fields})
    except ValidationError as exc:
        raise ContractError(ErrorCode.INVALID, f"{kind}: {_problems(exc, skip=0)}") from None
    return built.model_dump(mode="json", exclude_unset=True, exclude={"id"})


def parse_command(payload: bytes) -> Command:
    """Turn raw bytes into a validated command, or raise ContractError with the reply to send."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError(ErrorCode.TOO_LARGE, f"payload is {len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ContractError(ErrorCode.BAD_JSON, f"not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ContractError(ErrorCode.BAD_JSON, "payload must be a JSON object")
    raw_id = data.get("id")
    command_id = raw_id if isinstance(raw_id, str) and re.match(COMMAND_ID_PATTERN, raw_id) else None
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in COMMAND_NAMES:
        raise ContractError(ErrorCode.UNKNOWN_TYPE, f"unknown command type {str(kind)[:40]!r}", command_id)
    try:
        return _command_adapter.validate_python(data)
    except ValidationError as exc:
        raise ContractError(ErrorCode.INVALID, _problems(exc), command_id) from None


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json(exclude_none=False).encode("utf-8")


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per message, keyed by the message's type."""
    out: dict[str, dict[str, Any]] = {}
    for model in (*COMMAND_TYPES, Reply, *STATE_TYPES, *EVENT_TYPES):
        name = model.model_fields["type"].default
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://govhall.example/schemas/{VERSION}/{name}.json"
        out[name] = schema
    return out
