"""请销假 by level: which approvers a leave needs, by its length (`[[attendance.leave_levels]]`).

A level's approver is a role (`lead` 科室/部门负责人, `manager` 大厅管理员) or a named manager's
id. The length is the leave's calendar time, end − start, in days of 24 hours (ours: 001 asks
for the hall's 请销假制度 with 全部审批报备手续 but names no levels). An empty chain is one
approval by anyone who may decide (the hall without a chain)."""
from dataclasses import dataclass
from datetime import datetime, timedelta

DAY = timedelta(days=1)


@dataclass(frozen=True)
class LeaveLevel:
    up_to_days: float | None      # None: beyond the last limit
    approvers: tuple[str, ...]    # in order: a role (lead, manager) or a manager's id per level


def steps_for(chain: list[LeaveLevel], start: datetime, end: datetime) -> tuple[str, ...]:
    """The approvers, in order, a leave from `start` to `end` needs; () without a chain."""
    days = (end - start) / DAY
    for level in chain:
        if level.up_to_days is None or days <= level.up_to_days:
            return level.approvers
    return chain[-1].approvers if chain else ()


def may_approve(step: str, approver: str, role: str | None) -> bool:
    """`approver` (with `role`, None for someone not among the managers) may approve at `step`."""
    return step == approver or (role is not None and step == role)
