"""The repository: load the engine's snapshot, look up command replies, save one command.

Each command is saved in one transaction: the tickets, windows and ratings it changed and
its reply in the command log. Either all of it is committed or none of it.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from statistics import mean
from time import monotonic

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from govhall.contract import GreenReason, PauseReason, TicketClass, TicketStatus, WindowStatus
from hallserver.domain.appointments import Appointment, AppointmentStatus
from hallserver.domain.attendance import ClockEvent, Leave, PauseSpan
from hallserver.domain.cases import Assist, Case, Delivery, Extension, Matter, MatterKind, StepRecord
from hallserver.domain.cases import Step as CaseStep
from hallserver.domain.complaints import Complaint
from hallserver.domain.devices import DeviceAlert
from hallserver.domain.evaluation import Adjustment, Campaign, SheetRecord
from hallserver.domain.follow_up import FollowUp
from hallserver.domain.inquiries import Inquiry
from hallserver.domain.queue import Changes, Snapshot, StaffDay, Ticket, Window
from hallserver.domain.rectification import Record as RectificationRecord
from hallserver.domain.rectification import Rectification
from hallserver.domain.workdays import Pause
from hallserver.rating_chain import GENESIS, audit_link, follow_up_link, link
from hallserver.store.bulk import BulkStatement
from hallserver.store.complaint_rows import complaint_from_row, complaint_row
from hallserver.store.evaluation_rows import (
    adjustment_from_row,
    adjustment_row,
    campaign_from_row,
    campaign_row,
    sheet_from_row,
    sheet_row,
)
from hallserver.store.facts import RatingFact, TicketFact
from hallserver.store.inquiry_rows import inquiry_from_row, inquiry_row
from hallserver.store.tables import (
    alert_acks,
    appointments,
    attendance_events,
    audit_log,
    cases,
    category_coverage_minutes,
    commands,
    complaints,
    counter_offline,
    coverage_alerts,
    coverage_minutes,
    device_alerts,
    evaluation_adjustments,
    evaluation_campaigns,
    evaluation_sheets,
    inquiries,
    leaves,
    rating_contacts,
    rating_follow_ups,
    ratings,
    rectifications,
    tickets,
    web_sessions,
    window_pauses,
    windows,
)
from hallserver.store.tables import score_adjustments as adjustments_table
from hallserver.store.wal import AUTOCHECKPOINT_PAGES, WalCheckpointer

log = logging.getLogger("hallserver.store")

MIGRATIONS = Path(__file__).parent / "migrations"
KNOWN_COMMAND_DAYS = 7    # a device repeats a command within seconds; a week is far beyond any retry
# A group commit's connection is kept for the next batch while the hall is busy (no pool
# checkout, no ping, per batch); one left unused this long goes back to the pool and the
# next batch takes one that is checked first (pool_pre_ping), as after a quiet spell the
# database may have restarted.
BATCH_CONNECTION_IDLE_S = 2.0
# SQLite's primary result codes for a database that takes no writes for now (Store.refuses_every_write):
# BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN
_SQLITE_REFUSES = {5, 6, 7, 8, 10, 13, 14}
BUSY_WAIT_MS = 5000       # how long a command's write waits for another program's lock (SQLite)
BRIEF_WAIT_MS = 200       # the same for the server's own periodic writes, which try again later

# the statements of the command path, built once: SQLAlchemy then finds them compiled in its
# cache without working out a cache key each time (a third of a save's time at 1,000 commands/s)
_FIND_REPLY = select(commands.c.reply).where(commands.c.device == bindparam("b_device"),
                                             commands.c.id == bindparam("b_id"))
_UPDATE_TICKET = update(tickets).where(tickets.c.id == bindparam("b_id"))
_SAVE_WINDOW = "save window"     # an upsert, in the database's own words (Store._statements)
_INSERT_COMMAND = insert(commands)
_LAST_AUDIT = select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
_INSERT_AUDIT = insert(audit_log)
_INSERT_TICKET = insert(tickets)
_INSERT_RATING = insert(ratings)
_IN_ORDER = (_INSERT_TICKET, _UPDATE_TICKET, _SAVE_WINDOW, _INSERT_RATING, _INSERT_COMMAND, _INSERT_AUDIT)
_Link = namedtuple("_Link", "id hash")    # the last row of a hash chain
_LAST_RATING_HASH = select(ratings.c.id, ratings.c.hash).order_by(ratings.c.id.desc()).limit(1)
_LAST_FOLLOW_UP_HASH = select(rating_follow_ups.c.id, rating_follow_ups.c.hash) \
    .order_by(rating_follow_ups.c.id.desc()).limit(1)
OPEN_STATUSES = (TicketStatus.WAITING.value, TicketStatus.CALLED.value)


def redact_url(url: str) -> str:
    """The URL with any password removed, fit for logs and summaries."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"


def _window_upsert(dialect: str):   # noqa: ANN202 - an INSERT … ON CONFLICT DO UPDATE
    """A window's row written whether or not it was saved before (one statement for many rows,
    no row count to read back: PostgreSQL's pipeline gives none until the batch is sent)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert  # the dialect's own INSERT … ON CONFLICT
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # the dialect's own INSERT … ON CONFLICT
    else:
        raise ValueError(f"govhall keeps its hall in SQLite or PostgreSQL, not {dialect}")
    statement = dialect_insert(windows)
    return statement.on_conflict_do_update(
        index_elements=[windows.c.id],
        set_={col.name: statement.excluded[col.name] for col in windows.c if col.name != "id"})


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")   # WAL + NORMAL: durable against process crashes
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_WAIT_MS}")
    cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")   # wal.py checkpoints beside the writer
    cur.close()


@dataclass(frozen=True)
class Summary:
    tickets_issued: int
    tickets_served: int
    tickets_skipped: int
    tickets_waiting: int
    tickets_cancelled: int
    avg_wait_s: float
    max_wait_s: float
    ratings: int
    ratings_by_level: dict[int, int]
    avg_wait_s_by_class: dict[str, float]


class Store:
    rating_secret: str | None = None      # ratings.secret: the key of the ratings' hash chain

    def __init__(self, url: str) -> None:
        # the audit chain is written from the writer and the web; a batch holds it to its commit
        self._audit_lock = threading.RLock()
        self._batch = threading.local()           # the writer thread's open batch, if any
        self._tails: dict[str, _Link] = {}        # the hash chains' committed last links (_chains)
        self._checkpointer: WalCheckpointer | None = None
        # (device, command id) of the command log's last KNOWN_COMMAND_DAYS days and since: a
        # command not in it is new, and its repeat check costs no database read
        self._known_commands: set[tuple[str, str]] | None = None
        self._held: dict[Connection, threading.Thread] = {}   # the batches' kept connections and their threads
        self.url = url
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # PostgreSQL: a batch's rows go in one round trip (psycopg's pipeline), not one per kind
        self._pipelined = self.engine.dialect.name == "postgresql"
        self._statements = {_SAVE_WINDOW: _window_upsert(self.engine.dialect.name)}
        self._bulk = {s: BulkStatement(self._statements.get(s, s), self.engine.dialect) for s in _IN_ORDER}
        self._dbapi_error = self.engine.dialect.loaded_dbapi.Error

    # ---------------------------------------------------------------- transactions
    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for several commands (group commit): every read and write of this
        thread inside goes through it, so a command sees the ones before it in the batch, and
        all of them are committed together at the end, or none if anything raised."""
        conn = self._batch_connection()
        try:
            with self._audit_lock, self._chains(), conn.begin():
                self._batch.conn = conn
                self._batch.rows = {}            # the batch's common writes, sent together (see _later)
                self._batch.broken = None        # a read or write inside that failed, even if its caller went on
                try:
                    yield
                    if self._batch.broken is not None:
                        raise RuntimeError("a read or write inside the batch failed; none of it is kept") \
                            from self._batch.broken
                    self._send_rows(conn)
                finally:
                    self._batch.conn = None
                    self._batch.rows = None
                    self._batch.broken = None
        except BaseException:
            self._release_batch_connection()     # perhaps the broken one: the next batch takes another
            raise
        self._batch.used_at = monotonic()

    @staticmethod
    def refuses_every_write(exc: BaseException) -> bool:
        """Did a write fail because of the database, not of what was written, so that every
        other write fails the same way for now? SQLite busy or locked by another program,
        the disk full, read-only or failing, out of memory; PostgreSQL out of disk, memory
        or connections (class 53), a lock not available, a read-only server, or no server to
        reach at all. Not: a connection lost (08…, an administrator's shutdown 57P01–03: the
        next transaction gets a new one), a deadlock or serialization failure (class 40:
        running again succeeds), a cancelled statement, or any error in what was written."""
        while exc is not None and not isinstance(exc, DBAPIError):
            exc = exc.__cause__
        if not isinstance(exc, OperationalError) or exc.connection_invalidated:
            return False
        orig = exc.orig
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_REFUSES
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate is None:             # no answer from a server: it could not be reached
            return True
        return sqlstate.startswith("53") or sqlstate in ("55P03", "25006")

    def _batch_connection(self) -> Connection:
        """This thread's connection for batches: the last batch's while the hall is busy, else a
        checked one from the pool (see BATCH_CONNECTION_IDLE_S)."""
        self.release_idle_batch_connection()
        conn = getattr(self._batch, "held", None)
        if conn is None:
            conn = self._batch.held = self.engine.connect()
            self._held[conn] = threading.current_thread()
        return conn

    def release_idle_batch_connection(self, force: bool = False) -> None:
        """Hand this thread's kept batch connection back to the pool if it has not been used for
        BATCH_CONNECTION_IDLE_S, or now with `force` (the writer calls this on its tick, so that
        a quiet hall holds no connection a database or a firewall might close under it, and
        when it stops)."""
        conn = getattr(self._batch, "held", None)
        if conn is not None and (force or conn.invalidated or conn.closed
                                 or monotonic() - self._batch.used_at > BATCH_CONNECTION_IDLE_S):
            self._release_batch_connection()

    def _release_batch_connection(self) -> None:
        """Hand this thread's kept batch connection back (the writer also does when it stops)."""
        conn = getattr(self._batch, "held", None)
        self._batch.held = None
        if conn is not None:
            self._close_kept(conn)

    def _close_kept(self, conn: Connection) -> None:
        self._held.pop(conn, None)
        try:
            conn.close()
        except Exception:              # a dead connection: the pool has already let it go
            log.warning("a kept batch connection could not be closed cleanly", exc_info=True)

    @contextmanager
    def _chains(self) -> Iterator[None]:
        """The hash chains' last links written in one transaction (self._batch.tails), kept as the
        known ends (self._tails) once it has committed; any failure forgets the known ends, so the
        next transaction reads them from the database (another writer cannot fork the audit
        chain unnoticed: its line would take the same id)."""
        if getattr(self._batch, "tails", None) is not None:     # inside a transaction already
            yield
            return
        self._batch.tails = {}
        try:
            yield
        except BaseException:
            self._tails.clear()
            raise
        else:
            self._tails.update(self._batch.tails)
        finally:
            self._batch.tails = None

    @property
    def batching(self) -> bool:
        return getattr(self._batch, "conn", None) is not None

    def _later(self, statement, params: dict | list[dict]) -> None:   # noqa: ANN001 - one of _IN_ORDER
        """Inside a batch, the rows the busy commands write (new and changed tickets, windows,
        ratings, the command log and the audit) wait and go to the database together, one
        statement for all rows of a kind, in an order the foreign keys accept. Anything else
        that reads or writes in the batch sends them first, so it sees them."""
        self._batch.rows.setdefault(statement, []).extend(params if isinstance(params, list) else [params])

    def _send_rows(self, conn: Connection) -> None:
        rows = getattr(self._batch, "rows", None)
        if not rows:
            return
        self._batch.rows = {}
        try:
            with self._pipeline(conn):
                for statement in _IN_ORDER:
                    params = rows.pop(statement, None)
                    if params:
                        self._bulk[statement].execute(conn, params)
        except DBAPIError:
            raise
        except self._dbapi_error as exc:
            # raised by psycopg when the pipeline ends, past SQLAlchemy: told as SQLAlchemy tells
            # it (an IntegrityError is one), and a connection that died is not handed out again
            gone = False
            try:
                gone = self.engine.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
                if gone:
                    conn.invalidate()
            except Exception:
                pass
            raise DBAPIError.instance(None, None, exc, self._dbapi_error, connection_invalidated=gone,
                                      dialect=self.engine.dialect) from exc
        if rows:
            raise RuntimeError(f"statements without a place in the batch's order: {list(rows)}")

    def _pipeline(self, conn: Connection):   # noqa: ANN202 - a context manager
        """On PostgreSQL, the statements inside go out together and their answers come back
        together (psycopg's pipeline mode: one round trip instead of one per statement); a
        failure among them is raised when the block ends. Elsewhere nothing changes."""
        if not self._pipelined:
            return nullcontext()
        return conn.connection.driver_connection.pipeline()

    @contextmanager
    def _in_batch(self, conn: Connection) -> Iterator[Connection]:
        """A read or write inside the open batch: the batch's waiting rows first. Should either
        fail, the whole batch is rolled back at its end, even when the caller carried on (a
        presence message's error is only logged): the waiting rows may be gone, and SQLite would
        otherwise commit the rest without them."""
        try:
            self._send_rows(conn)
            yield conn
        except BaseException as exc:
            self._batch.broken = exc
            raise

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        conn = getattr(self._batch, "conn", None)
        if conn is not None:
            with self._in_batch(conn):
                yield conn
        else:
            with self.engine.connect() as conn:
                yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction of its own, or the open batch (committed with the batch)."""
        conn = getattr(self._batch, "conn", None)
        if conn is not None:
            with self._in_batch(conn):
                yield conn
            return
        brief = getattr(self._batch, "brief", False) and self.engine.dialect.name == "sqlite"
        with self._chains(), self.engine.begin() as conn:
            if brief:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={BRIEF_WAIT_MS}")
            try:
                yield conn
            finally:
                if brief:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_WAIT_MS}")

    @contextmanager
    def brief_waits(self) -> Iterator[None]:
        """This thread's writes inside wait at most BRIEF_WAIT_MS for another program's lock
        (SQLite), not a command's 5 s: for the server's periodic writes (coverage minutes, the
        day's close, alerts of the tick), which are tried again on a later tick, so that a
        lock does not hold up the commands behind the tick."""
        self._batch.brief = True
        try:
            yield
        finally:
            self._batch.brief = False

    def checkpoint_in_background(self) -> None:
        """SQLite on a file: its log is checkpointed by a thread of its own (wal.py), not inside
        a command's commit. Nothing to do for PostgreSQL."""
        path = make_url(self.url).database if self.engine.dialect.name == "sqlite" else None
        if path and path != ":memory:" and self._checkpointer is None:
            self._checkpointer = WalCheckpointer(path).start()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self._release_batch_connection()
        for conn, owner in list(self._held.items()):
            if not owner.is_alive():       # a thread that ended without handing its connection back
                self._close_kept(conn)
            # a live thread's (a writer still stuck in a batch) is left to it: never closed under it
        self.engine.dispose()

    # ---------------------------------------------------------------- schema
    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (creates it on an empty database)."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            alembic_command.upgrade(cfg, "head")

    # ---------------------------------------------------------------- load
    def load_snapshot(self, today: date) -> Snapshot:
        with self._read() as conn:
            open_rows = conn.execute(select(tickets).where(tickets.c.status.in_(OPEN_STATUSES))
                                     .order_by(tickets.c.id)).mappings().all()
            open_tickets = [_ticket(r) for r in open_rows]
            by_id = {t.id: t for t in open_tickets}
            window_rows = conn.execute(select(windows)).mappings().all()
            saved_windows = []
            for r in window_rows:
                last = None
                if r["last_served_id"] is not None:
                    row = conn.execute(select(tickets).where(tickets.c.id == r["last_served_id"])
                                       ).mappings().first()
                    last = _ticket(row) if row else None
                current = by_id.get(r["ticket_id"]) if r["ticket_id"] is not None else None
                saved_windows.append(Window(
                    id=r["id"], number=0, name="", categories=(),
                    status=WindowStatus(r["status"]), since=r["since"], staff=r["staff"],
                    ticket=current,
                    pause_reason=PauseReason(r["pause_reason"]) if r["pause_reason"] else None,
                    last_served=last, last_served_rated=bool(r["last_served_rated"])))
            counters = {(today, cat): int(seq) for cat, seq in conn.execute(
                select(tickets.c.category, func.max(tickets.c.seq))
                .where(tickets.c.day == today).group_by(tickets.c.category))}
            service_category = func.coalesce(tickets.c.service_category, tickets.c.category)
            recent_services = [(cat, (done - called).total_seconds()) for cat, called, done in conn.execute(
                select(service_category, tickets.c.called_at, tickets.c.finished_at)
                .where(tickets.c.day == today, tickets.c.status == TicketStatus.COMPLETED.value,
                       tickets.c.called_at.is_not(None), tickets.c.finished_at.is_not(None))
                .order_by(tickets.c.finished_at, tickets.c.id))]
            recent_skips = [_ticket(r) for r in conn.execute(
                select(tickets).where(tickets.c.day == today, tickets.c.status == TicketStatus.SKIPPED.value)
                .order_by(tickets.c.id)).mappings()]
            issued_times: dict[tuple[date, str], list[datetime]] = {}
            for cat, at in conn.execute(select(tickets.c.category, tickets.c.issued_at)
                                        .where(tickets.c.day == today,
                                               tickets.c.status != TicketStatus.CANCELLED.value)
                                        .order_by(tickets.c.id)):
                issued_times.setdefault((today, cat), []).append(at)
            last_callback = conn.execute(select(func.max(tickets.c.callback_seq))).scalar() or 0
            day_start = datetime.combine(today, time(0), tzinfo=UTC) - timedelta(days=1)   # any zone's today
            booked = [_appointment(r) for r in conn.execute(
                select(appointments).where(appointments.c.slot_start >= day_start).order_by(appointments.c.id)
            ).mappings()]
            last_appointment = conn.execute(select(func.max(appointments.c.id))).scalar() or 0
            last_ticket = conn.execute(select(func.max(tickets.c.id))).scalar() or 0
            last_rating = conn.execute(select(func.max(ratings.c.id))).scalar() or 0
            rated = [i for (i,) in conn.execute(
                select(ratings.c.ticket_id).join(tickets, tickets.c.id == ratings.c.ticket_id)
                .where(tickets.c.day == today))]
            staff_days: dict[tuple[date, str], StaffDay] = {}
            for staff, called, done in conn.execute(
                    select(tickets.c.staff, tickets.c.called_at, tickets.c.finished_at)
                    .where(tickets.c.day == today, tickets.c.status == TicketStatus.COMPLETED.value,
                           tickets.c.staff.is_not(None))):
                figures = staff_days.setdefault((today, staff), StaffDay())
                figures.served += 1
                figures.service_s += (done - called).total_seconds() if called and done else 0.0
            for staff, level in conn.execute(
                    select(ratings.c.staff, ratings.c.level).join(tickets, tickets.c.id == ratings.c.ticket_id)
                    .where(tickets.c.day == today)):
                figures = staff_days.setdefault((today, staff), StaffDay())
                figures.ratings += 1
                figures.satisfied += level >= 3
                figures.level_sum += level
        return Snapshot(open_tickets=open_tickets, windows=saved_windows, counters=counters,
                        staff_days=staff_days,
                        last_ticket_id=int(last_ticket), last_rating_id=int(last_rating),
                        recent_services=recent_services, recent_skips=recent_skips, issued_times=issued_times,
                        rated_ticket_ids=rated,
                        last_callback_seq=int(last_callback), appointments=booked,
                        last_appointment_id=int(last_appointment))

    # ---------------------------------------------------------------- commands
    @property
    def known_command_count(self) -> int:
        """How many command ids the repeat check holds in memory (0 until the first command)."""
        return len(self._known_commands or ())

    def forget_known_commands(self) -> None:
        """Read the command ids again at the next command (daily: keeps that set to a week)."""
        self._known_commands = None

    def find_reply(self, device: str, command_id: str) -> str | None:
        """The reply already given to this command, if it was seen before (a repeat)."""
        if self._known_commands is None:
            with self._read() as conn:       # the week before the newest command (whatever the clock says)
                newest = conn.execute(select(func.max(commands.c.at))).scalar()
                since = (newest or datetime.now(UTC)) - timedelta(days=KNOWN_COMMAND_DAYS)
                self._known_commands = {(d, i) for d, i in conn.execute(
                    select(commands.c.device, commands.c.id).where(commands.c.at >= since))}
        if (device, command_id) not in self._known_commands:
            return None                   # new: no need to ask the database (most commands)
        with self._read() as conn:
            return conn.execute(_FIND_REPLY, {"b_device": device, "b_id": command_id}).scalar()

    def save(self, changes: Changes, device: str, command_id: str, command_type: str,
             reply_json: str, at: datetime) -> None:
        """Persist one command's changes and its reply, atomically."""
        later = self.batching and _only_common(changes)
        if later:
            conn = self._batch.conn
            write = self._later
        with self._audit_lock, (nullcontext(conn) if later else self._write()) as conn:
            if not later:
                write = conn.execute
            new = [t for i, t in changes.tickets.items() if i in changes.new_ticket_ids]
            if new:
                write(_INSERT_TICKET, [_ticket_row(t) for t in new])
            for i, t in changes.tickets.items():
                if i not in changes.new_ticket_ids:
                    write(_UPDATE_TICKET, {**_ticket_row(t), "b_id": i})
            if changes.windows:
                write(_SAVE_WINDOW if later else self._statements[_SAVE_WINDOW],
                      [{**_window_row(w), "id": w.id} for w in changes.windows.values()])
            if changes.ratings:
                self._save_ratings(conn, write, changes.ratings)
            if changes.follow_ups:
                self._save_follow_ups(conn, changes.follow_ups)
            if changes.pauses:
                conn.execute(insert(window_pauses), [{
                    "window": p.window, "staff": p.staff, "reason": p.reason.value,
                    "started_at": p.started_at, "ended_at": p.ended_at} for p in changes.pauses])
            for a in changes.appointments.values():
                _upsert(conn, appointments, a.id, _appointment_row(a))
            if changes.attendance:
                conn.execute(insert(attendance_events), [
                    {"staff": e.staff, "at": e.at, "kind": e.kind, "source": e.source, "by": e.by, "reason": e.reason}
                    for e in changes.attendance])
            for lv in changes.leaves:
                _upsert(conn, leaves, lv.id, {
                    "staff": lv.staff, "kind": lv.kind, "start": lv.start, "end": lv.end, "reason": lv.reason,
                    "status": lv.status, "cover": lv.cover, "decided_by": lv.decided_by, "ended_at": lv.ended_at,
                    "approvals": leave_approvals_json(lv)})
            for r in changes.rectifications:
                _upsert(conn, rectifications, r.id, rectification_row(r))
            for x in changes.complaints:
                _upsert(conn, complaints, x.id, complaint_row(x))
            for x in changes.inquiries:
                _upsert(conn, inquiries, x.id, inquiry_row(x))
            _save_evaluation(conn, changes.evaluation)
            for case in changes.cases:
                _upsert(conn, cases, case.id, case_row(case))
            _save_alerts(conn, changes.coverage, changes.device_alerts)
            write(_INSERT_COMMAND, {"device": device, "id": command_id, "type": command_type,
                                    "reply": reply_json, "at": at})
            if self._known_commands is not None:     # a rolled-back one stays: a harmless extra lookup
                self._known_commands.add((device, command_id))
            error = None if '"ok":true' in reply_json.replace(" ", "") else json.loads(reply_json).get("error")
            outcome = (error.get("code") or "error") if error else "ok"     # "{}": the server's own check
            self._audit(conn, at, device, command_type, outcome, command_id, write)

    def _save_ratings(self, conn: Connection, write: Callable, ratings_changed: list) -> None:
        """The new ratings, each linked to the one before it (the hash chain); a phone number for
        回访 beside the signed record, so that retention can mask it."""
        rows = []
        prev = self._tail("ratings", conn, _LAST_RATING_HASH)
        prev = prev.hash if prev else GENESIS
        for r in ratings_changed:
            row = {"id": r.id, "ticket_id": r.ticket.id, "window": r.window, "staff": r.staff,
                   "level": r.level, "reasons": json.dumps(list(r.reasons), ensure_ascii=False),
                   "comment": r.comment, "channel": r.channel, "at": r.at, "phone": ""}
            row["prev_hash"], row["hash"] = prev, link(row, prev, self.rating_secret)
            prev = row["hash"]
            rows.append(row)
        self._set_tail("ratings", (ratings_changed[-1].id, prev))
        write(_INSERT_RATING, rows)
        contacts = [{"rating_id": r.id, "phone": r.phone, "at": r.at} for r in ratings_changed if r.phone]
        if contacts:
            conn.execute(insert(rating_contacts), contacts)

    def _save_follow_ups(self, conn: Connection, follow_ups: list[FollowUp]) -> None:
        """追评, each linked to the follow-up before it (their own hash chain)."""
        prev = self._tail("follow_ups", conn, _LAST_FOLLOW_UP_HASH)
        prev = prev.hash if prev else GENESIS
        rows = []
        for f in follow_ups:
            row = follow_up_row(f)
            row["prev_hash"], row["hash"] = prev, follow_up_link(row, prev, self.rating_secret)
            prev = row["hash"]
            rows.append(row)
        conn.execute(insert(rating_follow_ups), rows)
        self._set_tail("follow_ups", (follow_ups[-1].id, prev))

    # ---------------------------------------------------------------- reports
    def summary(self, now: datetime, day: date) -> Summary:
        """The figures of one hall day (营业日) as of `now`."""
        with self._read() as conn:
            first_call = func.coalesce(tickets.c.first_called_at, tickets.c.called_at)
            rows = conn.execute(select(tickets.c.status, tickets.c.issued_at, first_call,
                                       tickets.c.priority).where(tickets.c.day == day)).all()
            levels = dict(conn.execute(
                select(ratings.c.level, func.count())
                .join(tickets, tickets.c.id == ratings.c.ticket_id)
                .where(tickets.c.day == day)
                .group_by(ratings.c.level)).all())
        waits = [(c - i).total_seconds() for s, i, c, _ in rows if c is not None]
        waiting_now = [(now - i).total_seconds() for s, i, c, _ in rows if s == TicketStatus.WAITING]
        by_class: dict[str, list[float]] = {}
        for _, i, c, cls in rows:
            if c is not None:
                by_class.setdefault(cls, []).append((c - i).total_seconds())
        count = {s: 0 for s in TicketStatus}
        for s, _, _, _ in rows:
            count[TicketStatus(s)] += 1
        return Summary(
            tickets_issued=len(rows),
            tickets_served=count[TicketStatus.COMPLETED],
            tickets_skipped=count[TicketStatus.SKIPPED],
            tickets_waiting=count[TicketStatus.WAITING],
            tickets_cancelled=count[TicketStatus.CANCELLED],
            avg_wait_s=round(mean(waits), 1) if waits else 0.0,
            max_wait_s=round(max(waits + waiting_now), 1) if waits or waiting_now else 0.0,
            ratings=sum(levels.values()),
            ratings_by_level={int(k): int(v) for k, v in sorted(levels.items())},
            avg_wait_s_by_class={k: round(mean(v), 1) for k, v in sorted(by_class.items())},
        )

    def category_today(self, now: datetime, day: date) -> dict[str, dict]:
        """Per category (the one a ticket was taken for) of one hall day: issued, served, average
        wait of those called, and the longest wait of anyone still waiting with its start."""
        with self._read() as conn:
            first_call = func.coalesce(tickets.c.first_called_at, tickets.c.called_at)
            rows = conn.execute(select(tickets.c.category, tickets.c.status, tickets.c.issued_at, first_call)
                                .where(tickets.c.day == day)).all()
        out: dict[str, dict] = {}
        waits: dict[str, list[float]] = {}
        for category, status, issued, called in rows:
            f = out.setdefault(category, {"issued": 0, "served": 0, "avg_wait_s": None, "longest_wait_s": 0.0,
                                          "waiting_since": None})
            f["issued"] += 1
            if status == TicketStatus.COMPLETED:
                f["served"] += 1
            if called is not None:
                waits.setdefault(category, []).append((called - issued).total_seconds())
            elif status == TicketStatus.WAITING and (f["waiting_since"] is None or issued < f["waiting_since"]):
                f["waiting_since"] = issued
                f["longest_wait_s"] = max(0.0, (now - issued).total_seconds())
        for category, w in waits.items():
            out[category]["avg_wait_s"] = round(mean(w), 1)
        return out

    def ticket_facts(self, first: date, last: date) -> list:
        """The tickets of hall days first..last as the operating report needs them."""
        naive = DateTime()                  # times as stored, naive UTC: a month is 125 000 rows, read fast
        first_call = type_coerce(func.coalesce(tickets.c.first_called_at, tickets.c.called_at), naive)
        with self._read() as conn:
            rows = conn.execute(select(tickets.c.day, tickets.c.category, tickets.c.status,
                                       type_coerce(tickets.c.issued_at, naive), first_call,
                                       type_coerce(tickets.c.finished_at, naive), tickets.c.window, tickets.c.staff)
                                .where(tickets.c.day >= first, tickets.c.day <= last)).all()
            return [TicketFact._make(r) for r in rows]

    def rating_facts(self, first: date, last: date) -> list:
        """The ratings of services of hall days first..last (by the ticket's day)."""
        with self._read() as conn:
            rows = conn.execute(select(tickets.c.day, ratings.c.window, ratings.c.staff, ratings.c.level,
                                       ratings.c.channel).join(tickets, tickets.c.id == ratings.c.ticket_id)
                                .where(tickets.c.day >= first, tickets.c.day <= last)).all()
            return [RatingFact._make(r) for r in rows]

    def pause_minutes(self, now: datetime, day_start: datetime, day_end: datetime) -> dict[str, dict[str, float]]:
        """暂停服务 minutes per staff member and reason between two times, open pauses counted to `now`."""
        out: dict[str, dict[str, float]] = {}

        def add(staff: str | None, reason: str, start: datetime, end: datetime) -> None:
            start, end = max(start, day_start), min(end, day_end)
            if end > start and staff:
                per = out.setdefault(staff, {})
                per[reason] = round(per.get(reason, 0.0) + (end - start).total_seconds() / 60, 1)
        with self._read() as conn:
            for r in conn.execute(select(window_pauses).where(window_pauses.c.ended_at > day_start,
                                                              window_pauses.c.started_at < day_end)):
                add(r.staff, r.reason, r.started_at, r.ended_at)
            for r in conn.execute(select(windows).where(windows.c.status == WindowStatus.PAUSED.value)):
                add(r.staff, r.pause_reason or "other", r.since or now, now)
        return out

    def ticket_by_token(self, token: str) -> tuple[Ticket, int] | None:
        """For the phone page: the ticket and how many of its category were waiting before it."""
        with self._read() as conn:
            row = conn.execute(select(tickets).where(tickets.c.token == token)).mappings().first()
            if row is None:
                return None
            t = _ticket(row)
            service_category = func.coalesce(tickets.c.service_category, tickets.c.category)
            ahead = conn.execute(select(func.count()).select_from(tickets).where(
                tickets.c.day == t.day, tickets.c.status == TicketStatus.WAITING.value,
                service_category == t.category, tickets.c.id < t.id)).scalar() or 0
        return t, int(ahead)

    def case_rows(self, *, open_only: bool = True, accepted: tuple[datetime, datetime] | None = None,
                  today_from: datetime | None = None) -> list[dict]:
        """Cases: the open ones (not yet handed over); or those accepted in [start, end); or, for
        the daily digest, the open ones and those accepted or completed since `today_from`."""
        with self._read() as conn:
            query = select(cases).order_by(cases.c.id)
            if accepted is not None:
                query = query.where(cases.c.accepted_at >= accepted[0], cases.c.accepted_at < accepted[1])
            elif today_from is not None:
                query = query.where(cases.c.finished.is_(False) | (cases.c.accepted_at >= today_from)
                                    | (cases.c.completed_at >= today_from))
            elif open_only:
                query = query.where(cases.c.finished.is_(False))
            result = conn.execute(query)
            keys = list(result.keys())
            return [dict(zip(keys, row, strict=True)) for row in result.all()]

    def case_row_by(self, *, code: str | None = None, token: str | None = None) -> dict | None:
        with self._read() as conn:
            column, value = (cases.c.code, code) if code is not None else (cases.c.token, token)
            row = conn.execute(select(cases).where(column == value)).mappings().first()
            return dict(row) if row else None

    def last_case_id(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.max(cases.c.id))).scalar() or 0)

    def rectification_items(self) -> list[Rectification]:
        with self._read() as conn:
            return [rectification_from_row(dict(r)) for r in
                    conn.execute(select(rectifications).order_by(rectifications.c.id)).mappings()]

    def complaint_items(self) -> list[Complaint]:
        """Every complaint (投诉), oldest first."""
        with self._read() as conn:
            return [complaint_from_row(dict(r)) for r in
                    conn.execute(select(complaints).order_by(complaints.c.id)).mappings()]

    def evaluation_items(self) -> tuple[list[Campaign], list[SheetRecord], list[Adjustment]]:
        """万众评股室: every campaign, sheet and adjustment, oldest first."""
        with self._read() as conn:
            return ([campaign_from_row(dict(r)) for r in conn.execute(
                        select(evaluation_campaigns).order_by(evaluation_campaigns.c.id)).mappings()],
                    [sheet_from_row(dict(r)) for r in conn.execute(
                        select(evaluation_sheets).order_by(evaluation_sheets.c.id)).mappings()],
                    [adjustment_from_row(dict(r)) for r in conn.execute(
                        select(evaluation_adjustments).order_by(evaluation_adjustments.c.id)).mappings()])

    def open_inquiries(self) -> tuple[list[Inquiry], int]:
        """首问: the open inquiries (登记, 已转交), oldest first, and the last inquiry id ever given."""
        with self._read() as conn:
            rows = conn.execute(select(inquiries).where(inquiries.c.status.in_(("登记", "已转交")))
                                .order_by(inquiries.c.id)).mappings()
            items = [inquiry_from_row(dict(r)) for r in rows]
            last = conn.execute(select(func.max(inquiries.c.id))).scalar()
        return items, last or 0

    def inquiries_between(self, start: datetime, end: datetime) -> list[Inquiry]:
        """首问 inquiries recorded in [start, end), oldest first (the report)."""
        with self._read() as conn:
            rows = conn.execute(select(inquiries).where(inquiries.c.recorded_at >= start,
                                                        inquiries.c.recorded_at < end)
                                .order_by(inquiries.c.id)).mappings()
            return [inquiry_from_row(dict(r)) for r in rows]

    def rectification_status(self) -> dict[int, str]:
        """rating id → 整改 status (the export's column)."""
        with self._read() as conn:
            return dict(conn.execute(select(rectifications.c.rating_id, rectifications.c.status)).all())

    def add_score_adjustment(self, window: str, points: int, reason: str, by: str, at: datetime) -> None:
        with self._write() as conn:
            conn.execute(insert(adjustments_table).values(window=window, points=points, reason=reason, by=by, at=at))

    def void_waiting_before(self, day: date, now: datetime) -> int:
        """Tickets of an earlier hall day still waiting (a server stopped overnight never closed
        them) become cancelled; returns how many."""
        with self._write() as conn:
            return conn.execute(update(tickets).where(tickets.c.status == "waiting", tickets.c.day < day)
                                .values(status="cancelled", finished_at=now)).rowcount

    def set_case_terms(self, terms: dict[int, str]) -> None:
        """Keep the terms of open cases stored before cases kept them (their matter as it is now)."""
        with self._write() as conn:
            for case_id, text in terms.items():
                conn.execute(update(cases).where(cases.c.id == case_id, cases.c.terms.is_(None)).values(terms=text))

    # ------------------------------------------------------------------ dashboard sessions
    def save_web_session(self, token_hash: str, manager: str, csrf: str, created: datetime, seen: datetime) -> None:
        with self._write() as conn:
            conn.execute(insert(web_sessions).values(token_hash=token_hash, manager=manager, csrf=csrf,
                                                     created_at=created, seen_at=seen))

    def web_session(self, token_hash: str) -> dict | None:
        with self._read() as conn:
            row = conn.execute(select(web_sessions).where(web_sessions.c.token_hash == token_hash)).mappings().first()
            return dict(row) if row else None

    def touch_web_session(self, token_hash: str, seen: datetime) -> None:
        with self._write() as conn:
            conn.execute(update(web_sessions).where(web_sessions.c.token_hash == token_hash).values(seen_at=seen))

    def end_web_sessions(self, *, token_hash: str | None = None, seen_before: datetime | None = None,
                         created_before: datetime | None = None) -> None:
        """Remove one session (logout), or those idle or old beyond their limits."""
        with self._write() as conn:
            if token_hash is not None:
                conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))
            if seen_before is not None and created_before is not None:
                conn.execute(delete(web_sessions).where((web_sessions.c.seen_at < seen_before)
                                                        | (web_sessions.c.created_at < created_before)))

    def ack_alert(self, alert: str, since: str, by: str, at: datetime) -> None:
        """告警确认: a manager has seen this alert (this occurrence of it); audited in the same
        transaction. The alert stays listed while its condition holds, marked as acknowledged."""
        with self._audit_lock, self._write() as conn:
            conn.execute(insert(alert_acks).values(alert=alert, since=since, by=by, at=at))
            self._audit(conn, at, by, "alert.ack", "ok", f"{alert} @ {since}"[:200])

    def alert_acks(self, since: datetime) -> dict[tuple[str, str], dict]:
        """Acknowledgements made after `since`, by (alert, since) → who and when (the first one)."""
        with self._read() as conn:
            out: dict[tuple[str, str], dict] = {}
            for r in conn.execute(select(alert_acks).where(alert_acks.c.at >= since).order_by(alert_acks.c.id)):
                out.setdefault((r.alert, r.since), {"by": r.by, "at": r.at})
            return out

    def score_adjustments(self) -> list[dict]:
        with self._read() as conn:
            return [{**dict(r), "at": r["at"].isoformat()} for r in
                    conn.execute(select(adjustments_table).order_by(adjustments_table.c.id)).mappings()]

    def clock_events(self, start: datetime, end: datetime) -> list[ClockEvent]:
        with self._read() as conn:
            return [ClockEvent(r.staff, r.at, r.kind, r.source, r.by, r.reason) for r in conn.execute(
                select(attendance_events).where(attendance_events.c.at >= start, attendance_events.c.at < end)
                .order_by(attendance_events.c.id))]

    def counter_offline(self, device: str, staff: str, at: datetime) -> None:
        with self._write() as conn:
            still = conn.execute(select(counter_offline.c.id).where(counter_offline.c.device == device,
                                                                    counter_offline.c.ended_at.is_(None))).first()
            if still is None:
                conn.execute(insert(counter_offline).values(device=device, staff=staff, started_at=at))

    def counter_online(self, device: str, at: datetime) -> None:
        with self._write() as conn:
            conn.execute(update(counter_offline).where(counter_offline.c.device == device,
                                                       counter_offline.c.ended_at.is_(None)).values(ended_at=at))

    def end_offline_of_staff(self, staff: str, at: datetime) -> None:
        """A logout ends any offline span of that person (the counter may never come back)."""
        with self._write() as conn:
            conn.execute(update(counter_offline).where(counter_offline.c.staff == staff,
                                                       counter_offline.c.ended_at.is_(None)).values(ended_at=at))

    def offline_spans(self, start: datetime, end: datetime) -> list[PauseSpan]:
        """Counter offline spans overlapping [start, end), an open one up to `end`."""
        with self._read() as conn:
            rows = conn.execute(select(counter_offline).where(
                counter_offline.c.started_at < end,
                (counter_offline.c.ended_at > start) | counter_offline.c.ended_at.is_(None))).all()
        return [PauseSpan(r.staff, r.started_at, r.ended_at or end) for r in rows]

    def pause_spans(self, start: datetime, end: datetime) -> list[PauseSpan]:
        with self._read() as conn:
            return [PauseSpan(r.staff, r.started_at, r.ended_at) for r in conn.execute(
                select(window_pauses).where(window_pauses.c.ended_at > start, window_pauses.c.started_at < end))
                if r.staff]

    def all_leaves(self) -> list[Leave]:
        with self._read() as conn:
            return [Leave(r.id, r.staff, r.kind, r.start, r.end, r.reason, r.status, r.cover, r.decided_by,
                          r.ended_at, leave_approvals(r.approvals))
                    for r in conn.execute(select(leaves).order_by(leaves.c.id))]

    def save_coverage_minutes(self, minutes: dict[tuple[date, str], dict[str, float]],
                              categories: dict[tuple[date, str], dict[str, float]] | None = None) -> None:
        """AB岗 minutes per (day, post) and per (day, category), written over what is there."""
        with self._write() as conn:
            for (day, post), m in minutes.items():
                row = {"a_min": round(m["A"]), "b_min": round(m["B"]), "none_min": round(m["none"])}
                done = conn.execute(update(coverage_minutes).where(coverage_minutes.c.day == day,
                                                                   coverage_minutes.c.post == post).values(row))
                if done.rowcount == 0:
                    conn.execute(insert(coverage_minutes).values(day=day, post=post, **row))
            t = category_coverage_minutes
            for (day, category), m in (categories or {}).items():
                row = {"a_min": round(m["A"]), "b_min": round(m["B"]), "other_min": round(m["other"]),
                       "none_min": round(m["none"])}
                done = conn.execute(update(t).where(t.c.day == day, t.c.category == category).values(row))
                if done.rowcount == 0:
                    conn.execute(insert(t).values(day=day, category=category, **row))

    def load_coverage_minutes(self, since: date) -> dict[tuple[date, str], dict[str, float]]:
        with self._read() as conn:
            return {(r.day, r.post): {"A": float(r.a_min), "B": float(r.b_min), "none": float(r.none_min)}
                    for r in conn.execute(select(coverage_minutes).where(coverage_minutes.c.day >= since))}

    def load_category_minutes(self, since: date) -> dict[tuple[date, str], dict[str, float]]:
        t = category_coverage_minutes
        with self._read() as conn:
            return {(r.day, r.category): {"A": float(r.a_min), "B": float(r.b_min), "other": float(r.other_min),
                                          "none": float(r.none_min)}
                    for r in conn.execute(select(t).where(t.c.day >= since))}

    def coverage_history(self, start: datetime) -> list[dict]:
        with self._read() as conn:
            return [dict(r) for r in conn.execute(select(coverage_alerts).where(
                (coverage_alerts.c.started_at >= start) | coverage_alerts.c.ended_at.is_(None))
                .order_by(coverage_alerts.c.id)).mappings()]

    def _audit(self, conn, at: datetime, actor: str, action: str, outcome: str, detail: str,   # noqa: ANN001
               write=None) -> None:   # noqa: ANN001 - conn.execute, or _later in a batch
        """One line of the audit log, chained to the one before (in the caller's transaction)."""
        last = self._tail("audit", conn, _LAST_AUDIT)
        row = {"id": (last.id if last else 0) + 1, "at": at, "actor": actor[:64], "action": action[:40],
               "outcome": str(outcome)[:40], "detail": detail[:200]}
        row["prev_hash"] = last.hash if last else GENESIS
        row["hash"] = audit_link(row, row["prev_hash"], self.rating_secret)
        (write or conn.execute)(_INSERT_AUDIT, row)
        self._set_tail("audit", (row["id"], row["hash"]))

    def _tail(self, chain: str, conn, query):   # noqa: ANN001, ANN202 - a row with .id and .hash, or None
        """The last link of a hash chain (audit log, ratings): read from the database once, then
        carried along by the transactions that write to it (see _chains)."""
        tails = getattr(self._batch, "tails", None) or {}
        known = tails.get(chain) or self._tails.get(chain)
        if known is not None:
            return known
        return conn.execute(query).first()

    def _set_tail(self, chain: str, tail: tuple[int, str]) -> None:
        tails = getattr(self._batch, "tails", None)
        if tails is not None:
            tails[chain] = _Link(*tail)

    def audit(self, at: datetime, actor: str, action: str, outcome: str, detail: str = "") -> None:
        """An audit line for what does not go through the command path (a manager's login)."""
        with self._audit_lock, self._write() as conn:
            self._audit(conn, at, actor, action, outcome, detail)

    def audit_records(self) -> list[dict]:
        with self._read() as conn:
            return [dict(r) for r in conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings()]

    def rating_phone(self, rating_id: int) -> str | None:
        with self._read() as conn:
            return conn.execute(select(rating_contacts.c.phone).where(rating_contacts.c.rating_id == rating_id)
                                ).scalar()

    def mask_old_phones(self, before: datetime, now: datetime | None = None) -> int:
        """Retention: phone numbers given for 回访 before `before` keep only 3 + 4 digits
        (138****8000), in the contacts and in the rectifications. Returns how many were masked."""
        def mask(phone: str) -> str:
            return phone[:3] + "****" + phone[-4:] if len(phone) == 11 and "*" not in phone else phone
        n = 0
        with self._audit_lock, self._write() as conn:
            for r in conn.execute(select(rating_contacts).where(rating_contacts.c.at < before)).all():
                if "*" not in r.phone:
                    conn.execute(update(rating_contacts).where(rating_contacts.c.rating_id == r.rating_id)
                                 .values(phone=mask(r.phone)))
                    n += 1
            for r in conn.execute(select(rectifications).where(rectifications.c.opened_at < before)).all():
                if r.phone and "*" not in r.phone:
                    conn.execute(update(rectifications).where(rectifications.c.id == r.id).values(phone=mask(r.phone)))
            if n:
                self._audit(conn, now or before, "hall-server", "retention.mask_phones", "ok", f"{n} phone numbers")
        return n

    def rating_records(self) -> list[dict]:
        """Every rating as stored, in id order (for `hall ratings verify` and the export)."""
        with self._read() as conn:
            return [dict(r) for r in conn.execute(select(ratings).order_by(ratings.c.id)).mappings()]

    def recent_service_token(self, number: str, window: str, day: date, now: datetime, minutes: int) -> str | None:
        """The phone-page token of ticket `number` of `day`, completed at `window` within `minutes`
        (the window's static QR code, which then checks the 评价码 made from it). A service rated
        already still has its page: it says so."""
        with self._read() as conn:
            row = conn.execute(select(tickets.c.token, tickets.c.finished_at).where(
                tickets.c.day == day, tickets.c.number == number, tickets.c.window == window,
                tickets.c.status == TicketStatus.COMPLETED.value)).first()
        if row is None or row.finished_at is None or (now - row.finished_at).total_seconds() > minutes * 60:
            return None
        return row.token

    def rating_by_ticket(self, ticket_id: int) -> tuple[int, int] | None:
        """(id, level) of a service's rating, or None: not rated."""
        with self._read() as conn:
            row = conn.execute(select(ratings.c.id, ratings.c.level).where(ratings.c.ticket_id == ticket_id)).first()
        return (int(row.id), int(row.level)) if row else None

    def rectification_of_rating(self, rating_id: int) -> Rectification | None:
        with self._read() as conn:
            row = conn.execute(select(rectifications).where(rectifications.c.rating_id == rating_id)).mappings().first()
        return rectification_from_row(dict(row)) if row else None

    def follow_up_items(self) -> list[FollowUp]:
        """Every follow-up rating (追评), in id order."""
        with self._read() as conn:
            return [follow_up_from_row(dict(r)) for r in
                    conn.execute(select(rating_follow_ups).order_by(rating_follow_ups.c.id)).mappings()]

    def follow_up_of(self, rating_id: int) -> FollowUp | None:
        with self._read() as conn:
            row = conn.execute(select(rating_follow_ups).where(rating_follow_ups.c.rating_id == rating_id)
                               ).mappings().first()
        return follow_up_from_row(dict(row)) if row else None

    def follow_up_records(self) -> list[dict]:
        """Every follow-up as stored, in id order (for `hall ratings verify` and the export)."""
        with self._read() as conn:
            return [dict(r) for r in conn.execute(select(rating_follow_ups).order_by(rating_follow_ups.c.id))
                    .mappings()]

    def rating_of(self, ticket_id: int) -> int | None:
        """The level a service was rated, or None (the phone page)."""
        with self._read() as conn:
            return conn.execute(select(ratings.c.level).where(ratings.c.ticket_id == ticket_id)).scalar()

    def open_device_alerts(self) -> list[DeviceAlert]:
        with self._read() as conn:
            return [DeviceAlert(r.device, r.component, r.condition, r.detail, r.opened_at)
                    for r in conn.execute(select(device_alerts).where(device_alerts.c.closed_at.is_(None))
                                          .order_by(device_alerts.c.id))]

    def device_alert_history(self, since: datetime) -> list[dict]:
        """Alerts opened or still open since a time, newest first (the manager's record)."""
        with self._read() as conn:
            rows = conn.execute(select(device_alerts).where(
                (device_alerts.c.opened_at >= since) | device_alerts.c.closed_at.is_(None)
                | (device_alerts.c.closed_at >= since)).order_by(device_alerts.c.id.desc())).mappings().all()
        return [dict(r) for r in rows]

    def all_tickets(self) -> list[Ticket]:
        with self._read() as conn:
            return [_ticket(r) for r in conn.execute(select(tickets).order_by(tickets.c.id)).mappings()]


def _ticket(r) -> Ticket:   # noqa: ANN001 - a row mapping
    return Ticket(id=r["id"], day=r["day"], category=r["service_category"] or r["category"], seq=r["seq"],
                  number=r["number"], issued_at=r["issued_at"], issued_by=r["issued_by"],
                  status=TicketStatus(r["status"]), called_at=r["called_at"], window=r["window"], staff=r["staff"],
                  recalls=r["recalls"], finished_at=r["finished_at"], issued_category=r["category"],
                  priority=TicketClass(r["priority"]),
                  green_reason=GreenReason(r["green_reason"]) if r["green_reason"] else None,
                  callback_seq=r["callback_seq"], requeue_after_id=r["requeue_after_id"],
                  transfer_to_window=r["transfer_to_window"], transferred_from=r["transferred_from"],
                  transfer_reason=r["transfer_reason"], requeued=bool(r["requeued"]),
                  first_called_at=r["first_called_at"], token=r["token"])


def _only_common(changes: Changes) -> bool:
    """Only what the busy commands change (tickets, windows, ratings without a phone number):
    their rows may wait for the rest of the batch (Store._later)."""
    return not (changes.follow_ups or changes.appointments or changes.pauses or changes.device_alerts
                or changes.cases
                or changes.rectifications or changes.complaints or changes.inquiries or changes.attendance
                or changes.evaluation
                or changes.leaves
                or changes.coverage or any(r.phone for r in changes.ratings))


def _ticket_row(t: Ticket) -> dict:
    return {"id": t.id, "day": t.day, "category": t.issued_category, "seq": t.seq, "number": t.number,
            "status": t.status.value, "issued_at": t.issued_at, "issued_by": t.issued_by,
            "called_at": t.called_at, "window": t.window, "staff": t.staff, "recalls": t.recalls,
            "finished_at": t.finished_at,
            "service_category": t.category if t.category != t.issued_category else None,
            "priority": t.priority.value, "green_reason": t.green_reason.value if t.green_reason else None,
            "callback_seq": t.callback_seq, "requeue_after_id": t.requeue_after_id,
            "transfer_to_window": t.transfer_to_window, "transferred_from": t.transferred_from,
            "transfer_reason": t.transfer_reason, "requeued": t.requeued, "first_called_at": t.first_called_at,
            "token": t.token}


def _appointment(r) -> Appointment:   # noqa: ANN001 - a row mapping
    return Appointment(id=r["id"], code=r["code"], category=r["category"], slot_start=r["slot_start"],
                       slot_end=r["slot_end"], name=r["name"], phone=r["phone"], booked_at=r["booked_at"],
                       status=AppointmentStatus(r["status"]), ticket_id=r["ticket_id"],
                       checked_in_at=r["checked_in_at"], late=bool(r["late"]), id_hash=r.get("id_hash") or "")


def _appointment_row(a: Appointment) -> dict:
    return {"code": a.code, "category": a.category, "slot_start": a.slot_start, "slot_end": a.slot_end,
            "name": a.name, "phone": a.phone, "booked_at": a.booked_at, "status": a.status.value,
            "ticket_id": a.ticket_id, "checked_in_at": a.checked_in_at, "late": a.late, "id_hash": a.id_hash}


def _window_row(w: Window) -> dict:
    return {"status": w.status.value, "since": w.since,
            "staff": w.staff, "ticket_id": w.ticket.id if w.ticket else None,
            "pause_reason": w.pause_reason.value if w.pause_reason else None,
            "last_served_id": w.last_served.id if w.last_served else None,
            "last_served_rated": w.last_served_rated}


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def case_row(case: Case) -> dict:
    """A case as its table row: the lists as JSON, times in UTC."""
    return {
        "code": case.code, "token": case.token, "matter": case.matter.id, "ticket_id": case.ticket_id,
        "window": case.window, "accepted_at": case.accepted_at, "accepted_by": case.accepted_by,
        "step": case.step.value, "finished": case.step == CaseStep.DELIVERED,   # closed: handed over
        "completed_at": next((x.at for x in case.steps if x.step == CaseStep.COMPLETED), None),
        "terms": matter_terms(case.matter),
        "applicant": json.dumps(case.applicant, ensure_ascii=False) if case.applicant else None,
        "assisted": json.dumps(asdict(case.assisted), ensure_ascii=False) if case.assisted else None,
        "delivery": case.delivery.value, "tracking": case.tracking,
        "received": json.dumps(case.received, ensure_ascii=False),
        "missing": json.dumps(case.missing, ensure_ascii=False),
        "steps": json.dumps([{"step": x.step.value, "at": _when(x.at), "staff": x.staff, "note": x.note}
                             for x in case.steps], ensure_ascii=False),
        "pauses": json.dumps([{"start": _when(p.start), "end": _when(p.end)} for p in case.pauses]),
        "extensions": json.dumps([{"days": e.days, "reason": e.reason, "requested_by": e.requested_by,
                                   "requested_at": _when(e.requested_at), "approved_by": e.approved_by,
                                   "approved_at": _when(e.approved_at)} for e in case.extensions],
                                 ensure_ascii=False),
    }


STEPS = {s.value: s for s in CaseStep}      # by the name stored (a dict: Enum lookups cost in reports)
DELIVERIES = {d.value: d for d in Delivery}


def _loads(text: str):   # noqa: ANN202 - JSON
    """json.loads, without its cost for the empty lists most cases carry (reports read 25 000)."""
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)


def matter_terms(m: Matter) -> str:
    """The matter as the case was accepted under it (kept with the case, JSON)."""
    return json.dumps({"name": m.name, "department": m.department, "kind": m.kind.value, "legal_days": m.legal_days,
                       "promised_days": m.promised_days, "materials": list(m.materials),
                       "step_days": [list(x) for x in m.step_days], "max_extension_days": m.max_extension_days,
                       "certificate": m.certificate},
                      ensure_ascii=False)


@functools.lru_cache(maxsize=4096)
def _matter_of_terms(matter_id: str, terms: str) -> Matter:
    """Cases of a matter share its terms' text: each text is read once (reports load thousands)."""
    t = json.loads(terms)
    return Matter(matter_id, t["name"], t["department"], MatterKind(t["kind"]), t["legal_days"], t["promised_days"],
                  tuple(t["materials"]), tuple((step, days) for step, days in t["step_days"]),
                  t.get("max_extension_days"), t.get("certificate", False))


def case_from_row(row: dict, matters: dict[str, Matter], tz: tzinfo) -> Case:
    """A case from its row, its times in the hall's time zone `tz` (deadlines count the hall's
    days and close at its closing time: a time read back in UTC would move them). Its matter is
    the one it was accepted under (`terms`); a case stored before cases kept their terms takes
    the catalogue's matter of today."""
    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value).astimezone(tz) if value else None
    terms = row.get("terms")
    matter = (_matter_of_terms(row["matter"], terms) if terms else matters.get(row["matter"])) or \
        Matter(row["matter"], row["matter"], "", MatterKind.PROMISED, 365, 365, ())
    return Case(
        id=row["id"], code=row["code"], token=row["token"], matter=matter, ticket_id=row["ticket_id"],
        window=row["window"], accepted_at=row["accepted_at"].astimezone(tz), accepted_by=row["accepted_by"],
        received=_loads(row["received"]), missing=_loads(row["missing"]),
        steps=[StepRecord(STEPS[x["step"]], when(x["at"]), x["staff"], x.get("note", ""))
               for x in _loads(row["steps"])],
        pauses=[Pause(when(p["start"]), when(p["end"])) for p in _loads(row["pauses"])],
        extensions=[Extension(e["days"], e["reason"], e["requested_by"], when(e["requested_at"]),
                              e["approved_by"], when(e["approved_at"])) for e in _loads(row["extensions"])],
        applicant=_loads(row["applicant"]) if row.get("applicant") else None,
        assisted=Assist(**json.loads(row["assisted"])) if row.get("assisted") else None,
        delivery=DELIVERIES[row.get("delivery") or "window"], tracking=row.get("tracking"))


def rectification_row(r: Rectification) -> dict:
    return {"rating_id": r.rating_id, "window": r.window, "staff": r.staff, "department": r.department,
            "level": r.level, "phone": r.phone, "opened_at": r.opened_at, "status": r.status,
            "records": json.dumps([{"kind": x.kind, "at": _when(x.at), "by": x.by, "note": x.note,
                                    "reached": x.reached, "upheld": x.upheld, "filed_by": x.filed_by}
                                   for x in r.records],
                                  ensure_ascii=False)}


def follow_up_row(f: FollowUp) -> dict:
    """A follow-up's row without its links (prev_hash, hash): the fields its hash signs."""
    return {"id": f.id, "rating_id": f.rating_id, "level": f.level,
            "reasons": json.dumps(list(f.reasons), ensure_ascii=False), "comment": f.comment, "channel": f.channel,
            "by": f.by, "at": f.at}


def follow_up_from_row(row: dict) -> FollowUp:
    return FollowUp(row["id"], row["rating_id"], row["level"], tuple(json.loads(row["reasons"])), row["comment"],
                    row["channel"], row["by"], row["at"])


def rectification_from_row(row: dict) -> Rectification:
    return Rectification(row["id"], row["rating_id"], row["window"], row["staff"], row["department"], row["level"],
                         row["phone"], row["opened_at"],
                         [RectificationRecord(x["kind"], datetime.fromisoformat(x["at"]), x["by"], x["note"],
                                              x["reached"], x["upheld"], x.get("filed_by", ""))
                          for x in json.loads(row["records"])])


def _save_evaluation(conn: Connection, changed: list) -> None:
    """万众评股室: campaigns and sheets new or changed; an adjustment only ever new (append-only)."""
    for x in changed:
        if isinstance(x, Campaign):
            _upsert(conn, evaluation_campaigns, x.id, campaign_row(x))
        elif isinstance(x, SheetRecord):
            _upsert(conn, evaluation_sheets, x.id, sheet_row(x))
        else:
            conn.execute(insert(evaluation_adjustments).values(id=x.id, **adjustment_row(x)))


def _upsert(conn: Connection, table: Table, row_id: int, row: dict) -> None:
    """The row changed, or new: an UPDATE, and an INSERT when there was nothing to update."""
    if conn.execute(update(table).where(table.c.id == row_id).values(row)).rowcount == 0:
        conn.execute(insert(table).values(id=row_id, **row))


def _save_alerts(conn: Connection, coverage: list, changed_device_alerts: list) -> None:
    """前台断档 alerts opened and closed, device alerts opened and closed."""
    for kind, alert in coverage:
        if kind == "opened":
            conn.execute(insert(coverage_alerts).values(category=alert.category, started_at=alert.start))
        else:
            conn.execute(update(coverage_alerts).where(
                coverage_alerts.c.category == alert.category, coverage_alerts.c.ended_at.is_(None))
                .values(ended_at=alert.end))
    for ch in changed_device_alerts:
        a = ch.alert
        if ch.opened:
            conn.execute(insert(device_alerts).values(device=a.device, component=a.component,
                                                      condition=a.condition, detail=a.detail, opened_at=a.since))
        else:
            conn.execute(update(device_alerts).where(
                device_alerts.c.device == a.device, device_alerts.c.component == a.component,
                device_alerts.c.closed_at.is_(None)).values(closed_at=ch.at))


def leave_approvals_json(leave: Leave) -> str | None:
    """请销假 by level: the approvals so far as JSON [[who, ISO time], …]; None before the first."""
    if not leave.approvals:
        return None
    return json.dumps([[who, at.isoformat()] for who, at in leave.approvals], ensure_ascii=False)


def leave_approvals(text: str | None) -> list[tuple[str, datetime]]:
    """The approvals of a stored leave (none for one stored before 0027)."""
    return [(who, datetime.fromisoformat(at)) for who, at in json.loads(text)] if text else []
