"""Every rating (好差评) signed into a hash chain, so that `hall ratings verify` proves no record
was changed or removed; the follow-up ratings (追评) likewise, in a chain of their own.

Each record's `hash` is HMAC-SHA256 (keyed by `ratings.secret`, or plain SHA-256 without
one) over the record's canonical text and the hash of the record before it. Changing a
field breaks that record's hash; removing a record breaks the next record's link; the
database also refuses UPDATE and DELETE on the table (triggers, migration 0007). Set a
secret that is not kept in the database, so that somebody with only database access
cannot write a new, consistent chain.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = "0" * 64


def canonical(record: dict) -> str:
    """The signed text of a rating record: every field that matters, in a fixed order."""
    at = record["at"]
    if isinstance(at, datetime):
        at = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    reasons = record["reasons"] if isinstance(record["reasons"], str) else json.dumps(list(record["reasons"]),
                                                                                        ensure_ascii=False)
    return "|".join(str(x) for x in (record["id"], record["ticket_id"], record["window"], record["staff"],
                                     record["level"], reasons, record["comment"], record["channel"], at,
                                     record.get("phone") or ""))


def link(record: dict, prev_hash: str, secret: str | None) -> str:
    data = (prev_hash + "|" + canonical(record)).encode("utf-8")
    if secret:
        return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    problem: str = ""


def verify(records: list[dict], secret: str | None) -> Verdict:
    """Walk the chain in id order: every link must hold and no id may be missing."""
    prev, expected_id = GENESIS, None
    for n, r in enumerate(records):
        if expected_id is not None and r["id"] != expected_id:
            return Verdict(False, n, f"rating {expected_id} is missing (the chain jumps to {r['id']})")
        if r["prev_hash"] != prev:
            return Verdict(False, n, f"rating {r['id']} does not follow rating {r['id'] - 1}: a record before it "
                                     "was changed or removed")
        if link(r, prev, secret) != r["hash"]:
            return Verdict(False, n, f"rating {r['id']} was changed after it was recorded")
        prev, expected_id = r["hash"], r["id"] + 1
    return Verdict(True, len(records))


def follow_up_canonical(record: dict) -> str:
    """The signed text of a follow-up rating (追评): its own number, the first rating's id, and
    every field that matters, in a fixed order."""
    at = record["at"]
    if isinstance(at, datetime):
        at = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    reasons = record["reasons"] if isinstance(record["reasons"], str) else json.dumps(list(record["reasons"]),
                                                                                        ensure_ascii=False)
    return "|".join(str(x) for x in ("follow-up", record["id"], record["rating_id"], record["level"], reasons,
                                     record["comment"], record["channel"], record["by"], at))


def follow_up_link(record: dict, prev_hash: str, secret: str | None) -> str:
    data = (prev_hash + "|" + follow_up_canonical(record)).encode("utf-8")
    if secret:
        return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def verify_follow_ups(records: list[dict], secret: str | None, rating_ids: set[int]) -> Verdict:
    """The follow-ups' own chain, as `verify` walks the ratings'; each must follow a rating that
    exists (`rating_ids`), once."""
    prev, expected, followed = GENESIS, None, set()
    for n, r in enumerate(records):
        if expected is not None and r["id"] != expected:
            return Verdict(False, n, f"follow-up {expected} is missing (the chain jumps to {r['id']})")
        if r["prev_hash"] != prev:
            return Verdict(False, n, f"follow-up {r['id']} does not follow follow-up {r['id'] - 1}: a record "
                                     "before it was changed or removed")
        if follow_up_link(r, prev, secret) != r["hash"]:
            return Verdict(False, n, f"follow-up {r['id']} was changed after it was recorded")
        if r["rating_id"] not in rating_ids or r["rating_id"] in followed:
            return Verdict(False, n, f"follow-up {r['id']} follows no rating of its own ({r['rating_id']})")
        prev, expected = r["hash"], r["id"] + 1
        followed.add(r["rating_id"])
    return Verdict(True, len(records))


def audit_canonical(record: dict) -> str:
    at = record["at"]
    if isinstance(at, datetime):
        at = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return "|".join(str(x) for x in (record["id"], at, record["actor"], record["action"], record["outcome"],
                                     record["detail"]))


def audit_link(record: dict, prev_hash: str, secret: str | None) -> str:
    data = (prev_hash + "|" + audit_canonical(record)).encode("utf-8")
    if secret:
        return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def verify_audit(records: list[dict], secret: str | None) -> Verdict:
    """The audit log's chain, as `verify` does for the ratings."""
    prev, expected = GENESIS, None
    for n, r in enumerate(records):
        if expected is not None and r["id"] != expected:
            return Verdict(False, n, f"audit line {expected} is missing (the log jumps to {r['id']})")
        if r["prev_hash"] != prev or audit_link(r, prev, secret) != r["hash"]:
            return Verdict(False, n, f"audit line {r['id']} was changed, or a line before it was")
        prev, expected = r["hash"], r["id"] + 1
    return Verdict(True, len(records))
