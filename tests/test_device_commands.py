"""Devices build their commands from the contract's types (`contract.command`): a wrong field
or value is refused on the device, before anything is sent, and no device writes a command
as a hand-made dict the contract never checked."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from govhall import contract as c

ROOT = Path(__file__).resolve().parent.parent
DEVICE_CODE = [*(ROOT / "kiosk").rglob("*.py"), *(ROOT / "counter").rglob("*.py"), *(ROOT / "hardware").rglob("*.py"),
               ROOT / "govhall" / "link.py"]


def test_a_command_is_built_by_its_contract_type():
    assert c.command("ticket.issue", category="social") == {"type": "ticket.issue", "category": "social"}
    assert c.command("window.pause", window="w1", reason="meal") == {"type": "window.pause", "window": "w1",
                                                                      "reason": "meal"}
    assert "id" not in c.command("window.call_next", window="w1")          # the link gives the id


@pytest.mark.parametrize("kind, fields, why", [
    ("ticket.issue", {"category": "social", "colour": "red"}, "colour"),         # no such field
    ("window.pause", {"window": "w1", "reason": "nap"}, "reason"),               # not a pause reason
    ("rating.submit", {"window": "w1", "level": "5"}, "level"),                  # a string, not a number
    ("window.transfer", {"reason": "x"}, "window"),                              # the window is missing
    ("ticket.fly", {}, "unknown command type"),
])
def test_a_wrong_command_is_refused_on_the_device_with_what_is_wrong(kind, fields, why):
    with pytest.raises(c.ContractError) as refused:
        c.command(kind, **fields)
    assert why in refused.value.detail


def test_no_device_writes_a_command_as_a_hand_made_dict():
    hand_made = []
    for path in DEVICE_CODE:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Dict):
                continue
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "type" and isinstance(value, ast.Constant) \
                        and value.value in c.COMMAND_NAMES:
                    hand_made.append(f"{path.relative_to(ROOT)}:{node.lineno}: {value.value}")
    assert hand_made == [], "build these with contract.command:\n" + "\n".join(hand_made)
