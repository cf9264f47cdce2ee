"""投诉 in Chromium: a manager registers a complaint on /complaints, records the result, is told
in words why it cannot close yet, records the answer and closes it; the text stays text; the
page at 1920×1080 and 1366×768 (HALL_SCREENSHOTS=DIR keeps them); the citizen's phone form."""
from __future__ import annotations

from govhall.config import ManagerConfig
from hallserver.broker import free_port
from hallserver.passwords import hash_password
from tests.conftest import running_hall
from tests.test_dashboard_browser import browser, looks_drawn, shots  # noqa: F401 - the fixtures

HOSTILE = "<img src=x onerror=\"document.title='pwned'\">卫生间没有纸巾"


def row(page, text):
    return page.locator("#complaints tbody tr", has_text=text)


def step(page, text, action, **fields):
    """Open the row's 办理, fill the form of `action`, submit; wait for the page to come back."""
    r = row(page, text)
    if not r.locator("details.act").evaluate("e => e.open"):
        r.locator("details.act summary").click()
    form = r.locator(f"form[data-action={action}]")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button").click()
    return form


def test_a_manager_works_a_complaint_in_the_browser_and_a_citizen_files_one(browser, shots, config,  # noqa: F811
                                                                             embedded_broker, sqlite_url):
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=hash_password("manager-pass-2026"))]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _device):
        from playwright.sync_api import expect
        base = server.dashboard_url
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        page.goto(base + "login")
        page.fill("input[name=manager]", "m001")
        page.fill("input[name=password]", "manager-pass-2026")
        page.click("button[type=submit]")
        page.wait_for_url(base)
        page.click("a[href='/complaints']")
        page.wait_for_url(base + "complaints")
        register = page.locator("#register")
        register.locator("select[name=channel]").select_option("box")
        register.locator("textarea[name=text]").fill(HOSTILE)
        register.locator("input[name=phone]").fill("13800138000")
        register.locator("select[name=department]").select_option("人社局")
        register.locator("button").click()
        expect(row(page, "卫生间没有纸巾")).to_have_count(1, timeout=5000)
        assert row(page, "卫生间没有纸巾").locator("td.text").inner_text().startswith("<img src=x")    # as text
        assert page.locator("#complaints img").count() == 0 and page.title() != "pwned"
        step(page, "卫生间没有纸巾", "handle", note="已补充纸巾并安排每日巡查")
        expect(row(page, "卫生间没有纸巾").locator(".tag")).to_have_text("已办理", timeout=5000)
        refused = step(page, "卫生间没有纸巾", "close")
        expect(refused.locator(".msg")).to_contain_text("请先记录答复", timeout=5000)
        step(page, "卫生间没有纸巾", "reply", method="短信", note="短信告知已补充")
        expect(row(page, "卫生间没有纸巾").locator(".tag")).to_have_text("已答复", timeout=5000)
        step(page, "卫生间没有纸巾", "close")
        expect(row(page, "卫生间没有纸巾").locator(".tag")).to_have_text("办结", timeout=5000)
        (x,) = server.store.complaint_items()
        assert x.text == HOSTILE and [s.kind for s in x.steps] == ["分派", "办理", "答复", "办结"]
        assert x.last("答复").method == "短信"
        for size in ((1920, 1080), (1366, 768)):
            page.set_viewport_size({"width": size[0], "height": size[1]})
            png = page.screenshot(path=str(shots / f"complaints-{size[0]}x{size[1]}.png"))
            looks_drawn(png, size)

        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        phone.goto(base + "complain?window=w1")
        phone.fill("textarea[name=text]", "等候区空调太冷")
        phone.fill("input[name=phone]", "1390013900")
        phone.click("button[type=submit]")
        expect(phone.locator("#result.bad")).to_contain_text("手机号码", timeout=5000)
        phone.fill("input[name=phone]", "13900139000")
        phone.click("button[type=submit]")
        expect(phone.locator("#result.ok")).to_contain_text("投诉编号 TS-", timeout=5000)
        looks_drawn(phone.screenshot(path=str(shots / "complain-390x844.png")), (390, 844))
        assert [c.channel for c in server.store.complaint_items()] == ["box", "phone"]
        page.close()
        phone.close()
