"""The halls the demo runs: a realistic county 政务服务中心 (`hall demo`'s default) and the
small three-window hall the tests use. Each is its config and the people in it: how many
citizens come for each category and how long their service takes, when each window's staff
member logs in, and the scripted moments the demo always shows (a late start that B covers
(AB岗), a front desk left empty (前台断档), cases accepted on earlier days running to their
deadlines (限时办结)).

All figures here are ours, chosen to look like a county hall on a Monday; none is a rule.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

DEMO_START = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday, a working day


@dataclass(frozen=True)
class SeededCase:
    """A case applied for online (网上申报) on an earlier working day, still open this morning."""
    days_ago: int          # calendar days before the demo day (the day must be a working day)
    matter: str


@dataclass(frozen=True)
class Pause:
    """A scripted pause at a window: from `at_minute` after 09:00 (or the end of the service then
    running) for `minutes`."""
    window: str
    at_minute: int
    minutes: int
    reason: str = "meal"


@dataclass(frozen=True)
class DemoHall:
    key: str
    raw: dict[str, Any]                            # the hall config, as a hall.toml would give it
    arrivals_per_hour: dict[str, float]            # citizens per hour at the peak, per category
    service_minutes: dict[str, float]              # mean service time, per category
    logins: dict[str, tuple[str, int]]             # window -> (staff id, minutes after 09:00)
    pauses: tuple[Pause, ...] = ()
    profile: Callable[[float], float] | None = None   # hours after 09:00 -> share of the peak rate
    wake_idle: bool = False                        # idle staff call when a number of theirs is taken
    lunch: tuple[int, int] | None = None           # minutes after 09:00: every window pauses for lunch
    case_matters: dict[str, str] = field(default_factory=dict)   # category -> matter accepted as a case
    case_share: float = 0.0                        # of the services of those categories
    seeded_cases: tuple[SeededCase, ...] = ()
    level_weights: tuple[tuple[int, int], ...] = ((5, 70), (4, 20), (3, 6), (2, 3), (1, 1))
    default_minutes: int = 180                     # simulated minutes from 09:00 when not told


def morning_peak(hours: float) -> float:
    """The small hall's day: a morning peak around 10:00."""
    return 0.55 + 0.45 * math.exp(-((hours - 1.0) ** 2))


def county_day(hours: float) -> float:
    """The county hall's day: the peak at 10:00, few over lunch (the hall is closed 12:00–13:30,
    a few wait at the door), a second, lower peak at 14:30, quiet towards closing."""
    if 3.0 <= hours < 4.3:
        return 0.08
    morning = 0.5 + 0.5 * math.exp(-((hours - 1.0) ** 2) / 0.8)
    afternoon = 0.35 + 0.45 * math.exp(-((hours - 5.5) ** 2) / 1.2)
    return morning if hours < 3.0 else afternoon


# ---------------------------------------------------------------------------- the small hall
SMALL_CONFIG: dict[str, Any] = {
    "hall": {"id": "demo", "name": "示范县政务服务中心"},
    "hours": {"sessions": [["09:00", "12:00"], ["13:30", "17:00"]], "last_ticket_minutes": 30},
    "categories": [
        {"id": "social", "name": "社保医保", "prefix": "A"},
        {"id": "business", "name": "企业开办", "prefix": "B", "session_quota": 6},
        {"id": "residence", "name": "户籍证件", "prefix": "C"},
    ],
    "windows": [
        {"id": "w1", "number": 1, "categories": ["social", "residence"], "led_address": 1},
        {"id": "w2", "number": 2, "categories": ["business"], "led_address": 2},
        {"id": "w3", "number": 3, "name": "3号综合窗口", "categories": ["residence", "social", "business"],
         "led_address": 3, "elderly_first": True},
    ],
    "staff": [{"id": "s001", "name": "王丽"}, {"id": "s002", "name": "李强"}, {"id": "s003", "name": "张敏"}],
    "counter": {"badge_login_posts": ["*"]},      # a demo: nobody has a password (check-config refuses that elsewhere)
    "posts": [     # AB岗: window 3's 张敏 starts late, 王丽 covers; 企业开办 has nobody for the first minutes
        {"id": "front-residence", "name": "户籍受理岗", "a": "s003", "b": "s001", "categories": ["residence"],
         "front_desk": True},
        {"id": "front-business", "name": "企业开办岗", "a": "s002", "b": "s003", "categories": ["business"],
         "front_desk": True},
    ],
    "matters": [   # 事项目录: a few matters the windows accept as cases (限时办结)
        {"id": "pension-transfer", "name": "养老保险关系转移", "department": "人社局", "kind": "承诺件",
         "legal_days": 15, "promised_days": 5, "materials": ["转移申请表", "身份证复印件", "参保缴费凭证"]},
        {"id": "business-licence", "name": "个体工商户登记", "department": "市场监管局", "kind": "承诺件",
         "legal_days": 15, "promised_days": 3, "materials": ["登记申请书", "经营者身份证明", "经营场所证明"]},
        {"id": "residence-proof", "name": "户籍证明开具", "department": "公安局", "kind": "即办件",
         "legal_days": 1, "promised_days": 0, "materials": ["身份证"]},
    ],
    "devices": [
        {"id": "kiosk-1", "role": "kiosk"},
        *({"id": f"counter-{i}", "role": "counter", "window": f"w{i}"} for i in (1, 2, 3)),
        *({"id": f"tablet-{i}", "role": "tablet", "window": f"w{i}"} for i in (1, 2, 3)),
        {"id": "led-bridge-1", "role": "led-bridge"},
        {"id": "screen-1", "role": "screen"},
        # the Qt windows of `make demo` on a display: a kiosk you can tap, a desk at window 1
        {"id": "kiosk-2", "role": "kiosk"},
        {"id": "desk-1", "role": "counter", "window": "w1"},
        {"id": "screen-2", "role": "screen"},
    ],
}

SMALL_HALL = DemoHall(
    key="small", raw=SMALL_CONFIG,
    arrivals_per_hour={"social": 14.0, "business": 5.0, "residence": 8.0},
    service_minutes={"social": 6.0, "business": 12.0, "residence": 5.0},
    logins={"w1": ("s001", 0), "w2": ("s002", 2), "w3": ("s003", 20)},     # window 3 opens twenty minutes late
    pauses=(Pause("w2", 50, 15),),
    profile=morning_peak,
)


# ---------------------------------------------------------------------------- the county hall
# (id, name, prefix, department, peak citizens per hour, mean service minutes, quota)
COUNTY_CATEGORIES: list[tuple[str, str, str, str, float, float, dict]] = [
    ("social", "社保业务", "A", "人社局社保中心", 48.0, 6.0, {}),
    ("medical", "医保业务", "B", "医保局", 35.0, 5.0, {}),
    ("property", "不动产登记", "C", "自然资源局不动产登记中心", 26.0, 15.0, {"session_quota": 60}),
    ("fund", "住房公积金", "D", "住房公积金管理中心", 18.0, 8.0, {}),
    ("tax", "税务业务", "E", "税务局", 34.0, 9.0, {}),
    ("business", "企业开办", "F", "市场监管局", 13.0, 18.0, {"session_quota": 24}),
    ("residence", "户籍业务", "G", "公安局户政", 21.0, 6.0, {}),
    ("exit-entry", "出入境", "H", "公安局出入境", 11.0, 10.0, {"daily_quota": 60}),
    ("civil", "民政业务", "J", "民政局", 8.0, 10.0, {}),
    ("employment", "就业人才", "K", "人社局", 11.0, 8.0, {}),
    ("general", "综合受理", "L", "行政审批局", 16.0, 8.0, {}),
    ("self-service", "自助区导办", "Z", "行政审批局", 14.0, 4.0, {}),
]

# (window number, name, categories in order of preference, department, extra)
COUNTY_WINDOWS: list[tuple[int, str, list[str], str, dict]] = [
    *((n, "", ["social"], "人社局社保中心", {}) for n in (1, 2, 3)),
    (4, "", ["social", "medical"], "人社局社保中心", {}),
    *((n, "", ["medical"], "医保局", {}) for n in (5, 6, 7)),
    *((n, "", ["property"], "自然资源局不动产登记中心", {}) for n in (8, 9, 10, 11)),
    *((n, "", ["fund"], "住房公积金管理中心", {}) for n in (12, 13)),
    *((n, "", ["tax"], "税务局", {}) for n in (14, 15, 16, 17)),
    *((n, "", ["business"], "市场监管局", {}) for n in (18, 19, 20)),
    (21, "", ["residence"], "公安局户政", {}),
    (22, "", ["residence", "exit-entry"], "公安局户政", {}),
    (23, "23号出入境窗口", ["exit-entry"], "公安局出入境", {}),
    (24, "", ["civil"], "民政局", {}),
    (25, "", ["employment"], "人社局", {}),
    (26, "26号老年人优先窗口", ["general", "social", "medical", "residence"], "行政审批局", {"elderly_first": True}),
    (27, "27号综合窗口", ["general", "social", "medical"], "行政审批局", {}),
    (28, "28号综合窗口", ["general", "tax", "fund"], "行政审批局", {}),
    (29, "29号综合窗口", ["general", "business", "property"], "行政审批局", {}),
    (30, "30号帮办代办", ["general", "employment"], "行政审批局", {}),
    (31, "自助区导办台", ["self-service"], "行政审批局", {}),
]

COUNTY_STAFF = [
    "王丽", "李强", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄婷", "周杰", "吴芳", "徐明", "孙悦", "胡斌",
    "朱琳", "高翔", "林娜", "何勇", "郭佳", "马超", "罗欣", "梁伟", "宋雪", "郑凯", "谢婉", "韩冰", "唐宁",
    "冯涛", "于洁", "董浩", "萧然", "程丹",
]

COUNTY_MATTERS: list[dict[str, Any]] = [
    {"id": "pension-transfer", "name": "养老保险关系转移接续", "department": "人社局社保中心", "kind": "承诺件",
     "legal_days": 15, "promised_days": 5, "materials": ["转移申请表", "身份证", "参保缴费凭证"]},
    {"id": "chronic-illness", "name": "门诊慢特病待遇认定", "department": "医保局", "kind": "承诺件",
     "legal_days": 15, "promised_days": 5, "materials": ["认定申请表", "身份证", "病历资料"]},
    {"id": "property-transfer", "name": "不动产转移登记", "department": "自然资源局不动产登记中心", "kind": "承诺件",
     "legal_days": 30, "promised_days": 5,
     "materials": ["登记申请书", "身份证", "不动产权证书", "买卖合同", "完税凭证"]},
    {"id": "mortgage-registration", "name": "不动产抵押登记", "department": "自然资源局不动产登记中心",
     "kind": "承诺件", "legal_days": 30, "promised_days": 3, "materials": ["登记申请书", "身份证", "抵押合同"]},
    {"id": "fund-withdrawal", "name": "住房公积金提取", "department": "住房公积金管理中心", "kind": "承诺件",
     "legal_days": 3, "promised_days": 1, "materials": ["提取申请表", "身份证", "购房合同"]},
    {"id": "invoice-application", "name": "发票领用", "department": "税务局", "kind": "即办件",
     "legal_days": 1, "promised_days": 0, "materials": ["身份证"]},
    {"id": "company-registration", "name": "企业设立登记", "department": "市场监管局", "kind": "承诺件",
     "legal_days": 15, "promised_days": 1, "materials": ["设立登记申请书", "公司章程", "股东身份证明", "住所证明"]},
    {"id": "household-transfer", "name": "户口迁移", "department": "公安局户政", "kind": "承诺件",
     "legal_days": 20, "promised_days": 5, "materials": ["迁移申请表", "户口簿", "身份证"]},
    {"id": "passport", "name": "普通护照签发", "department": "公安局出入境", "kind": "承诺件",
     "legal_days": 15, "promised_days": 7, "materials": ["申请表", "身份证", "证件照片"]},
    {"id": "subsistence-allowance", "name": "最低生活保障申请", "department": "民政局", "kind": "上报件",
     "legal_days": 30, "promised_days": 20, "materials": ["申请书", "身份证", "家庭收入证明"]},
    {"id": "employment-card", "name": "就业创业证申领", "department": "人社局", "kind": "承诺件",
     "legal_days": 5, "promised_days": 3, "materials": ["申请表", "身份证"]},
]

# AB岗 posts: (id, name, A's window, B's window, categories, front desk)
COUNTY_POSTS: list[tuple[str, str, int, int, list[str], bool]] = [
    ("front-social", "社保受理岗", 1, 27, ["social"], True),
    ("front-property", "不动产受理岗", 8, 29, ["property"], True),
    ("front-tax", "税务受理岗", 14, 28, ["tax"], True),
    ("front-business", "企业开办岗", 18, 29, ["business"], True),
    ("front-exit-entry", "出入境受理岗", 23, 22, ["exit-entry"], True),
    ("front-civil", "民政受理岗", 24, 30, ["civil"], True),
    ("front-employment", "就业人才岗", 25, 30, ["employment"], False),
]


def _county_config() -> dict[str, Any]:
    staff_of = {number: f"s{number:03d}" for number, *_ in COUNTY_WINDOWS}
    return {
        "hall": {"id": "qingshan", "name": "青山县政务服务中心"},
        "hours": {"sessions": [["09:00", "12:00"], ["13:30", "17:00"]], "last_ticket_minutes": 30},
        "shifts": [{"name": "上午", "start": "09:00", "end": "12:00"},
                   {"name": "下午", "start": "13:30", "end": "17:00"}],
        "screen": {"notice": "请按叫号顺序到对应窗口办理业务；老年人、残疾人、孕妇请走绿色通道；"
                             "24小时自助区位于大厅东侧，可自助办理社保、公积金、不动产查询打印等业务。"},
        "categories": [{"id": cid, "name": name, "prefix": prefix, **quota}
                       for cid, name, prefix, _dept, _rate, _minutes, quota in COUNTY_CATEGORIES],
        "windows": [{"id": f"w{n}", "number": n, **({"name": name} if name else {}), "categories": cats,
                     "department": dept, "led_address": n, **extra}
                    for n, name, cats, dept, extra in COUNTY_WINDOWS],
        "staff": [{"id": staff_of[n], "name": COUNTY_STAFF[i], "department": dept}
                  for i, (n, _name, _cats, dept, _extra) in enumerate(COUNTY_WINDOWS)],
        "counter": {"badge_login_posts": ["*"]},  # a demo: nobody has a password (check-config refuses that elsewhere)
        "posts": [{"id": pid, "name": name, "a": staff_of[a], "b": staff_of[b], "categories": cats,
                   "front_desk": front} for pid, name, a, b, cats, front in COUNTY_POSTS],
        "matters": COUNTY_MATTERS,
        "devices": [
            {"id": "kiosk-1", "role": "kiosk"}, {"id": "kiosk-2", "role": "kiosk"},
            *({"id": f"counter-{n}", "role": "counter", "window": f"w{n}"} for n, *_ in COUNTY_WINDOWS),
            *({"id": f"tablet-{n}", "role": "tablet", "window": f"w{n}"} for n, *_ in COUNTY_WINDOWS),
            {"id": "led-bridge-1", "role": "led-bridge"},
            {"id": "screen-1", "role": "screen"}, {"id": "screen-2", "role": "screen"},
            {"id": "desk-1", "role": "counter", "window": "w1"},
        ],
    }


COUNTY_HALL = DemoHall(
    key="county", raw=_county_config(),
    arrivals_per_hour={cid: rate for cid, _n, _p, _d, rate, _m, _q in COUNTY_CATEGORIES},
    service_minutes={cid: minutes for cid, _n, _p, _d, _r, minutes, _q in COUNTY_CATEGORIES},
    # everyone at 09:00 but: 出入境's A (window 23) half an hour late, B at window 22 covers;
    # 民政 (window 24, its only window) opens four minutes late: 前台断档
    logins={**{f"w{n}": (f"s{n:03d}", 0) for n, *_ in COUNTY_WINDOWS}, "w23": ("s023", 30), "w24": ("s024", 4)},
    pauses=(Pause("w24", 100, 12, "away"),       # 民政 empty again at 10:40 for twelve minutes
            Pause("w9", 70, 15), Pause("w15", 130, 10, "meeting")),
    profile=county_day, wake_idle=True, lunch=(180, 270),
    case_matters={"social": "pension-transfer", "medical": "chronic-illness", "property": "property-transfer",
                  "fund": "fund-withdrawal", "business": "company-registration", "residence": "household-transfer",
                  "exit-entry": "passport", "civil": "subsistence-allowance", "employment": "employment-card"},
    case_share=0.3,
    seeded_cases=(   # 网上申报 of the past two weeks (2026-11-23 is a Monday): three overdue (red), three due
        SeededCase(13, "property-transfer"), SeededCase(12, "passport"),           # by tomorrow (yellow)
        SeededCase(7, "mortgage-registration"),
        SeededCase(5, "mortgage-registration"), SeededCase(4, "employment-card"), SeededCase(3, "fund-withdrawal"),
        SeededCase(11, "subsistence-allowance"), SeededCase(10, "subsistence-allowance"),
        SeededCase(5, "household-transfer"), SeededCase(4, "pension-transfer"), SeededCase(3, "chronic-illness"),
        SeededCase(3, "property-transfer"), SeededCase(3, "passport"),
    ),
    level_weights=((5, 170), (4, 22), (3, 5), (2, 2), (1, 1)),     # 差评 (1–2) 1.5 %
    default_minutes=480,
)

HALLS = {h.key: h for h in (COUNTY_HALL, SMALL_HALL)}


def arrival_rate(hall: DemoHall, category: str, hours: float) -> float:
    """Citizens per hour of `category`, `hours` after 09:00."""
    return hall.arrivals_per_hour[category] * (hall.profile or morning_peak)(hours)

