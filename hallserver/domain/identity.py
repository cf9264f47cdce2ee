"""Real-name checks of the citizens' public forms (预约, 网上申报): the 居民身份证 number's
GB 11643-1999 check digit and birth date, a mainland mobile number, a name; and the keyed
hash that is all the hall keeps of an ID number ("No ID number is ever stored").

Pure Python: no database, web or clock of its own (the day is given). Each check returns the
Chinese sentence to show, or None when the value is fine.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH = date(1900, 1, 1)
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def check_char(first17: str) -> str:
    """The 18th character of an ID number whose first 17 digits are given (mod 11 of the weighted sum)."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normal_id(number: str) -> str:
    """The number as it is checked and hashed: no spaces around it, a lowercase x as X."""
    return number.strip().upper()


def birth_date_of(number: str) -> date | None:
    """The birth date in an ID number (characters 7–14, YYYYMMDD), or None when it is no date."""
    digits = normal_id(number)[6:14]
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def id_number_problem(number: str, today: date) -> str | None:
    """What is wrong with a 居民身份证 number, in Chinese; None when it is a valid one."""
    n = normal_id(number)
    if not n:
        return "请填写身份证号码"
    if len(n) != 18:
        return f"身份证号码应为 18 位，您填写了 {len(n)} 位"
    if not n.isascii() or not _ID_SHAPE.fullmatch(n):
        return "身份证号码应为 17 位数字加 1 位数字或 X"
    birth = birth_date_of(n)
    if birth is None or birth < EARLIEST_BIRTH or birth > today:
        return "身份证号码中的出生日期不正确，请核对"
    if check_char(n[:17]) != n[17]:
        return "身份证号码校验位不正确，请核对后重新填写"
    return None


def phone_problem(phone: str) -> str | None:
    """What is wrong with a mainland mobile number (11 ASCII digits, 13x–19x), in Chinese; None if fine."""
    p = phone.strip()
    if not p:
        return "请填写手机号码"
    if not p.isascii() or not _MOBILE.fullmatch(p):
        return "手机号码应为 11 位数字，以 13–19 开头"
    return None


def name_problem(name: str) -> str | None:
    """A person's name as given: 2–20 characters, no digits, not blank."""
    n = name.strip()
    if len(n) < 2:
        return "请填写申请人姓名（至少两个字）"
    if len(n) > 20:
        return "姓名不超过 20 个字"
    if any(ch.isdigit() or ch in "<>{}/\\@#$%^&*=+|;:\"" for ch in n):
        return "姓名中不能有数字或符号"
    return None


def id_hash(number: str, key: str) -> str:
    """The keyed hash (HMAC-SHA256, the hall's secret) of an ID number: compared, never reversed."""
    return hmac.new(key.encode("utf-8"), b"govhall-id|" + normal_id(number).encode("ascii", "replace"),
                    hashlib.sha256).hexdigest()
