"""Cases (办件): the catalogue's rules, 受理 with materials, 补正, steps, 延期, colours."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from hallserver.calendar_source import work_calendar
from hallserver.domain.cases import CaseBook, CaseError, Matter, MatterKind, Step, case_colour, case_deadline

TZ = ZoneInfo("Asia/Shanghai")
CAL = work_calendar()
LICENCE = Matter("food-licence", "食品经营许可", "市场监管局", MatterKind.PROMISED, 20, 5,
                 ("申请书", "营业执照", "场所平面图"))
COPY = Matter("hukou-copy", "户籍证明", "公安局", MatterKind.IMMEDIATE, 1, 0, ("身份证",))


def at(d, hh=10, mm=0):
    return datetime(2025, 11, d, hh, mm, tzinfo=TZ)


@pytest.fixture
def book():
    return CaseBook([LICENCE, COPY], CAL)


def test_a_promise_longer_than_the_law_is_refused():
    with pytest.raises(ValueError, match="longer than the legal"):
        Matter("x", "x", "d", MatterKind.PROMISED, 5, 10, ())
    with pytest.raises(ValueError, match="即办件"):
        Matter("x", "x", "d", MatterKind.IMMEDIATE, 5, 3, ())


def test_accepting_with_every_material_starts_the_clock(book):
    case = book.accept("food-licence", "w1", "s001", at(17), {"申请书": 2, "营业执照": 1, "场所平面图": 3}, [])
    assert case.step == Step.ACCEPTED and not case.waiting_materials
    assert case_deadline(case, CAL, book.rules, at(17)).due == datetime(2025, 11, 24, 17, 0, tzinfo=TZ)
    assert case.code.startswith("20251117") and len(case.token) == 16


def test_missing_materials_stop_the_clock_until_they_arrive(book):
    case = book.accept("food-licence", "w1", "s001", at(17), {"申请书": 2, "营业执照": 1}, [])
    assert case.missing == ["场所平面图"] and case.waiting_materials        # what was not ticked is missing
    with pytest.raises(CaseError) as info:
        book.advance(case.id, Step.REVIEWED, at(18), "s002")
    assert info.value.code == "waiting_materials"
    book.supplement(case.id, at(20), "s001", {"场所平面图": 3})               # came on Thursday
    assert not case.waiting_materials
    assert case_deadline(case, CAL, book.rules, at(20)).due == datetime(2025, 11, 27, 17, 0, tzinfo=TZ)


def test_steps_go_in_order_each_stamped_with_its_handler(book):
    case = book.accept("food-licence", "w1", "s001", at(17), {"申请书": 1, "营业执照": 1, "场所平面图": 1}, [])
    with pytest.raises(CaseError):
        book.advance(case.id, Step.APPROVED, at(18), "s002")                  # 审核 first
    for step, day, who in ((Step.REVIEWED, 18, "s002"), (Step.APPROVED, 19, "s003"), (Step.COMPLETED, 20, "s003")):
        book.advance(case.id, step, at(day), who)
    assert [(s.step, s.staff) for s in case.steps] == [(Step.ACCEPTED, "s001"), (Step.REVIEWED, "s002"),
                                                       (Step.APPROVED, "s003"), (Step.COMPLETED, "s003")]
    assert case_colour(case, CAL, book.rules, at(28)) == "green"             # finished in time stays green


def test_an_extension_needs_a_reason_and_someone_else_to_approve(book):
    case = book.accept("food-licence", "w1", "s001", at(17), {"申请书": 1, "营业执照": 1, "场所平面图": 1}, [])
    with pytest.raises(CaseError):
        book.request_extension(case.id, 5, "  ", "s001", at(20))
    book.request_extension(case.id, 5, "需现场核查", "s001", at(20))
    assert case_deadline(case, CAL, book.rules, at(20)).due.date().day == 24     # not before approval
    with pytest.raises(CaseError) as info:
        book.approve_extension(case.id, "s001", at(20))
    assert info.value.code == "forbidden"
    book.approve_extension(case.id, "m001", at(20))
    assert case_deadline(case, CAL, book.rules, at(20)).due == datetime(2025, 12, 1, 17, 0, tzinfo=TZ)


def test_colours_follow_the_calendar_not_only_when_someone_looks(book):
    case = book.accept("food-licence", "w1", "s001", at(17), {"申请书": 1, "营业执照": 1, "场所平面图": 1}, [])
    assert [case_colour(case, CAL, book.rules, at(d)) for d in (18, 21, 24)] == ["green", "yellow", "yellow"]
    assert case_colour(case, CAL, book.rules, at(24, 17, 30)) == "red"
    quick = book.accept("hukou-copy", "w2", "s002", at(21, 10, 30), {"身份证": 1}, [])
    assert case_deadline(quick, CAL, book.rules, at(21)).due == at(21, 12, 0)
    assert case_colour(quick, CAL, book.rules, at(21, 12, 1)) == "red"


def test_bad_acceptance_changes_nothing(book):
    for matter, received in (("nope", {}), ("food-licence", {"护照": 1}), ("food-licence", {"申请书": 0})):
        with pytest.raises(CaseError):
            book.accept(matter, "w1", "s001", at(17), received, [])
    assert book.cases == {} and book.take_changed() == []


def test_a_case_into_a_year_without_a_schedule_is_opened_with_its_deadline_pending():
    from hallserver.domain.cases import case_due
    from hallserver.domain.workdays import NoSchedule, Pending
    late = CaseBook([LICENCE], CAL)
    case = late.accept("food-licence", "w1", "s001", datetime(2026, 12, 28, 10, tzinfo=TZ),
                       {"申请书": 1, "营业执照": 1, "场所平面图": 1}, [])
    assert late.cases == {case.id: case} and late.last_id == 1
    due = case_due(case, CAL, late.rules, datetime(2026, 12, 28, 11, tzinfo=TZ))
    assert due == Pending(2027) and due.text == "待定：2027 年节假日安排未导入"
    assert case_colour(case, CAL, late.rules, datetime(2026, 12, 28, 11, tzinfo=TZ)) is None
    with pytest.raises(NoSchedule):
        case_deadline(case, CAL, late.rules, datetime(2026, 12, 28, 11, tzinfo=TZ))


@pytest.mark.parametrize("day, due", [
    (datetime(2026, 12, 23, 10, tzinfo=TZ), datetime(2026, 12, 30, 17, 0, tzinfo=TZ)),   # two days before the end
    (datetime(2026, 12, 24, 10, tzinfo=TZ), datetime(2026, 12, 31, 17, 0, tzinfo=TZ)),   # exactly the last covered day
    (datetime(2026, 12, 25, 10, tzinfo=TZ), None),                                         # day 5 in 2027: pending
])
def test_a_deadline_on_the_last_covered_day_is_computed_one_later_is_pending(day, due):
    from hallserver.domain.cases import case_due
    from hallserver.domain.workdays import Pending
    late = CaseBook([LICENCE], CAL)
    case = late.accept("food-licence", "w1", "s001", day, {"申请书": 1, "营业执照": 1, "场所平面图": 1}, [])
    d = case_due(case, CAL, late.rules, day)
    assert (d.due if due is not None else d) == (due if due is not None else Pending(2027))


def test_warn_mode_counts_weekends_only_in_the_missing_year_and_says_so():
    from hallserver.domain.workdays import guessed_text
    warn = work_calendar(missing_year="warn")
    late = CaseBook([LICENCE], warn)
    case = late.accept("food-licence", "w1", "s001", datetime(2026, 12, 28, 10, tzinfo=TZ),
                       {"申请书": 1, "营业执照": 1, "场所平面图": 1}, [])
    d = case_deadline(case, warn, late.rules, datetime(2026, 12, 28, 11, tzinfo=TZ))
    assert d.due == datetime(2027, 1, 4, 17, 0, tzinfo=TZ)          # 29, 30, 31 Dec, then Fri 1 Jan, Mon 4 Jan
    assert guessed_text(warn, case.accepted_at.date(), d.due.date()) == "按周末推算：2027 年节假日安排未导入"
    assert guessed_text(warn, date(2026, 1, 5), date(2026, 2, 5)) is None


JOINT = Matter("joint-permit", "建设项目联合审批", "住建局", MatterKind.JOINT, 45, 30, ("申请书",))


@pytest.mark.parametrize("matter, days, code", [
    ("food-licence", 10, None), ("food-licence", 11, "extension_too_long"),
    ("joint-permit", 15, None), ("joint-permit", 16, "extension_too_long"),
    ("hukou-copy", 1, "extension_too_long"),
])
def test_an_extension_is_at_most_ten_working_days_fifteen_for_joint_handling_never_for_a_quick_one(matter, days,
                                                                                                  code):
    book = CaseBook([LICENCE, COPY, JOINT], CAL)
    received = {m: 1 for m in book.matters[matter].materials}
    case = book.accept(matter, "w1", "s001", at(17), received, [])
    if code is None:
        book.request_extension(case.id, days, "需现场核查", "s001", at(18))
        assert case.extensions[0].days == days
    else:
        with pytest.raises(CaseError) as info:
            book.request_extension(case.id, days, "需现场核查", "s001", at(18))
        assert info.value.code == code and case.extensions == []


def test_a_case_is_extended_once_only_and_a_matter_may_set_its_own_limit():
    own = Matter("own-limit", "自定事项", "局", MatterKind.PROMISED, 20, 5, ("申请书",), max_extension_days=3)
    book = CaseBook([LICENCE, own], CAL)
    case = book.accept("food-licence", "w1", "s001", at(17), {"申请书": 1, "营业执照": 1, "场所平面图": 1}, [])
    book.request_extension(case.id, 10, "需专家评审", "s001", at(18))
    book.approve_extension(case.id, "m001", at(18))
    with pytest.raises(CaseError) as info:
        book.request_extension(case.id, 1, "再延一天", "s001", at(19))
    assert info.value.code == "extension_used" and len(case.extensions) == 1
    other = book.accept("own-limit", "w1", "s001", at(17), {"申请书": 1}, [])
    with pytest.raises(CaseError) as info:
        book.request_extension(other.id, 4, "需现场核查", "s001", at(18))
    assert info.value.code == "extension_too_long"
    with pytest.raises(ValueError, match="即办件"):
        Matter("x", "x", "d", MatterKind.IMMEDIATE, 1, 0, (), max_extension_days=2)


@pytest.mark.parametrize("hh, mm, on, due", [
    (16, 59, False, 20), (17, 0, False, 20), (17, 1, False, 20),     # off: always counted from the next working day
    (16, 59, True, 20), (17, 0, True, 21), (17, 1, True, 21),        # on: from 17:00 it is received on Tuesday
])
def test_after_hours_a_case_counts_from_the_next_working_day_when_the_hall_says_so(hh, mm, on, due):
    from hallserver.domain.cases import CaseRules
    book = CaseBook([LICENCE], CAL, CaseRules(after_hours_next_day=on))
    three = Matter("three", "三日事项", "局", MatterKind.PROMISED, 20, 3, ("申请书",))
    book.matters["three"] = three
    case = book.accept("three", "w1", "s001", at(17, hh, mm), {"申请书": 1}, [])
    assert case_deadline(case, CAL, book.rules, at(17, hh, mm)).due == at(due, 17, 0)
    assert case_colour(case, CAL, book.rules, at(18, 9)) == "green"


def test_after_hours_on_a_day_off_counts_from_the_next_working_day_too():
    from hallserver.domain.cases import CaseRules
    three = Matter("three", "三日事项", "局", MatterKind.PROMISED, 20, 3, ("申请书",))
    off, on = CaseBook([three], CAL), CaseBook([three], CAL, CaseRules(after_hours_next_day=True))
    saturday = at(22, 10)
    assert case_deadline(off.accept("three", "online", "online", saturday, {"申请书": 1}, []), CAL, off.rules,
                         saturday).due == at(26, 17, 0)            # Mon, Tue, Wed
    assert case_deadline(on.accept("three", "online", "online", saturday, {"申请书": 1}, []), CAL, on.rules,
                         saturday).due == at(27, 17, 0)            # received Monday: Tue, Wed, Thu


def test_a_step_with_its_own_budget_has_its_own_colour():
    from hallserver.domain.cases import step_colours
    staged = Matter("staged", "分步事项", "局", MatterKind.PROMISED, 20, 10, ("申请书",), (("审核", 2), ("审批", 3)))
    book = CaseBook([staged], CAL)
    case = book.accept("staged", "w1", "s001", at(17), {"申请书": 1}, [])
    (review,) = step_colours(case, CAL, book.rules, at(18))              # 审批 has no clock before 审核 is done
    assert review["step"] == "审核" and review["due"] == at(19, 17, 0) and review["colour"] == "yellow"
    assert step_colours(case, CAL, book.rules, at(20))[0]["colour"] == "red"
    book.advance(case.id, Step.REVIEWED, at(20, 9), "s002")               # done late: stays red
    review, approval = step_colours(case, CAL, book.rules, at(21))
    assert review["done"] and review["colour"] == "red"
    assert approval["due"] == at(25, 17, 0) and approval["colour"] == "green"


def test_a_step_budget_into_a_year_without_a_schedule_is_pending_the_others_computed():
    from hallserver.domain.cases import step_colours
    staged = Matter("staged", "分步事项", "局", MatterKind.PROMISED, 20, 10, ("申请书",), (("审核", 1), ("审批", 2)))
    book = CaseBook([staged], CAL)
    case = book.accept("staged", "w1", "s001", datetime(2026, 12, 29, 10, tzinfo=TZ), {"申请书": 1}, [])
    book.advance(case.id, Step.REVIEWED, datetime(2026, 12, 30, 10, tzinfo=TZ), "s002")
    review, approval = step_colours(case, CAL, book.rules, datetime(2026, 12, 30, 11, tzinfo=TZ))
    assert review["due"] == datetime(2026, 12, 30, 17, 0, tzinfo=TZ) and review["colour"] == "yellow"
    assert approval["due"] is None and approval["colour"] is None                 # 31 Dec, then 2027
    assert approval["pending"] == "待定：2027 年节假日安排未导入"


def test_the_catalogue_file_may_give_a_matter_its_own_extension_limit(tmp_path):
    from govhall.catalogue import load_catalogue
    from govhall.config import ConfigError
    path = tmp_path / "matters.csv"
    path.write_text("id,name,department,kind,legal_days,promised_days,materials,max_extension_days\n"
                    "a,甲事项,局,承诺件,20,5,申请书,3\nb,乙事项,局,联办件,45,30,申请书,\n", encoding="utf-8")
    assert [m.max_extension_days for m in load_catalogue(path)] == [3, None]
    path.write_text("id,name,department,kind,legal_days,promised_days,materials,max_extension_days\n"
                    "c,丙事项,局,即办件,1,0,身份证,2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="row 2: a 即办件 is never extended"):
        load_catalogue(path)


def test_after_hours_a_pause_from_before_the_day_received_does_not_count_twice():
    from hallserver.domain.cases import CaseRules
    three = Matter("three", "三日事项", "局", MatterKind.PROMISED, 20, 3, ("申请书", "身份证"))
    book = CaseBook([three], CAL, CaseRules(after_hours_next_day=True))
    case = book.accept("three", "w1", "s001", at(21, 18), {"申请书": 1}, [])        # Friday after closing, 补正
    book.supplement(case.id, at(24, 10), "s001", {"身份证": 1})                    # Monday, the day it counts from
    assert case_deadline(case, CAL, book.rules, at(24, 11)).due == at(27, 17, 0)  # Tue, Wed, Thu; no day paused
