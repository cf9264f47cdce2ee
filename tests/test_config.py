import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from govhall.config import ConfigError
from govhall.config_file import load_config

EXAMPLE = Path(__file__).parent.parent / "examples" / "hall.toml"


def test_the_example_config_loads_and_resolves_sqlite_next_to_the_file():
    config = load_config(EXAMPLE)
    assert config.hall.id == "demo" and len(config.windows) == 3
    assert config.window("w1").name == "1号窗口"
    assert config.database.url == f"sqlite:///{EXAMPLE.parent.resolve() / 'hall.db'}"


def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "hall.toml"
    p.write_text(text, encoding="utf-8")
    return p


BASE = """
[hall]
id = "h1"
name = "测试大厅"
[[categories]]
id = "a"
name = "社保"
prefix = "A"
[[windows]]
id = "w1"
number = 1
categories = ["a"]
"""


LEAD = '[[managers]]\nid = "l1"\nname = "刘科长"\npassword_hash = "$argon2id$x"\nrole = "lead"\n'


@pytest.mark.parametrize("extra, where, why", [
    ('[[windows]]\nid = "w2"\nnumber = 2\ncategories = ["z"]\n', "windows[1].categories", "unknown category 'z'"),
    ('[[windows]]\nid = "w2"\nnumber = 1\ncategories = ["a"]\n', "windows[1].number", "1 appears twice"),
    ('[[devices]]\nid = "c1"\nrole = "counter"\n', "devices[0].window", "a counter needs a window"),
    ('[[devices]]\nid = "t1"\nrole = "tablet"\nwindow = "w7"\n', "devices[0].window", "unknown window 'w7'"),
    ('[[devices]]\nid = "c1"\nrole = "toaster"\n', "devices[0].role", "Input should be"),
    ('[[categories]]\nid = "b"\nname = "x"\nprefix = "a1"\n', "categories[1].prefix", "String should match"),
    ('[rules]\nmax_recalls = -1\n', "rules.max_recalls", "greater than or equal to 0"),
    ('[broker]\nurl = "http://x"\n', "broker.url", "mqtt://"),
    ('[rules]\nmax_recals = 3\n', "rules.max_recals", "Extra inputs are not permitted"),
    (LEAD, "managers[0].departments", "a lead (部门负责人) needs the department(s) they answer for"),
    (LEAD + 'departments = ["人社局"]\n', "managers[0].departments",
     "unknown department '人社局' (no window, staff member or matter has it)"),
    (LEAD.replace('"lead"', '"manager"') + 'departments = ["人社局"]\n', "managers[0].departments",
     "only a lead has departments; a manager sees them all"),
    ('[hours]\nclosed_days = ["2026-11-31"]\n', "hours.closed_days", "'2026-11-31' is not a date (YYYY-MM-DD)"),
    ('[hours]\nopen_days = [20261003]\n', "hours.open_days", "20261003 is not a date (YYYY-MM-DD)"),
    ('[hours]\nopen_days = [2026-10-03T09:00:00]\n', "hours.open_days", "is not a date (YYYY-MM-DD)"),
    ('[hours]\nclosed_days = [1999-12-31]\n', "hours.closed_days", "1999-12-31 is not a day of the years 2000–2100"),
    ('[hours]\nopen_days = [2026-10-03]\nclosed_days = ["2026-10-03"]\n', "hours",
     "2026-10-03 is in both open_days and closed_days"),
])
def test_a_bad_config_is_refused_with_file_key_and_reason(tmp_path, extra, where, why):
    path = _write(tmp_path, BASE + extra)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {where}")
    assert why in message


def test_the_halls_own_open_and_closed_days_are_dates_toml_or_text(tmp_path):
    config = load_config(_write(tmp_path, BASE + '[hours]\nweekdays = [1, 2, 3, 4, 5, 6]\n'
                                                 'open_days = [2026-10-03]\nclosed_days = ["2026-11-20"]\n'))
    assert config.hours.open_days == [date(2026, 10, 3)] and config.hours.closed_days == [date(2026, 11, 20)]
    assert config.hours.weekdays == [1, 2, 3, 4, 5, 6]


def test_a_lead_answers_for_departments_of_the_halls_windows_staff_or_matters(tmp_path):
    staff = '[[staff]]\nid = "s1"\nname = "王丽"\ndepartment = "医保局"\npassword_hash = "$argon2id$v=19$x"\n'
    window = BASE.replace('categories = ["a"]\n', 'categories = ["a"]\ndepartment = "人社局"\n')
    config = load_config(_write(tmp_path, window + staff + LEAD + 'departments = ["人社局", "医保局"]\n'))
    assert config.managers[0].departments == ["人社局", "医保局"]


def test_broken_toml_and_missing_files_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[hall\nid="))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="hall.timezone: unknown time zone"):
        load_config(_write(tmp_path, BASE.replace('name = "测试大厅"', 'name = "x"\ntimezone = "Mars/Base"')))


def test_check_config_command_exits_2_with_the_reason(tmp_path):
    path = _write(tmp_path, BASE + '[[windows]]\nid = "w2"\nnumber = 2\ncategories = ["z"]\n')
    run = subprocess.run([sys.executable, "-m", "hall.cli", "check-config", str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "unknown category 'z'" in run.stderr
    ok = subprocess.run([sys.executable, "-m", "hall.cli", "check-config", str(EXAMPLE)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "3 windows" in ok.stdout


def test_the_catalogue_comes_from_hall_toml_and_a_csv_beside_it(tmp_path):
    from govhall.config import ConfigError
    from govhall.config_file import load_config
    example = (Path(__file__).parent.parent / "examples" / "hall.toml").read_text(encoding="utf-8")
    with_catalogue = example.replace("[cases]\n", '[cases]\ncatalogue = "matters.csv"\n', 1)
    assert with_catalogue != example
    (tmp_path / "hall.toml").write_text(with_catalogue, encoding="utf-8")
    (tmp_path / "matters.csv").write_text(
        "id,name,department,kind,legal_days,promised_days,materials\n"
        "food,食品经营许可,市场监管局,承诺件,20,5,申请书｜营业执照\n", encoding="utf-8")
    config = load_config(tmp_path / "hall.toml")
    food = next(m for m in config.matters if m.id == "food")
    assert food.materials == ["申请书", "营业执照"] and len(config.matters) == 3
    (tmp_path / "matters.csv").write_text(
        "id,name,department,kind,legal_days,promised_days,materials\n"
        "food,食品经营许可,市场监管局,承诺件,5,9,申请书\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"matters.csv: row 2: promised 9 working days is longer than the legal 5"):
        load_config(tmp_path / "hall.toml")
    (tmp_path / "matters.csv").write_text("id,name\nx,y\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="the header needs the columns"):
        load_config(tmp_path / "hall.toml")


def test_every_document_the_readme_links_to_exists():
    import re
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(((?:docs|examples|deploy)/[^)#\s]*)", readme):
        assert (root / target).exists(), f"README links to {target}, which does not exist"
