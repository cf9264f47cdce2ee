"""A staff member without a password_hash would log in with the staff number alone — a number
printed on every badge and rating tablet. check-config (and so the server and the dashboard)
refuses that unless the hall allows badge-only login for the person's post."""
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from hallserver.settings_file import SettingsError, save_settings
from hallserver.web.settings_words import settings_reason

EXAMPLE = Path(__file__).parent.parent / "examples" / "hall.toml"
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def check(path):
    return subprocess.run([sys.executable, "-m", "hall.cli", "check-config", str(path)], capture_output=True, text=True)


def test_staff_without_a_password_are_refused_unless_their_post_may_use_a_badge(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace('badge_login_posts = ["*"]\n', "")
    strict = tmp_path / "hall.toml"
    strict.write_text(text, encoding="utf-8")
    run = check(strict)
    assert run.returncode == 2
    for person in ("s001", "s002", "s003"):
        assert f"{person} has no password" in run.stderr
    hashed = text.replace('name = "王丽"\n', f'name = "王丽"\npassword_hash = "{HASH}"\n') \
                 .replace('name = "李强"\n', f'name = "李强"\npassword_hash = "{HASH}"\n') \
                 .replace('name = "张敏"\n', 'name = "张敏"\npost = "导办员"\n')
    strict.write_text(hashed, encoding="utf-8")
    run = check(strict)
    assert run.returncode == 2 and "s003 has no password" in run.stderr and "s001" not in run.stderr
    strict.write_text(hashed.replace("[counter]\n", '[counter]\nbadge_login_posts = ["导办员"]\n'), encoding="utf-8")
    assert check(strict).returncode == 0                                # 导办员 may use a badge; the others have hashes


def test_the_dashboard_cannot_add_a_person_who_would_need_no_password(tmp_path):
    hall_toml = tmp_path / "hall.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace('badge_login_posts = ["*"]', 'badge_login_posts = ["导办员"]')
    for name in ("王丽", "李强", "张敏"):
        text = text.replace(f'name = "{name}"\n', f'name = "{name}"\npassword_hash = "{HASH}"\n', 1)
    hall_toml.write_text(text, encoding="utf-8")
    assert check(hall_toml).returncode == 0
    before = hall_toml.read_bytes()
    with pytest.raises(SettingsError) as refused:
        save_settings(hall_toml, "staff", [{"id": "s009", "name": "赵新", "post": "受理员"}], datetime(2026, 11, 23))
    assert settings_reason(str(refused.value)).endswith(
        "s009 没有登录密码：请先用 hall staff-password 设置密码，或在 [counter] badge_login_posts 中允许其岗位刷卡登录")
    assert hall_toml.read_bytes() == before
    save_settings(hall_toml, "staff", [{"id": "s010", "name": "钱导", "post": "导办员"}], datetime(2026, 11, 23))
    assert "s010" in hall_toml.read_text(encoding="utf-8")
    shutil.rmtree(tmp_path / "unused", ignore_errors=True)
