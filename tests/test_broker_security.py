"""The broker gives each device only its role's topics: proved with real clients against a
Mosquitto started from the generated config (passwords from mosquitto_passwd, the ACL)."""
import json
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from govhall.contract import Topics
from hallserver.broker import MosquittoProcess, free_port
from hallserver.broker_security import acl_text, write_broker_config
from tests.conftest import running_hall


class Passwords(dict):
    def __missing__(self, device):
        return f"{device}-secret-password"


PASSWORDS = Passwords()


@pytest.fixture
def secured(config, tmp_path, mosquitto):
    config.broker.username, config.broker.password = "hall-server", "the-server-password-1"
    for d in config.devices:
        d.password = PASSWORDS[d.id]
    port = free_port()
    import os
    # as root, Mosquitto would drop to its own user, who may not enter pytest's private tmp folder
    conf = write_broker_config(config, tmp_path / "broker", port=port, bind="127.0.0.1",
                               run_as="root" if os.geteuid() == 0 else None)
    broker = MosquittoProcess(port=port, workdir=str(tmp_path), conf_file=str(conf)).start()
    yield config, broker
    broker.stop()


def connect(port, user=None, password=None, client_id=None):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{user}-{time.time_ns()}")
    if user:
        client.username_pw_set(user, password)
    result = {}
    got = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: (result.setdefault("rc", rc), got.set())
    client.connect("127.0.0.1", port)
    client.loop_start()
    got.wait(5)
    return client, result.get("rc")


def until_broker_says(port, user, password, refused: bool, timeout: float = 5.0):
    """Mosquitto rereads its password file on SIGHUP in its own time: try until it answers as expected."""
    deadline = time.monotonic() + timeout
    while True:
        client, rc = connect(port, user, password)
        client.disconnect()
        client.loop_stop()
        if (rc is not None and rc.is_failure == refused) or time.monotonic() > deadline:
            return rc
        time.sleep(0.1)


def test_nobody_gets_in_without_a_password(secured):
    _, broker = secured
    client, rc = connect(broker.port)
    assert rc is not None and rc.is_failure
    client.loop_stop()
    client, rc = connect(broker.port, "kiosk-1", "wrong-password-xx")
    assert rc.is_failure
    client.loop_stop()


def test_the_legitimate_flow_works_and_each_forbidden_step_is_refused(secured, sqlite_url):
    config, broker = secured
    topics = Topics(config.hall.id)
    with running_hall(config, broker.url, sqlite_url) as (server, _):
        from govhall.link import DeviceLink

        def device(d):
            return DeviceLink(config.hall.id, d, broker.url, username=d, password=PASSWORDS[d]).connect()
        kiosk, counter1 = device("kiosk-1"), device("counter-1")
        assert kiosk.request({"type": "ticket.issue", "category": "social"})["ok"]
        kiosk.close()            # its account is used below by a sneaky second client (the same client id)
        assert counter1.request({"type": "window.login", "window": "w1", "staff": "s001"})["ok"]
        # a kiosk publishing on a counter's command topic: the broker drops it
        sneaky, rc = connect(broker.port, "kiosk-1", PASSWORDS["kiosk-1"], client_id="kiosk-1-sneaky")
        sneaky.publish(topics.command("counter-1"), json.dumps({"id": "x1", "type": "window.call_next",
                                                                "window": "w1"}), qos=1).wait_for_publish(5)
        # a counter of window 1 commanding window 2 on its own topic: the server refuses it
        other = counter1.request({"type": "window.login", "window": "w2", "staff": "s002"})
        assert other["error"]["code"] == "forbidden"
        time.sleep(0.5)
        assert server.processor.engine.windows["w1"].ticket is None          # nothing was called
        # a kiosk cannot even read the counters' events or other devices' replies
        seen = []
        sneaky.on_message = lambda c, u, m: seen.append(m.topic)
        sneaky.subscribe(topics.all_events, qos=1)
        sneaky.subscribe(topics.reply("counter-1"), qos=1)
        counter1.request({"type": "window.call_next", "window": "w1"})
        time.sleep(0.5)
        assert seen == []
        sneaky.loop_stop()
        # and the mosquitto tools are refused the same way
        sub = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t",
                              topics.command("counter-2"), "-m", "{}", "-u", "anyone", "-P", "guess"],
                             capture_output=True, text=True, timeout=10)
        assert sub.returncode != 0
        counter1.close()


def test_the_acl_names_each_device_and_only_its_topics(config):
    for d in config.devices:
        d.password = PASSWORDS[d.id]
    acl = acl_text(config)
    block = acl.split("user tablet-2\n")[1].split("\n\n")[0]
    assert "topic write govhall/v1/demo/device/tablet-2/cmd" in block
    assert "topic read govhall/v1/demo/state/window/w2" in block and "event/#" not in block
    assert "user kiosk-1\n" in acl and "topic readwrite govhall/v1/demo/#" in acl.split("\n\n")[1]


def test_every_device_needs_its_own_password(config, tmp_path):
    from govhall.config import ConfigError
    with pytest.raises(ConfigError, match="kiosk-1"):
        write_broker_config(config, tmp_path / "b")


def test_a_device_added_in_the_dashboard_gets_in_and_a_removed_one_is_shut_out(tmp_path, mosquitto, sqlite_url):
    """The manager adds a kiosk and generates its password: the broker's files are rewritten, and
    after Mosquitto's reload (SIGHUP, as the systemd path unit sends it) the kiosk connects and
    issues a ticket; removed again, it is refused at the broker."""
    import os
    import shutil
    import signal
    from pathlib import Path

    import httpx
    import tomlkit

    from govhall.config_file import load_config
    hall_toml = tmp_path / "hall.toml"
    shutil.copy(Path(__file__).parent.parent / "examples" / "hall.toml", hall_toml)
    doc = tomlkit.parse(hall_toml.read_text(encoding="utf-8"))
    doc["broker"]["username"], doc["broker"]["password"] = "hall-server", "the-server-password-1"
    doc["broker"]["config_dir"] = "broker"
    for d in doc["devices"]:
        d["password"] = PASSWORDS[d["id"]]
    hall_toml.write_text(tomlkit.dumps(doc), encoding="utf-8")
    config = load_config(hall_toml)
    port = free_port()
    conf = write_broker_config(config, tmp_path / "broker", port=port, bind="127.0.0.1",
                               run_as="root" if os.geteuid() == 0 else None)
    broker = MosquittoProcess(port=port, workdir=str(tmp_path), conf_file=str(conf)).start()
    try:
        with running_hall(config, broker.url, sqlite_url, http=("127.0.0.1", free_port()),
                          config_path=str(hall_toml)) as (server, _):
            web = httpx.Client(base_url=server.dashboard_url, timeout=10)
            added = web.post("/api/settings/devices", json=[{"id": "kiosk-9", "role": "kiosk"}])
            assert added.json()["broker"].startswith("failed")          # no password yet: the files stay as they were
            made = web.post("/api/settings/devices/kiosk-9/password")
            assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
            password = made.json()["password"]
            assert made.json()["broker"] == "updated" and "kiosk-9:" in (tmp_path / "broker" / "passwd").read_text()
            assert password not in (tmp_path / "broker" / "passwd").read_text()          # hashed
            assert "user kiosk-9" in (tmp_path / "broker" / "acl").read_text()
            audit = [a for a in server.store.audit_records() if a["action"] == "settings.device_password"]
            assert [a["detail"] for a in audit] == ["kiosk-9"] and password not in repr(server.store.audit_records())
            broker.proc.send_signal(signal.SIGHUP)
            rc = until_broker_says(broker.port, "kiosk-9", password, refused=False)
            assert rc is not None and not rc.is_failure                   # the new password works
            from govhall.link import DeviceLink
            kiosk = DeviceLink(config.hall.id, "kiosk-9", broker.url, username="kiosk-9", password=password).connect()
            assert kiosk.request({"type": "ticket.issue", "category": "social"})["ok"]   # the server knows it too
            kiosk.close()
            removed = web.post("/api/settings/devices", json=[{"id": "kiosk-9", "remove": True}])
            assert removed.json()["broker"] == "updated"
            broker.proc.send_signal(signal.SIGHUP)
            rc = until_broker_says(broker.port, "kiosk-9", password, refused=True)
            assert rc is not None and rc.is_failure
    finally:
        broker.stop()


def test_no_device_can_take_over_the_servers_or_another_devices_client_id(secured, sqlite_url):
    """Client ids are bound to the account (use_username_as_clientid): a tablet connecting with the
    server's client id, or a kiosk with a counter's, takes over nothing — the server keeps
    answering, and the counter is never kicked off (which the server would record as 离岗)."""
    from govhall.link import DeviceLink
    config, broker = secured
    with running_hall(config, broker.url, sqlite_url) as (server, _):
        def device(d):
            return DeviceLink(config.hall.id, d, broker.url, username=d, password=PASSWORDS[d]).connect()
        kiosk, counter1 = device("kiosk-1"), device("counter-1")
        counter_drops = []
        counter1.on_connection = lambda up: counter_drops.append(up) if not up else None
        assert counter1.request({"type": "window.login", "window": "w1", "staff": "s001"})["ok"]
        server_drops = []
        server.bus.client.on_disconnect = lambda *a: server_drops.append(a)
        attackers = []
        for client_id in ("hall-server", f"hallserver-{config.hall.id}"):           # the server's, old and new
            attackers.append(connect(broker.port, "tablet-1", PASSWORDS["tablet-1"], client_id=client_id))
        for client_id in ("counter-1", f"{config.hall.id}-counter-1"):              # the counter's, old and new
            attackers.append(connect(broker.port, "kiosk-2", PASSWORDS["kiosk-2"], client_id=client_id))
        assert all(rc is not None and not rc.is_failure for _, rc in attackers)     # they are let in as themselves
        time.sleep(1.5)
        assert kiosk.request({"type": "ticket.issue", "category": "social"})["ok"]   # the server still answers
        assert counter1.request({"type": "window.call_next", "window": "w1"})["ok"]
        assert server_drops == [] and counter_drops == []
        for client, _ in attackers:
            client.disconnect()
            client.loop_stop()
        kiosk.close()
        counter1.close()


def test_a_device_named_like_the_servers_broker_account_is_refused_everywhere(tmp_path):
    """Named `hall-server` (or the [broker] username), a device would get a second entry in the
    broker's password file and log in with the server's rights: check-config, broker-config and
    the dashboard's settings refuse the name."""
    import shutil
    import sys
    from datetime import datetime
    from pathlib import Path

    from hallserver.settings_file import SettingsError, save_settings
    from hallserver.web.settings_words import settings_reason
    hall_toml = tmp_path / "hall.toml"
    shutil.copy(Path(__file__).parent.parent / "examples" / "hall.toml", hall_toml)
    before = hall_toml.read_bytes()
    with pytest.raises(SettingsError) as refused:
        save_settings(hall_toml, "devices", [{"id": "hall-server", "role": "kiosk"}], datetime(2026, 11, 23, 10, 30))
    assert settings_reason(str(refused.value)) == \
        "设备·hall-server·编号：“hall-server”是大厅服务器自己的消息账号，请给设备另起一个编号"
    assert hall_toml.read_bytes() == before
    for name, broker in (("hall-server", ""), ("hall-mqtt", 'username = "hall-mqtt"\npassword = "server-secret-12"\n')):
        bad = tmp_path / f"{name}.toml"
        text = before.decode("utf-8").replace("[broker]\n", "[broker]\n" + broker, 1)
        bad.write_text(text + f'\n[[devices]]\nid = "{name}"\nrole = "kiosk"\npassword = "long-enough-secret"\n',
                       encoding="utf-8")
        for command in (["check-config", str(bad)],
                        ["broker-config", "--config", str(bad), "--out", str(tmp_path / "b")]):
            run = subprocess.run([sys.executable, "-m", "hall.cli", *command], capture_output=True, text=True)
            assert run.returncode != 0 and f"'{name}' is the hall server's own broker account" in run.stderr, run.stderr
    assert not (tmp_path / "b" / "passwd").exists()
