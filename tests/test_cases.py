"""Cases (办件): the catalogue's rules, 受理 with materials, 补正, steps, 延期, colours."""
from datetime import datetime
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


def test_no_case_is_opened_into_a_year_without_a_schedule():
    from hallserver.domain.workdays import NoSchedule
    late = CaseBook([LICENCE], CAL)
    with pytest.raises(NoSchedule):
        late.accept("food-licence", "w1", "s001", datetime(2026, 12, 28, 10, tzinfo=TZ),
                    {"申请书": 1, "营业执照": 1, "场所平面图": 1}, [])
    assert late.cases == {} and late.last_id == 0


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
