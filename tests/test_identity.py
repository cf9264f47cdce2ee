"""The real-name checks (GB 11643-1999 check digit, birth date, mobile number, name), the keyed
ID hash, the rating code and the guess throttles: pure rules, no server."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hallserver.domain.identity import (
    CHECK_CHARS,
    WEIGHTS,
    birth_date_of,
    check_char,
    id_hash,
    id_number_problem,
    name_problem,
    phone_problem,
)
from hallserver.domain.public_limits import CountLimit, GuessThrottle
from hallserver.domain.rating_code import code_matches, rating_code

TODAY = date(2026, 12, 4)


def with_check(first17: str) -> str:
    return first17 + check_char(first17)


def test_the_published_example_numbers_check():
    assert check_char("11010519491231002") == "X"            # the standard's own example: 11010519491231002X
    assert id_number_problem("11010519491231002X", TODAY) is None
    assert id_number_problem("11010519491231002x", TODAY) is None      # a lowercase x is the same number
    assert id_number_problem(" " + with_check("44052419800101001") + " ", TODAY) is None   # spaces dropped
    assert birth_date_of("11010519491231002X") == date(1949, 12, 31)


def test_a_wrong_check_digit_a_wrong_length_or_a_letter_is_refused_in_chinese():
    assert id_number_problem("110105194912310021", TODAY) == "身份证号码校验位不正确，请核对后重新填写"
    assert "18 位" in id_number_problem("11010519491231002", TODAY)            # 17 characters
    assert "18 位" in id_number_problem("11010519491231002X1", TODAY)          # 19
    assert id_number_problem("", TODAY) == "请填写身份证号码"
    assert "17 位数字" in id_number_problem("1101051949123100XX", TODAY)
    assert "17 位数字" in id_number_problem("11010519491231002Y", TODAY)
    assert "17 位数字" in id_number_problem("１１０１０５１９４９１２３１００２X", TODAY)   # full-width digits


def test_a_birth_date_that_is_no_date_or_in_the_future_is_refused():
    assert "出生日期" in id_number_problem(with_check("11010519990230001"), TODAY)    # 30 February
    assert "出生日期" in id_number_problem(with_check("11010519991301001"), TODAY)    # month 13
    assert "出生日期" in id_number_problem(with_check("11010518991231001"), TODAY)    # before 1900
    tomorrow = TODAY + timedelta(days=1)
    assert "出生日期" in id_number_problem(with_check(f"110105{tomorrow:%Y%m%d}001"), TODAY)
    assert id_number_problem(with_check(f"110105{TODAY:%Y%m%d}001"), TODAY) is None   # born today


@given(region=st.integers(110000, 829999), birth=st.dates(date(1900, 1, 1), TODAY), seq=st.integers(0, 999))
def test_every_number_with_its_check_char_is_valid_and_every_other_check_char_is_not(region, birth, seq):
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    good = check_char(first17)
    assert id_number_problem(first17 + good, TODAY) is None
    assert id_number_problem(first17 + good.lower(), TODAY) is None
    for other in set(CHECK_CHARS) - {good}:
        assert id_number_problem(first17 + other, TODAY) is not None
    # the check is the standard's: sum of digit × weight, plus the check's value, is 1 mod 11
    value = 10 if good == "X" else int(good)
    assert (sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) + value * 1) % 11 == 1


@given(st.text(max_size=30))
def test_any_text_gets_an_answer_never_an_exception(text):
    assert id_number_problem(text, TODAY) is None or isinstance(id_number_problem(text, TODAY), str)
    assert phone_problem(text) is None or isinstance(phone_problem(text), str)
    assert name_problem(text) is None or isinstance(name_problem(text), str)


def test_a_mainland_mobile_number_and_a_name():
    assert phone_problem("13800138000") is None and phone_problem("19912345678") is None
    for bad in ("12800138000", "1380013800", "138001380000", "+8613800138000", "１３８００１３８０００", ""):
        assert phone_problem(bad) is not None, bad
    assert name_problem("王丽") is None and name_problem("阿依古丽·买买提") is None
    for bad in ("王", "  ", "王丽1", "<script>", "王" * 21):
        assert name_problem(bad) is not None, bad


def test_the_id_hash_is_keyed_and_the_same_for_the_same_number_written_either_way():
    number = "11010519491231002X"
    assert id_hash(number, "k" * 16) == id_hash(" 11010519491231002x", "k" * 16)
    assert id_hash(number, "k" * 16) != id_hash(number, "j" * 16)
    assert number not in id_hash(number, "k" * 16) and len(id_hash(number, "k" * 16)) == 64


def test_the_rating_code_is_six_digits_of_its_token_and_nothing_else_matches():
    code = rating_code("abcdefghijklmnop")
    assert len(code) == 6 and code.isdigit() and code == rating_code("abcdefghijklmnop")
    assert code_matches("abcdefghijklmnop", code) and code_matches("abcdefghijklmnop", f" {code[:3]} {code[3:]} ")
    assert not code_matches("abcdefghijklmnoq", code) or rating_code("abcdefghijklmnoq") == code
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert not code_matches("abcdefghijklmnop", wrong) and not code_matches("abcdefghijklmnop", code[:5])


def test_wrong_guesses_come_in_a_burst_then_one_per_period_and_nothing_locks_for_good():
    t = GuessThrottle(burst=3, refill_s=60)
    for _ in range(3):
        assert t.allows("w1", 0.0)
        t.failed("w1", 0.0)
    assert not t.allows("w1", 1.0) and t.wait_s("w1", 1.0) == 60
    assert t.allows("w2", 1.0)                                   # another key is not held back
    assert t.allows("w1", 60.0)                                  # a minute later: one more guess
    t.failed("w1", 60.0)
    assert not t.allows("w1", 61.0)
    assert t.allows("w1", 60.0 + 180.0) and t.wait_s("w1", 400.0) == 0   # never locked for good


def test_a_count_limit_counts_within_its_period_only():
    limit = CountLimit(3600.0)
    for at in (0.0, 10.0):
        assert limit.allows("1.2.3.4", at, 2)
        limit.record("1.2.3.4", at)
    assert not limit.allows("1.2.3.4", 20.0, 2) and limit.allows("5.6.7.8", 20.0, 2)
    assert limit.allows("1.2.3.4", 20.0, 3)                     # a higher limit set meanwhile applies
    assert limit.allows("1.2.3.4", 3600.0, 2)                   # the first has left the hour
