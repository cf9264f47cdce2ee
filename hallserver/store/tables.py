"""The database schema. Alembic migrations in ./migrations must build exactly this."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UtcDateTime(TypeDecorator):
    """Stored as naive UTC (portable to SQLite and PostgreSQL), returned timezone-aware."""
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


tickets = Table(
    "tickets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("day", Date, nullable=False),
    Column("category", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("number", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("issued_by", String(64), nullable=False),
    Column("called_at", UtcDateTime),
    Column("window", String(64)),
    Column("staff", String(64)),
    Column("recalls", Integer, nullable=False, default=0),
    Column("finished_at", UtcDateTime),
    # 0002: the call order (docs/queue.md). `category` is the number's category; a transfer
    # can move the ticket to another `service_category`.
    Column("service_category", String(64)),
    Column("priority", String(16), nullable=False, server_default="normal"),
    Column("green_reason", String(16)),
    Column("callback_seq", Integer),
    Column("requeue_after_id", Integer),
    Column("transfer_to_window", String(64)),
    Column("transferred_from", String(64)),
    Column("transfer_reason", String(200)),
    Column("requeued", Boolean, nullable=False, server_default=false()),
    Column("first_called_at", UtcDateTime),     # the wait (等候时长) ends here, whatever came after
    Column("token", String(32)),                # the phone page /t/{token}: unguessable, good for the day
    Index("ix_tickets_token", "token", unique=True),
    UniqueConstraint("day", "category", "seq", name="uq_tickets_day_category_seq"),
    Index("ix_tickets_status", "status"),
)

windows = Table(
    "windows", metadata,
    Column("id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("since", UtcDateTime),
    Column("staff", String(64)),
    Column("ticket_id", Integer, ForeignKey("tickets.id", name="fk_windows_ticket")),
    Column("pause_reason", String(16)),
    Column("last_served_id", Integer, ForeignKey("tickets.id", name="fk_windows_last_served")),
    Column("last_served_rated", Boolean, nullable=False, default=False),
)

ratings = Table(
    "ratings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("ticket_id", Integer, ForeignKey("tickets.id", name="fk_ratings_ticket"), nullable=False),
    Column("window", String(64), nullable=False),
    Column("staff", String(64), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("comment", Text, nullable=False),
    Column("channel", SmallInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("phone", String(11), nullable=False, server_default=""),       # for 回访, when the citizen gave one
    Column("prev_hash", String(64), nullable=False, server_default=""),
    Column("hash", String(64), nullable=False, server_default=""),
    UniqueConstraint("ticket_id", name="uq_ratings_ticket"),
)

commands = Table(
    "commands", metadata,
    Column("device", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("reply", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("device", "id", name="pk_commands"),
    Index("ix_commands_at", "at"),
)

# 0003: 预约
appointments = Table(
    "appointments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(16), nullable=False),
    Column("category", String(64), nullable=False),
    Column("slot_start", UtcDateTime, nullable=False),
    Column("slot_end", UtcDateTime, nullable=False),
    Column("name", String(40), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("booked_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("ticket_id", Integer, ForeignKey("tickets.id", name="fk_appointments_ticket")),
    Column("checked_in_at", UtcDateTime),
    Column("late", Boolean, nullable=False, server_default=false()),
    Column("id_hash", String(64), nullable=False, server_default=""),   # 0022: the ID number's keyed hash
    Index("ix_appointments_slot", "category", "slot_start"),
    Index("ix_appointments_code", "code"),
)

# 0004: pauses (暂停服务) for attendance
window_pauses = Table(
    "window_pauses", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("window", String(64), nullable=False),
    Column("staff", String(64)),
    Column("reason", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Index("ix_window_pauses_started", "started_at"),
)

# 办件: one row per case, its steps, 补正 pauses and extensions kept as JSON lists (append-only in use)
cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(16), nullable=False, unique=True),
    Column("token", String(32), nullable=False, unique=True),
    Column("matter", String(64), nullable=False),
    Column("ticket_id", Integer),
    Column("window", String(64), nullable=False),
    Column("accepted_at", UtcDateTime, nullable=False),
    Column("accepted_by", String(64), nullable=False),
    Column("step", String(8), nullable=False),
    Column("received", Text, nullable=False),
    Column("missing", Text, nullable=False),
    Column("steps", Text, nullable=False),
    Column("pauses", Text, nullable=False),
    Column("extensions", Text, nullable=False),
    Column("finished", Boolean, nullable=False),
    Column("completed_at", UtcDateTime),          # 办结: when the case was completed (reports read by it)
    Column("terms", Text),                        # the matter as accepted (JSON): its limits stay the case's
    Column("applicant", Text),                    # 0022: an online intake's name, phone, ID hash (JSON)
    Column("assisted", Text),                     # 0026: 代办/帮办: the helper and for whom (JSON)
    Column("delivery", String(8)),                # 0026: window, mail, online (不见面); None: window
    Column("tracking", String(40)),               # 0026: the mail's tracking number (邮件号)
    Index("ix_cases_open", "finished"),
    Index("ix_cases_accepted_at", "accepted_at"),
    Index("ix_cases_completed_at", "completed_at"),
)

# 差评整改: one row per bad rating, its records (核实回访, 整改, 申诉, 申诉决定) as a JSON list
rectifications = Table(
    "rectifications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("rating_id", Integer, ForeignKey("ratings.id", name="fk_rectifications_rating"), nullable=False,
           unique=True),
    Column("window", String(64), nullable=False),
    Column("staff", String(64), nullable=False),
    Column("department", String(40), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("phone", String(11), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("records", Text, nullable=False),
    Column("status", String(8), nullable=False),
)

# 投诉: one row per complaint, its steps (分派, 办理, 答复, 办结) as a JSON list (docs/complaints.md)
complaints = Table(
    "complaints", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("number", String(20), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("name", String(20), nullable=False),
    Column("phone", String(11), nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("registered_by", String(64), nullable=False),
    Column("days", SmallInteger, nullable=False),
    Column("department", String(40), nullable=False),
    Column("status", String(8), nullable=False),
    Column("steps", Text, nullable=False),
    Index("ix_complaints_registered_at", "registered_at"),
)

# 追评: the one follow-up rating of a 差评 after its 整改, linked to the first rating; append-only
# (triggers, migration 0024) and hash-chained in a chain of its own (rating_chain.py)
rating_follow_ups = Table(
    "rating_follow_ups", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("rating_id", Integer, ForeignKey("ratings.id", name="fk_rating_follow_ups_rating"), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("comment", Text, nullable=False),
    Column("channel", SmallInteger, nullable=False),
    Column("by", String(64), nullable=False),         # the manager who entered a 回访's answer, else ""
    Column("at", UtcDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("rating_id", name="uq_rating_follow_ups_rating"),
)

# 首问负责制: one row per inquiry, its hand-off and outcome (docs/inquiries.md, migration 0025)
inquiries = Table(
    "inquiries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("asked_by", String(64), nullable=False),
    Column("window", String(64), nullable=False),
    Column("entered_by", String(64), nullable=False),
    Column("question", String(200), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("status", String(8), nullable=False),
    Column("to_window", String(64), nullable=False),
    Column("to_staff", String(64), nullable=False),
    Column("handed_at", UtcDateTime, nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("note", String(200), nullable=False),
    Column("closed_by", String(64), nullable=False),
    Column("closed_window", String(64), nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Index("ix_inquiries_recorded_at", "recorded_at"),
    Index("ix_inquiries_status", "status"),
)

# 考勤: clock events as received, never edited; a correction is one more row with who and why
attendance_events = Table(
    "attendance_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("staff", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(4), nullable=False),
    Column("source", String(16), nullable=False),
    Column("by", String(64), nullable=False),
    Column("reason", String(200), nullable=False),
    Index("ix_attendance_events_at", "at"),
)

# counters offline while someone was logged in (离岗 when long), from the devices' presence
counter_offline = Table(
    "counter_offline", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device", String(64), nullable=False),
    Column("staff", String(64), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
)

# 请假
leaves = Table(
    "leaves", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("staff", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("status", String(12), nullable=False),
    Column("cover", String(64)),
    Column("decided_by", String(64)),
    Column("ended_at", UtcDateTime),
    Column("approvals", Text),     # 请销假 by level: JSON [[who, ISO time], …] of the levels passed
)

# 前台不断档: each time a front-desk category was left without an open window
coverage_alerts = Table(
    "coverage_alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("category", String(64), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
)

# AB岗 coverage per day and post: minutes covered by A, by B, by nobody (kept up to date on the tick)
coverage_minutes = Table(
    "coverage_minutes", metadata,
    Column("day", Date, nullable=False),
    Column("post", String(64), nullable=False),
    Column("a_min", Integer, nullable=False),
    Column("b_min", Integer, nullable=False),
    Column("none_min", Integer, nullable=False),
    PrimaryKeyConstraint("day", "post", name="pk_coverage_minutes"),
)

# the same per category of a post: covered by an A of its posts, a B, someone else, or nobody
category_coverage_minutes = Table(
    "category_coverage_minutes", metadata,
    Column("day", Date, nullable=False),
    Column("category", String(64), nullable=False),
    Column("a_min", Integer, nullable=False),
    Column("b_min", Integer, nullable=False),
    Column("other_min", Integer, nullable=False),
    Column("none_min", Integer, nullable=False),
    PrimaryKeyConstraint("day", "category", name="pk_category_coverage_minutes"),
)

# a citizen's phone number for 回访, kept beside the rating (outside its signed record) so that
# it can be masked when the retention period ends
rating_contacts = Table(
    "rating_contacts", metadata,
    Column("rating_id", Integer, ForeignKey("ratings.id", name="fk_rating_contacts_rating"), primary_key=True),
    Column("phone", String(11), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

# 审计日志: who did what and how it ended, append-only and hash-chained like the ratings
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("detail", String(200), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# the manager's adjustments of a window's ranking score, each with its reason (append-only)
score_adjustments = Table(
    "score_adjustments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("window", String(64), nullable=False),
    Column("points", Integer, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("by", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

# 设备告警: one row per condition of a device part, open until the device reports it ok
device_alerts = Table(
    "device_alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device", String(64), nullable=False),
    Column("component", String(16), nullable=False),
    Column("condition", String(16), nullable=False),
    Column("detail", String(200), nullable=False, default=""),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Index("ix_device_alerts_open", "device", "component", "closed_at"),
)

# managers' dashboard sessions, kept across a restart of the server: the token only as its SHA-256
web_sessions = Table(
    "web_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("manager", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)

# 告警确认: a manager acknowledged an alert (by its key and the moment it opened); append-only
alert_acks = Table(
    "alert_acks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert", String(120), nullable=False),
    Column("since", String(40), nullable=False),
    Column("by", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_alert_acks_alert", "alert", "since"),
)

# 运行报表: a finished hall day's report tallies, counted once (days whose figures can no longer change)
report_days = Table(
    "report_days", metadata,
    Column("day", Date, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("tallies", Text, nullable=False),
    Column("built_at", UtcDateTime, nullable=False),
)

# 万众评股室 (docs/evaluation.md, migration 0028): campaigns (the sheet and groups fixed at opening,
# JSON), the score sheets with their 征求意见 and its 整改, the leading group's adjustments (append-only)
evaluation_campaigns = Table(
    "evaluation_campaigns", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(60), nullable=False),
    Column("starts", Date, nullable=False),
    Column("ends", Date, nullable=False),
    Column("units", Text, nullable=False),
    Column("indicators", Text, nullable=False),
    Column("groups", Text, nullable=False),
    Column("tokens", Text, nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("status", String(8), nullable=False),
    Column("closed_by", String(64), nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
)
evaluation_sheets = Table(
    "evaluation_sheets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("campaign", Integer, nullable=False),
    Column("unit", String(40), nullable=False),
    Column("rater_group", String(32), nullable=False),
    Column("scores", Text, nullable=False),
    Column("opinion", Text, nullable=False),
    Column("source", String(8), nullable=False),
    Column("entered_by", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("opinion_status", String(8), nullable=False),
    Column("rectified_note", Text, nullable=False),
    Column("rectified_by", String(64), nullable=False),
    Column("rectified_at", UtcDateTime, nullable=True),
    Index("ix_evaluation_sheets_campaign", "campaign"),
)
evaluation_adjustments = Table(
    "evaluation_adjustments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("campaign", Integer, nullable=False),
    Column("unit", String(40), nullable=False),
    Column("points", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("entered_by", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
