"""The kiosk's home screen as data: two levels, pages, the words on each button, both languages."""
from hypothesis import given
from hypothesis import strategies as st

from hardware.voice import speakable_number
from kiosk.texts import EN, ZH, refusal_text
from kiosk.tiles import KioskCategory, category_tile, grid_shape, group_tiles, home_tiles, paginate

CATS = [
    KioskCategory("social", "社保医保", "A", "Social insurance"),
    KioskCategory("transfer", "转移登记", "D", "Transfer", group="不动产登记", group_en="Real estate"),
    KioskCategory("business", "企业开办", "B"),
    KioskCategory("mortgage", "抵押登记", "E", group="不动产登记", group_en="Real estate"),
    KioskCategory("lonely", "公积金", "G", group="公积金中心"),      # a group of one is just a category
]


def test_a_department_with_several_matters_is_one_tile_in_config_order():
    tiles = home_tiles(CATS, {})
    assert [t.key for t in tiles] == ["social", "group:不动产登记", "business", "lonely"]
    assert [t.key for t in group_tiles(CATS, "不动产登记", {})] == ["transfer", "mortgage"]


def test_buttons_say_who_waits_how_long_and_why_one_is_closed():
    queue = {"social": {"waiting": 3, "estimated_wait_s": 1440, "issuing": True},
             "transfer": {"waiting": 2, "issuing": True},
             "mortgage": {"waiting": 0, "issuing": False, "not_issuing_because": "quota_full",
                          "next_open": "2026-11-23T13:30:00+08:00"},
             "business": {"waiting": 0, "estimated_wait_s": 0, "issuing": True}}
    tiles = {t.key: t for t in home_tiles(CATS, queue)}
    assert tiles["social"].label == "社保医保\n等候 3 人 · 约 24 分钟"
    assert tiles["business"].label == "企业开办\n等候 0 人"
    assert tiles["group:不动产登记"].label == "不动产登记\n2 项业务 · 等候 2 人"
    assert tiles["group:不动产登记"].enabled                    # one matter inside still issues
    mortgage = category_tile(CATS[3], queue["mortgage"])
    assert mortgage.label == "抵押登记\n号源已满 · 13:30 起" and not mortgage.enabled
    english = {t.key: t for t in home_tiles(CATS, queue, EN)}
    assert english["social"].label == "Social insurance\n3 waiting · about 24 min"
    assert english["business"].title == "企业开办"                 # no English name: the Chinese one
    assert english["group:不动产登记"].title == "Real estate"
    assert category_tile(CATS[3], queue["mortgage"], EN).detail == "Fully booked · from 13:30"


def test_a_group_whose_matters_are_all_closed_is_greyed_and_offline_greys_everything():
    closed = {"issuing": False, "not_issuing_because": "closed"}
    tiles = {t.key: t for t in home_tiles(CATS, {"transfer": closed, "mortgage": closed})}
    assert not tiles["group:不动产登记"].enabled and tiles["social"].enabled
    assert not any(t.enabled for t in home_tiles(CATS, {}, online=False))


def test_large_type_shows_fewer_choices_a_page():
    assert grid_shape(portrait=True, large=True) == (1, 4) and grid_shape(portrait=False, large=True) == (2, 2)
    assert grid_shape(True, False)[0] * grid_shape(True, False)[1] > 4


@given(st.integers(0, 40), st.integers(-3, 12), st.integers(1, 10))
def test_pages_show_every_tile_exactly_once_and_never_an_empty_page(n, page, per_page):
    tiles = [category_tile(KioskCategory(f"c{i}", f"业务{i}", "A"), None) for i in range(n)]
    _, shown_page, pages = paginate(tiles, page, per_page)
    assert 0 <= shown_page < pages
    seen = [t.key for p in range(pages) for t in paginate(tiles, p, per_page)[0]]
    assert seen == [t.key for t in tiles]
    assert all(paginate(tiles, p, per_page)[0] for p in range(pages)) or n == 0


def test_refusals_in_both_languages_with_the_time_to_come_back():
    from datetime import datetime
    error = {"code": "quota_full", "message": "本业务号源已满", "next_open": "2026-11-24T09:00:00+08:00"}
    now = datetime.fromisoformat("2026-11-23T15:00:00+08:00")
    assert refusal_text(error, ZH, now) == "本业务号源已满，下次取号时间：11月24日 09:00"
    assert refusal_text(error, EN, now) == "All tickets for this service are taken. Next tickets: 24 Nov 09:00"
    assert refusal_text({}, ZH) == "取号失败，请重试"


def test_ticket_numbers_are_read_digit_by_digit():
    assert speakable_number("A012") == "A零一二" and speakable_number("AB1000") == "AB一零零零"
