"""The manager dashboard in a real browser (Debian's Chromium, driven by Playwright): log in, see
a ticket appear live after a kiosk command, acknowledge an alert, open the reports and export
one to Excel, change a setting, and the 大屏 on a 1920×1080 wall screen. Screenshots are saved (HALL_SCREENSHOTS=dir
keeps them) and checked: the right size, not blank, Chinese drawn."""
from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from govhall.config import ManagerConfig
from hallserver.broker import free_port
from hallserver.passwords import hash_password
from tests.conftest import missing, running_hall

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} (Debian package chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path):
    keep = os.environ.get("HALL_SCREENSHOTS")
    out = Path(keep) if keep else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


def looks_drawn(png: bytes, size: tuple[int, int]) -> None:
    """The screenshot has the size asked for and is not one flat colour."""
    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == size
    colours = image.resize((200, 120)).getcolors(maxcolors=100000)
    assert colours is not None and len(colours) > 20


def test_a_manager_watches_the_hall_live_acknowledges_an_alert_and_exports_a_report(
        browser, shots, config, embedded_broker, sqlite_url):
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=hash_password("manager-pass-2026"))]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        from playwright.sync_api import expect
        base = server.dashboard_url
        kiosk, counter = device("kiosk-1"), device("counter-1")
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
        page.goto(base)
        assert page.url.endswith("/login")
        page.fill("input[name=manager]", "m001")
        page.fill("input[name=password]", "manager-pass-2026")
        page.click("button[type=submit]")
        page.wait_for_url(base)
        waiting = page.locator("[data-category=social] [data-waiting]")
        assert waiting.inner_text() == "0"

        kiosk.request({"type": "ticket.issue", "category": "social"})       # a citizen takes a number...
        expect(waiting).to_have_text("1", timeout=3000)                      # ...and the board shows it, no reload
        counter.request({"type": "window.call_next", "window": "w1"})
        page.locator("[data-window=w1] .ticket", has_text="A001").wait_for(timeout=3000)

        kiosk.request({"type": "device.report", "component": "printer", "condition": "paper_near_end"})
        alert = page.locator("li.alert", has_text="纸将用完")
        alert.wait_for(timeout=3000)
        alert.locator("button.ack").click()
        page.locator("li.alert.acked", has_text="纸将用完").wait_for(timeout=3000)
        assert "已确认 · m001" in page.locator("li.alert.acked", has_text="纸将用完").inner_text()
        assert any(a["action"] == "alert.ack" and a["actor"] == "m001" for a in server.store.audit_records())
        board = page.screenshot(path=str(shots / "dashboard-1366.png"))
        looks_drawn(board, (1366, 900))

        page.goto(base + "reports")
        assert page.locator("[data-total=issued]").inner_text() == "1"
        assert page.locator("[data-chart=by_hour] svg").count() == 1
        with page.expect_download() as download:
            page.click("a[data-export=xlsx]")
        path = shots / "report.xlsx"
        shutil.copy(download.value.path(), path)
        from openpyxl import load_workbook
        sheet = load_workbook(path)["按业务"]
        assert [c.value for c in sheet[1]][:3] == ["业务", "取号", "办结"]
        assert [c.value for c in sheet[2]][:2] == ["社保医保", 1]
        looks_drawn(page.screenshot(path=str(shots / "reports-1366.png"), full_page=False), (1366, 900))
        page.locator("#people [data-chart=attendance] svg").wait_for(timeout=5000)    # loaded after the figures
        assert page.locator("#people section[data-people=coverage] > table:not([data-people]) tbody tr").count() == 2
        assert page.locator("#people [data-people=category_coverage] tbody tr").count() == 2   # the posts' categories
        page.screenshot(path=str(shots / "reports-full.png"), full_page=True)

        folder = shots / "etc-govhall"                       # as `hall server --config hall.toml` runs
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        hall_toml = folder / "hall.toml"
        shutil.copy(Path(__file__).parent.parent / "examples" / "hall.toml", hall_toml)
        server.dashboard.config_path = str(hall_toml)
        page.goto(base + "settings")
        page.fill("section[data-section=rules] input[data-key=wait_target_minutes]", "15")
        page.click("section[data-section=rules] button.save")
        expect(page.locator("section[data-section=rules] .msg")).to_have_text("已保存 1 项修改，已生效")
        page.fill("section[data-section=rules] input[data-key=long_wait_minutes]", "0")
        page.click("section[data-section=rules] button.save")
        expect(page.locator("section[data-section=rules] .msg.err")).to_contain_text("超长等候告警：应大于 0")
        from govhall.config_file import load_config
        assert load_config(hall_toml).rules.wait_target_minutes == 15
        assert server.dashboard.config.rules.wait_target_minutes == 15           # the running hall has it
        # AB岗: a new front-desk post from the form, a schedule, and posts imported from Excel's CSV
        new_post = page.locator("section[data-section=posts] tr[data-new]")
        new_post.locator("input[data-key=id]").fill("front-residence")
        new_post.locator("input[data-key=name]").fill("户籍受理岗")
        new_post.locator("select[data-key=a]").select_option("s003")
        new_post.locator("select[data-key=b]").select_option("s002")
        new_post.locator("input[data-key=categories][value=residence]").check()
        new_post.locator("input[data-key=front_desk]").check()
        page.click("section[data-section=posts] button.save")
        expect(page.locator("section[data-section=posts] .bar .msg").first).to_have_text("已保存 1 项修改，已生效")
        page.locator("section[data-section=posts] tr[data-id=front-residence]").wait_for(timeout=5000)   # reloaded
        page.locator("section[data-section=staff] tr[data-id=s002] input[data-key=shifts][value=下午]").uncheck()
        page.click("section[data-section=staff] button.save")
        expect(page.locator("section[data-section=staff] .bar .msg").first).to_contain_text("已生效")
        csv = "id,name,a,b,categories,front_desk\r\nfront-residence,户籍受理岗,s003,s001,residence,是\r\n"
        page.set_input_files("[data-import=posts] input[type=file]",
                             files=[{"name": "岗位.csv", "mimeType": "text/csv", "buffer": csv.encode("gb18030")}])
        page.click("[data-import=posts] button.load")
        expect(page.locator("[data-import=posts] .msg")).to_have_text("已保存 1 项修改，已生效")
        saved = load_config(hall_toml)
        assert next(p for p in saved.posts if p.id == "front-residence").b == "s001"
        assert next(x for x in saved.staff if x.id == "s002").shifts == ["上午"]
        assert "front-residence" in [p.id for p in server.bus.query(lambda p: p.attendance.posts)]
        # a new tablet for window 2, and its password generated (shown once)
        new_device = page.locator("section[data-section=devices] tr[data-new]")
        new_device.locator("input[data-key=id]").fill("tablet-9")
        new_device.locator("select[data-key=role]").select_option("tablet")
        new_device.locator("select[data-key=window]").select_option("w2")
        page.click("section[data-section=devices] button.save")
        row = page.locator("section[data-section=devices] tr[data-id=tablet-9]")
        row.wait_for(timeout=5000)                                           # the page reloads with it
        assert "未设置" in row.inner_text()
        page.once("dialog", lambda dialog: dialog.accept())
        row.locator("button.password").click()
        secret = row.locator("code.secret")
        secret.wait_for(timeout=5000)
        assert load_config(hall_toml).device("tablet-9").password == secret.inner_text()
        # the department's matter catalogue uploaded as a spreadsheet: new cases can use it at once
        catalogue = ("id,name,department,kind,legal_days,promised_days,materials\r\n"
                     "birth-cert,出生医学证明补发,卫健委,承诺件,20,10,申请表|身份证\r\n")
        page.set_input_files("[data-import=catalogue] input[type=file]", files=[
            {"name": "事项目录.csv", "mimeType": "text/csv", "buffer": catalogue.encode("gb18030")}])
        page.click("[data-import=catalogue] button.load")
        page.locator("section[data-section=matters] tr", has_text="来自事项目录表格").first.wait_for(timeout=5000)
        assert "birth-cert" in server.bus.query(lambda p: p.cases.matters)
        # the State Council's notice for next year, entered by hand: deadlines count with it at once
        page.reload()
        next_year = server.clock.now().year + 1
        assert page.locator("[data-next-year-missing]").count() == (1 if next_year > 2026 else 0)
        new_year = page.locator("section[data-section=calendar] tr[data-new-year]")
        new_year.locator("input[data-key=year]").fill(str(next_year))
        new_year.locator("input[data-key=source]").fill(f"国务院办公厅关于{next_year}年部分节假日安排的通知")
        new_year.locator("textarea[data-key=days_off]").fill(f"{next_year}-01-01\n{next_year}-10-01..{next_year}-10-07")
        page.click("section[data-section=calendar] button.save-calendar")
        page.locator(f"section[data-section=calendar] tr[data-year='{next_year}']").wait_for(timeout=5000)
        assert page.locator("[data-next-year-missing]").count() == 0
        assert page.locator(f"tr[data-year='{next_year}'] textarea[data-key=days_off]").input_value() == \
            f"{next_year}-01-01\n{next_year}-10-01..{next_year}-10-07"
        from datetime import date
        calendar = server.bus.query(lambda p: p.cases.calendar)
        assert not calendar.is_working_day(date(next_year, 10, 5)) and next_year in calendar.years
        page.reload()
        looks_drawn(page.screenshot(path=str(shots / "settings-1366.png")), (1366, 900))
        page.screenshot(path=str(shots / "settings-full.png"), full_page=True)

        wall = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        wall.context.add_cookies(page.context.cookies())
        wall.goto(base + "wall")
        assert wall.locator(".card[data-window=w1] .t").inner_text() == "A001"
        assert wall.evaluate("document.documentElement.scrollHeight") <= 1080      # fits the wall screen
        looks_drawn(wall.screenshot(path=str(shots / "wall-1920.png")), (1920, 1080))
        page.close()
        wall.close()
