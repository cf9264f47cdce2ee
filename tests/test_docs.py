"""The documents device makers and operators read stay true to the code."""
import json
import re
from pathlib import Path

from govhall import contract as c

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_published_json_schemas_are_current():
    published = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (DOCS / "schemas").glob("*.json")}
    assert published == c.json_schemas(), "run: hall contract --schemas docs/schemas"


def test_contract_md_documents_every_command_event_and_error():
    text = (DOCS / "contract.md").read_text(encoding="utf-8")
    for name in sorted(c.COMMAND_NAMES):
        assert f"`{name}`" in text, f"command {name} is not documented"
    for model in c.EVENT_TYPES:
        name = model.model_fields["type"].default
        assert f"`{name}`" in text, f"event {name} is not documented"
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| [^|]+ \| (\S+) \|$", text, re.M))
    for code in c.ErrorCode:
        assert rows.get(code.value) == c.ERROR_MESSAGES[code], f"error {code.value} is missing or its message differs"


def test_the_led_frame_example_in_hardware_md_is_byte_exact():
    from hardware.led import ShowText, show_frame
    example = show_frame(3, ShowText(("请 A001 号",))).encode().hex(" ").upper()
    assert example in (DOCS / "hardware.md").read_text(encoding="utf-8")
