import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govhall import contract as c


def test_topics_live_under_the_versioned_hall_root():
    t = c.Topics("hall-7")
    assert t.command("kiosk-1") == "govhall/v1/hall-7/device/kiosk-1/cmd"
    assert t.reply("kiosk-1") == "govhall/v1/hall-7/device/kiosk-1/reply"
    assert t.window_state("w3") == "govhall/v1/hall-7/state/window/w3"
    assert t.event("ticket.called") == "govhall/v1/hall-7/event/ticket.called"
    assert t.device_from_command_topic("govhall/v1/hall-7/device/kiosk-1/cmd") == "kiosk-1"
    assert t.device_from_command_topic("govhall/v1/other/device/kiosk-1/cmd") is None
    assert t.device_from_command_topic("govhall/v1/hall-7/device/a/b/cmd") is None


def test_a_hall_id_that_would_break_topics_is_refused():
    for bad in ("a/b", "+", "#", "", "有"):
        with pytest.raises(ValueError):
            c.Topics(bad)


def test_a_valid_command_parses():
    cmd = c.parse_command(b'{"type": "ticket.issue", "id": "k1-0001", "category": "social"}')
    assert isinstance(cmd, c.IssueTicket) and cmd.category == "social"


@pytest.mark.parametrize("payload, code", [
    (b"not json", c.ErrorCode.BAD_JSON),
    (b"\xff\xfe", c.ErrorCode.BAD_JSON),
    (b"[1, 2]", c.ErrorCode.BAD_JSON),
    (b'{"type": "ticket.explode", "id": "x"}', c.ErrorCode.UNKNOWN_TYPE),
    (b'{"id": "x"}', c.ErrorCode.UNKNOWN_TYPE),
    (b'{"type": "ticket.issue", "id": "x"}', c.ErrorCode.INVALID),
    (b'{"type": "ticket.issue", "category": "social"}', c.ErrorCode.INVALID),
    (b'{"type": "ticket.issue", "id": "x", "category": "social", "extra": 1}', c.ErrorCode.INVALID),
    (b'{"type": "rating.submit", "id": "x", "window": "w1", "level": 6}', c.ErrorCode.INVALID),
    (b'{"type": "rating.submit", "id": "x", "window": "w1", "level": "5"}', c.ErrorCode.INVALID),
    (b'{"type": "window.pause", "id": "x", "window": "w1", "reason": "nap"}', c.ErrorCode.INVALID),
    (b"{" + b" " * c.MAX_PAYLOAD_BYTES + b"}", c.ErrorCode.TOO_LARGE),
])
def test_bad_commands_get_a_stable_error_code_and_a_chinese_message(payload, code):
    with pytest.raises(c.ContractError) as info:
        c.parse_command(payload)
    reply = info.value.reply()
    assert reply.ok is False and reply.error.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reply.error.message)


def test_the_command_id_is_echoed_when_readable_even_if_the_rest_is_wrong():
    with pytest.raises(c.ContractError) as info:
        c.parse_command(b'{"type": "ticket.issue", "id": "abc-1", "category": 7}')
    assert info.value.reply().id == "abc-1"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"type": st.sampled_from(sorted(c.COMMAND_NAMES)), "id": st.text(max_size=70)},
                          optional={"window": json_values, "category": json_values, "level": json_values,
                                    "staff": json_values, "reason": json_values, "reasons": json_values}
                          ).map(lambda d: json.dumps(d).encode()),
))
def test_no_input_breaks_the_parser(payload):
    try:
        cmd = c.parse_command(payload)
    except c.ContractError as exc:
        assert exc.reply().error.code in set(c.ErrorCode)
    else:
        assert cmd.type in c.COMMAND_NAMES


def test_every_message_has_a_json_schema_with_its_type():
    schemas = c.json_schemas()
    for name in (*c.COMMAND_NAMES, "reply", "window.state", "queue.state", "server.state",
                 "ticket.called", "ticket.issued", "service.completed", "rating.recorded"):
        assert name in schemas
        assert schemas[name]["properties"]["type"]["const" if "const" in schemas[name]["properties"]["type"]
                                                   else "default"] == name


def test_every_role_has_a_command_list_and_only_known_commands():
    assert set(c.ROLE_COMMANDS) == set(c.Role)
    for allowed in c.ROLE_COMMANDS.values():
        assert allowed <= c.COMMAND_NAMES
