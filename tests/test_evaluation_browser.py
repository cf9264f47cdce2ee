"""万众评股室 in Chromium: a manager opens a campaign on /evaluation, is told in words that a score is above its
item's points, enters the sheet, adjusts, sees the ranking; a hostile opinion stays text; the page at 1920×1080
and 1366×768 (HALL_SCREENSHOTS=DIR keeps them); a rater fills the QR form on a phone."""
from __future__ import annotations

from govhall.config import ManagerConfig
from hallserver.broker import free_port
from hallserver.passwords import hash_password
from tests.conftest import running_hall
from tests.test_dashboard_browser import browser, looks_drawn, shots  # noqa: F401 - the fixtures

HOSTILE = "<img src=x onerror=\"document.title='pwned'\">午间无人值守"


def test_a_manager_runs_a_campaign_in_the_browser_and_a_rater_uses_the_qr_form(browser, shots, config,  # noqa: F811
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
        page.goto(base + "evaluation")
        opener = page.locator("#open")
        opener.locator("input[name=name]").fill("2026 年第四季度")
        opener.locator("input[name=starts]").fill("2026-10-01")
        opener.locator("input[name=ends]").fill("2026-12-31")
        opener.locator("input[name=units]").fill("社保股、税务股")
        opener.locator("button").click()
        expect(page.locator("#result tbody tr")).to_have_count(2, timeout=5000)
        sheet = page.locator("#sheet")
        sheet.locator("select[name=unit]").select_option("社保股")
        sheet.locator("input[data-key='1']").fill("5")
        sheet.locator("input[name=opinion]").fill(HOSTILE)
        sheet.locator("button").click()
        expect(sheet.locator(".msg.bad")).to_contain_text("0–4.5", timeout=5000)
        sheet.locator("input[data-key='1']").fill("4")
        sheet.locator("button").click()
        expect(page.locator("#result tbody tr", has_text="社保股")).to_contain_text("89.50", timeout=5000)
        adjust = page.locator("#adjust")
        adjust.locator("select[name=unit]").select_option("社保股")
        adjust.locator("input[name=points]").fill("10.5")
        adjust.locator("input[name=reason]").fill("表扬信")
        adjust.locator("button").click()
        expect(adjust.locator(".msg.bad")).to_contain_text("±10", timeout=5000)
        adjust.locator("input[name=points]").fill("-2.5")
        adjust.locator("button").click()
        expect(page.locator("#result tbody tr", has_text="社保股")).to_contain_text("87.00", timeout=5000)
        assert page.locator("#opinions td.text").first.inner_text().startswith("<img src=x")      # as text
        assert page.locator("#opinions img").count() == 0 and page.title() != "pwned"
        assert "15.79%" in page.locator("#weights").inner_text()
        for size in ((1920, 1080), (1366, 768)):
            page.set_viewport_size({"width": size[0], "height": size[1]})
            looks_drawn(page.screenshot(path=str(shots / f"evaluation-{size[0]}x{size[1]}.png")), size)
        link = page.locator("#tokens code").last.inner_text()
        assert "/e/" in link

        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        phone.goto(link)
        phone.locator("select[name=unit]").select_option("税务股")
        phone.locator("input[data-key='9']").fill("8.5")
        phone.locator("button").click()
        expect(phone.locator(".msg.ok")).to_contain_text("89.50", timeout=5000)
        looks_drawn(phone.screenshot(path=str(shots / "evaluation-form-390x844.png")), (390, 844))
        campaigns, sheets, adjustments = server.store.evaluation_items()
        assert [s.source for s in sheets] == ["paper", "qr"] and [a.points for a in adjustments] == [-2.5]
        page.close()
        phone.close()
