"""万众评股室's arithmetic (hallserver/domain/evaluation.py): weights, missing groups, ties, ±10, the sheet."""
from __future__ import annotations

from decimal import Decimal

import pytest

from hallserver.domain.evaluation import (
    DEFAULT_GROUPS,
    DEFAULT_INDICATORS,
    EvaluationError,
    RaterGroup,
    Sheet,
    bottom_tier,
    check_adjustment,
    check_groups,
    check_indicators,
    check_sheet,
    flag_count,
    normalised_weights,
    results,
    sheet_total,
)
from hallserver.reports.evaluation import result_csv, result_rows, weights_table

D = Decimal


def full_sheet(unit: str, group: str, fraction: str = "1") -> Sheet:
    return Sheet(unit, group, {i.key: i.points * D(fraction) for i in DEFAULT_INDICATORS})


def sheet_of_total(unit: str, group: str, total: str) -> Sheet:
    """A sheet whose total is `total`: the first indicator takes what the others at full leave."""
    scores = {i.key: i.points for i in DEFAULT_INDICATORS}
    scores["9"] = D(9) - (D(90) - D(total))
    return Sheet(unit, group, scores)


def test_the_default_sheet_is_the_source_s_five_systems_of_18_points():
    assert sheet_total(DEFAULT_INDICATORS) == D(90)
    per_system: dict[str, Decimal] = {}
    for indicator in DEFAULT_INDICATORS:
        per_system[indicator.system] = per_system.get(indicator.system, D(0)) + indicator.points
    assert per_system == {"首问负责制": 18, "岗位责任制": 18, "服务承诺制": 18, "政务公示制": 18, "限时办结制": 18}
    check_indicators(DEFAULT_INDICATORS)


def test_the_source_s_weights_add_up_to_95_and_are_normalised():
    check_groups(DEFAULT_GROUPS)
    assert sum(g.weight for g in DEFAULT_GROUPS) == D("0.95")
    shares = normalised_weights(DEFAULT_GROUPS)
    assert sum(shares.values()) == pytest.approx(1)
    assert round(shares["public"], 4) == D("0.3158")


def test_full_marks_from_every_group_score_90_not_85_5():
    sheets = [full_sheet("A", g.key) for g in DEFAULT_GROUPS]
    (row,) = results(["A"], sheets, DEFAULT_GROUPS, {})
    assert row.weighted == D("90.00") and row.final == D("90.00")


def test_weighted_score_is_the_weighted_mean_of_group_averages_exactly():
    sheets = [sheet_of_total("A", "leaders", "80"), sheet_of_total("A", "leaders", "81"),
              sheet_of_total("A", "public", "70")]
    (row,) = results(["A"], sheets, DEFAULT_GROUPS, {})
    assert row.group_averages["leaders"] == D("80.5")
    assert row.group_averages["towns"] is None
    # (0.15 × 80.5 + 0.30 × 70) / 0.45 = 33.075 / 0.45 = 73.5
    assert row.weighted == D("73.50")


def test_a_missing_group_is_left_out_and_rounding_is_half_up_once():
    sheets = [sheet_of_total("A", "leaders", "80"), sheet_of_total("A", "deputies", "85.01")]
    (row,) = results(["A"], sheets, DEFAULT_GROUPS, {})
    # (0.15 × 80 + 0.20 × 85.01) / 0.35 = 29.002 / 0.35 = 82.862857… → 82.86
    assert row.weighted == D("82.86")


def test_a_unit_without_sheets_has_no_score_and_no_rank():
    rows = results(["A", "B"], [full_sheet("A", "public")], DEFAULT_GROUPS, {"B": D(5)})
    by_unit = {r.unit: r for r in rows}
    assert by_unit["B"].weighted is None and by_unit["B"].final is None and by_unit["B"].rank is None
    assert not by_unit["B"].top and not by_unit["B"].bottom
    assert rows[-1].unit == "B"
    assert by_unit["A"].rank == 1


def test_adjustment_of_exactly_ten_either_way_is_taken_and_10_5_refused():
    check_adjustment(D(10), "表彰")
    check_adjustment(D(-10), "通报")
    with pytest.raises(EvaluationError) as error:
        check_adjustment(D("10.5"), "太多")
    assert error.value.code == "adjustment_out_of_range"
    with pytest.raises(EvaluationError) as error:
        check_adjustment(D("-10.01"), "太多")
    assert error.value.code == "adjustment_out_of_range"
    with pytest.raises(EvaluationError) as error:
        check_adjustment(D(3), "  ")
    assert error.value.code == "reason_required"
    with pytest.raises(EvaluationError):
        check_adjustment(D("1.001"), "精度")


def test_the_adjustment_adds_to_the_final_score_never_below_zero():
    sheets = [full_sheet("A", "public"), full_sheet("B", "public", "0.05")]
    rows = {r.unit: r for r in results(["A", "B"], sheets, DEFAULT_GROUPS, {"A": D(10), "B": D(-10)})}
    assert rows["A"].final == D("100.00")
    assert rows["B"].weighted == D("4.50") and rows["B"].final == D("0")


def test_a_score_above_its_indicator_s_points_is_refused():
    sheet = full_sheet("A", "public")
    check_sheet(sheet, DEFAULT_INDICATORS, DEFAULT_GROUPS, ["A"])
    over = Sheet("A", "public", {**sheet.scores, "1": D("4.6")})
    with pytest.raises(EvaluationError) as error:
        check_sheet(over, DEFAULT_INDICATORS, DEFAULT_GROUPS, ["A"])
    assert error.value.code == "score_out_of_range"
    negative = Sheet("A", "public", {**sheet.scores, "13-1": D("-0.5")})
    with pytest.raises(EvaluationError):
        check_sheet(negative, DEFAULT_INDICATORS, DEFAULT_GROUPS, ["A"])


def test_a_sheet_must_score_every_indicator_of_a_known_unit_and_group():
    sheet = full_sheet("A", "public")
    missing = Sheet("A", "public", {k: v for k, v in sheet.scores.items() if k != "17"})
    for bad, code in ((missing, "invalid_field"), (Sheet("A", "x", sheet.scores), "unknown_group"),
                      (Sheet("Z", "public", sheet.scores), "unknown_unit"),
                      (Sheet("A", "public", {**sheet.scores, "1": D("NaN")}), "invalid_field")):
        with pytest.raises(EvaluationError) as error:
            check_sheet(bad, DEFAULT_INDICATORS, DEFAULT_GROUPS, ["A"])
        assert error.value.code == code


def test_ties_share_a_rank():
    sheets = [sheet_of_total(u, "public", t) for u, t in (("A", "80"), ("B", "85"), ("C", "85"), ("D", "70"))]
    rows = results(["A", "B", "C", "D"], sheets, DEFAULT_GROUPS, {})
    assert [(r.unit, r.rank) for r in rows] == [("B", 1), ("C", 1), ("A", 3), ("D", 4)]
    # four units: top 2 and bottom 2
    assert {r.unit for r in rows if r.top} == {"B", "C"}
    assert {r.unit for r in rows if r.bottom} == {"A", "D"}


def test_top_and_bottom_ten_of_many_units_with_their_tiers():
    units = [f"U{n:02d}" for n in range(25)]
    sheets = [sheet_of_total(u, "public", str(60 + n)) for n, u in enumerate(units)]
    rows = results(units, sheets, DEFAULT_GROUPS, {})
    assert flag_count(25) == 10
    assert sum(r.top for r in rows) == 10 and sum(r.bottom for r in rows) == 10
    last = rows[-1]
    assert last.unit == "U00" and last.bottom_rank == 1 and bottom_tier(last.bottom_rank, last.bottom) == "后3至1"
    tiers = [bottom_tier(r.bottom_rank, r.bottom) for r in rows]
    assert tiers.count("后3至1") == 3 and tiers.count("后6至4") == 3 and tiers.count("后10至7") == 4
    assert tiers.count("") == 15


def test_a_tie_spanning_the_middle_is_neither_top_nor_bottom():
    sheets = [sheet_of_total(u, "public", "80") for u in "ABC"]
    rows = results(list("ABC"), sheets, DEFAULT_GROUPS, {})
    assert all(r.rank == 1 and not r.top and not r.bottom for r in rows)
    assert flag_count(1) == 0 and flag_count(3) == 1 and flag_count(19) == 9


def test_bad_groups_and_indicators_are_refused():
    for groups in ((), (RaterGroup("a", "A", D(0)),), (RaterGroup("a", "A", D("0.5")), RaterGroup("a", "B", D("0.5"))),
                   (RaterGroup("a", "A", D("1.5")),)):
        with pytest.raises(EvaluationError):
            check_groups(groups)
    with pytest.raises(EvaluationError):
        check_indicators(())
    with pytest.raises(EvaluationError):
        check_indicators((DEFAULT_INDICATORS[0], DEFAULT_INDICATORS[0]))


def test_the_result_csv_is_safe_and_shows_both_weights():
    sheets = [full_sheet("A", "public"), full_sheet("=B", "public", "0.5")]
    rows = results(["A", "=B"], sheets, DEFAULT_GROUPS, {"A": D("-2.5")})
    text = result_csv(rows, DEFAULT_GROUPS, {"A": "不动产登记股", "=B": "=HYPERLINK(\"x\")"})
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[1].startswith("1,A,不动产登记股,1,,,,,90.00,90.00,-2.50,87.50,前10位")
    assert lines[2].startswith("2,'=B,\"'=HYPERLINK(") and lines[2].endswith(",45.00,45.00,0.00,45.00,后3至1")
    assert "社会各界人士、服务对象,30.00,31.58" in text
    table = result_rows(rows, DEFAULT_GROUPS, {})
    assert table[0]["final"] == "87.50" and table[0]["group_averages"]["leaders"] == ""
    assert table[1]["flag"] == "后3至1"
    shares = weights_table(DEFAULT_GROUPS)
    assert [w["counted_percent"] for w in shares] == ["15.79", "15.79", "15.79", "21.05", "31.58"]
