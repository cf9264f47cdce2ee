"""Each device holds only its own secret, and talks to the broker over TLS that it checks.

The production setup made by the project's own tools: `hall broker-config --tls-generate` (the
hall's CA and the broker's certificate; the plain listener on 127.0.0.1 for the hall server
only), Mosquitto from those files, `hall device-config` for one device. The device's file
holds its own account and the CA and nothing else; the hall's other settings come from the
server's retained `hall.config`, which holds no secret either."""
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import tomlkit

from govhall.config import device_credentials
from govhall.config_file import load_config
from govhall.contract import Topics
from govhall.device_file import fetch_hall_config, load_device_file
from govhall.link import DeviceLink
from hallserver.broker import MosquittoProcess, free_port, wait_for_port
from hallserver.passwords import hash_password
from tests.conftest import running_hall

EXAMPLE = Path(__file__).parent.parent / "examples" / "hall.toml"
SERVER_PASSWORD = "the-server-password-1"
RATINGS_SECRET = "ratings-chain-key-kept-secret"


def hall(tmp_path, tls_port=8883) -> Path:
    """hall.toml with every secret a real hall has: device passwords, the server's account, staff and
    manager hashes, the ratings' key."""
    hall_toml = tmp_path / "hall.toml"
    doc = tomlkit.parse(EXAMPLE.read_text(encoding="utf-8"))
    doc["broker"]["username"], doc["broker"]["password"] = "hall-server", SERVER_PASSWORD
    doc["broker"]["ca"] = "broker/tls/ca.pem"
    doc["broker"]["device_url"] = f"mqtts://localhost:{tls_port}"
    for d in doc["devices"]:
        d["password"] = f"{d['id']}-own-secret-password"
    staff_hash = hash_password("staff-pass-2026")
    for person in doc["staff"]:
        person["password_hash"] = staff_hash
    del doc["counter"]["badge_login_posts"]           # the hardened hall: every staff member has a password
    managers = tomlkit.aot()
    managers.append({"id": "m001", "name": "陈主任", "password_hash": hash_password("manager-pass-2026")})
    doc["managers"] = managers
    doc.setdefault("ratings", tomlkit.table())["secret"] = RATINGS_SECRET
    hall_toml.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return hall_toml


def hall_cli(*args, check=True):
    run = subprocess.run([sys.executable, "-m", "hall.cli", *map(str, args)], capture_output=True, text=True,
                         timeout=60)
    if check:
        assert run.returncode == 0, run.stderr
    return run


@pytest.fixture
def tls_hall(tmp_path, mosquitto):
    """The broker from `hall broker-config --tls-generate`, started as the stock Mosquitto is (as
    root it drops to user mosquitto, who must read the files through their group), and a hall.toml
    that points devices at it. Yields (hall.toml, the broker, its TLS port, the broker's folder)."""
    port, tls_port = free_port(), free_port()
    hall_toml = hall(tmp_path, tls_port)
    base = Path(tempfile.mkdtemp(prefix="govhall-tls-"))      # not pytest's tmp: user mosquitto may not enter it
    base.chmod(0o755)
    out = base / "broker"
    made = hall_cli("broker-config", "--config", hall_toml, "--out", out, "--port", port, "--tls-port", tls_port,
                    "--tls-generate", "--tls-host", "localhost", "--tls-host", "127.0.0.1")
    assert "TLS for the devices" in made.stdout
    text = hall_toml.read_text(encoding="utf-8").replace('ca = "broker/tls/ca.pem"', f'ca = "{out}/tls/ca.pem"')
    hall_toml.write_text(text, encoding="utf-8")
    broker = MosquittoProcess(port=port, workdir=str(tmp_path), conf_file=str(out / "mosquitto.conf")).start()
    try:
        wait_for_port("127.0.0.1", tls_port)
        yield hall_toml, broker, tls_port, out
    finally:
        broker.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_device_file_holds_its_own_account_and_the_ca_and_no_other_secret(tls_hall, tmp_path, sqlite_url):
    hall_toml, broker, tls_port, out = tls_hall
    config = load_config(hall_toml)
    conf = (out / "mosquitto.conf").read_text()
    assert f"listener {broker.port} 127.0.0.1" in conf                    # plain: the server's, this machine only
    assert f"listener {tls_port} 0.0.0.0" in conf and "use_username_as_clientid true" in conf
    ca_key = out.parent / "govhall-ca" / "ca.key"                            # outside the broker's folder
    assert oct(ca_key.stat().st_mode & 0o777) == "0o600" and not list(out.rglob("ca.key"))
    assert oct((out.parent / "govhall-ca").stat().st_mode & 0o777) == "0o700"

    device_file = tmp_path / "kiosk-1.toml"
    hall_cli("device-config", "--config", hall_toml, "--device", "kiosk-1", "--out", device_file)
    assert oct(device_file.stat().st_mode & 0o777) == "0o600"
    text = device_file.read_text(encoding="utf-8")
    assert "kiosk-1-own-secret-password" in text and "BEGIN CERTIFICATE" in text
    secrets = [SERVER_PASSWORD, RATINGS_SECRET, "$argon2", "PRIVATE KEY"] + \
        [d.password for d in config.devices if d.id != "kiosk-1"]
    assert [s for s in secrets if s in text] == []
    own = load_device_file(device_file)
    assert own.broker.url == f"mqtts://localhost:{tls_port}" and own.broker.username == "kiosk-1"

    config.broker.url = broker.url                                        # the server: plain, on loopback
    with running_hall(config, broker.url, sqlite_url) as _:
        raw = retained(tls_port, Topics(config.hall.id).hall_config, "kiosk-1", "kiosk-1-own-secret-password",
                       own.broker.ca_pem)
        assert b'"categories"' in raw and [s for s in secrets if s.encode() in raw] == []
        assert b"kiosk-1-own-secret-password" not in raw                # not even its own
        from_server = fetch_hall_config(own)
        assert [c.id for c in from_server.categories] == [c.id for c in config.categories]
        assert from_server.managers == [] and all(p.password_hash is None for p in from_server.staff)
        assert from_server.broker.password == "kiosk-1-own-secret-password" and from_server.ratings.secret is None
        kiosk = DeviceLink(from_server.hall.id, "kiosk-1", own.broker.url,
                           **device_credentials(from_server, "kiosk-1")).connect()
        assert kiosk.tls and kiosk.request({"type": "ticket.issue", "category": "social"})["ok"]
        kiosk.close()

        counter_file = tmp_path / "counter-1.toml"
        hall_cli("device-config", "--config", hall_toml, "--device", "counter-1", "--out", counter_file)
        counter_own = load_device_file(counter_file)
        assert counter_own.device.window == "w1"
        counter_config = fetch_hall_config(counter_own)
        counter = DeviceLink(config.hall.id, "counter-1", counter_own.broker.url,
                             **device_credentials(counter_config, "counter-1")).connect()
        login = counter.request({"type": "window.login", "window": "w1", "staff": "s001",
                                 "password": "staff-pass-2026"})
        assert login["ok"], login                                          # the staff password went over TLS
        counter.close()


def retained(port, topic, user, password, ca_pem):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"probe-{time.time_ns()}")
    import ssl
    client.tls_set_context(ssl.create_default_context(cadata=ca_pem))
    client.username_pw_set(user, password)
    got, box = threading.Event(), []
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    client.on_message = lambda c, u, m: (box.append(m.payload), got.set())
    client.connect("localhost", port)
    client.loop_start()
    try:
        assert got.wait(10), f"nothing retained on {topic}"
        return box[0]
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_device_does_not_talk_to_a_broker_its_ca_did_not_sign(tls_hall, tmp_path):
    hall_toml, broker, tls_port, _out = tls_hall
    device_file = tmp_path / "kiosk-1.toml"
    hall_cli("device-config", "--config", hall_toml, "--device", "kiosk-1", "--out", device_file)
    other = tmp_path / "other"
    other.mkdir()
    other_toml = hall(other)
    hall_cli("broker-config", "--config", other_toml, "--out", other / "broker", "--tls-generate",
             "--tls-host", "localhost")
    stranger_ca = (other / "broker" / "tls" / "ca.pem").read_text()
    doc = tomlkit.parse(device_file.read_text(encoding="utf-8"))
    doc["broker"]["ca_pem"] = stranger_ca                                  # a broker posing as the hall's
    device_file.write_text(tomlkit.dumps(doc), encoding="utf-8")
    with pytest.raises(Exception, match="TLS"):
        fetch_hall_config(load_device_file(device_file), timeout=3)
    link = DeviceLink("demo", "kiosk-1", f"mqtts://localhost:{tls_port}", username="kiosk-1",
                      password="kiosk-1-own-secret-password", ca_pem=stranger_ca)
    with pytest.raises(ConnectionError, match="TLS"):
        link.connect(timeout=3)


def test_rotation_keeps_the_ca_so_devices_need_nothing_new(tmp_path):
    hall_toml = hall(tmp_path)
    out = tmp_path / "broker"
    hall_cli("broker-config", "--config", hall_toml, "--out", out, "--tls-generate", "--tls-host", "hall.lan")
    ca, first = (out / "tls" / "ca.pem").read_text(), (out / "tls" / "server.pem").read_text()
    hall_cli("broker-config", "--config", hall_toml, "--out", out, "--tls-generate", "--tls-host", "hall.lan")
    assert (out / "tls" / "ca.pem").read_text() == ca and (out / "tls" / "server.pem").read_text() != first
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(out / "tls" / "ca.pem"),
                             str(out / "tls" / "server.pem")], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    hall_cli("broker-config", "--config", hall_toml, "--out", out, "--tls-generate", "--tls-host", "hall.lan",
             "--tls-new-ca")
    assert (out / "tls" / "ca.pem").read_text() != ca
    for host in ("a b", "fe80::1%x\nsubjectAltName=DNS:evil.example", "hall.lan,DNS:evil.example", "-", "a..b"):
        bad = hall_cli("broker-config", "--config", hall_toml, "--out", out, "--tls-generate", "--tls-host", host,
                       check=False)
        assert bad.returncode == 2 and "not a host name" in bad.stderr, host
    sans = subprocess.run(["openssl", "x509", "-in", str(out / "tls" / "server.pem"), "-noout", "-ext",
                           "subjectAltName"], capture_output=True, text=True).stdout
    assert "DNS:hall.lan" in sans and "evil" not in sans


def test_device_config_refuses_what_would_leak(tmp_path):
    hall_toml = hall(tmp_path)
    plain = hall_cli("device-config", "--config", hall_toml, "--device", "counter-1", "--out", tmp_path / "c.toml",
                     "--broker", "mqtt://192.168.1.10:1883", check=False)
    assert plain.returncode == 2 and "not encrypted" in plain.stderr and not (tmp_path / "c.toml").exists()
    text = hall_toml.read_text(encoding="utf-8").replace('password = "tablet-3-own-secret-password"\n', "")
    hall_toml.write_text(text, encoding="utf-8")
    nopass = hall_cli("device-config", "--config", hall_toml, "--device", "tablet-3", "--out", tmp_path / "k.toml",
                      "--broker", "mqtts://hall.lan:8883", check=False)
    assert nopass.returncode == 2 and "no password yet" in nopass.stderr
    unknown = hall_cli("device-config", "--config", hall_toml, "--device", "nobody", "--out", tmp_path / "n.toml",
                       "--broker", "mqtts://hall.lan:8883", check=False)
    assert unknown.returncode == 2 and "no device 'nobody'" in unknown.stderr


def test_a_device_program_runs_from_its_own_file(tls_hall, tmp_path, sqlite_url):
    """`hall led-bridge --config led-bridge-1.toml`: no hall.toml on the machine, the settings from the server."""
    hall_toml, broker, _tls_port, _out = tls_hall
    config = load_config(hall_toml)
    device_file = tmp_path / "led-bridge-1.toml"
    hall_cli("device-config", "--config", hall_toml, "--device", "led-bridge-1", "--out", device_file)
    with running_hall(config, broker.url, sqlite_url) as (server, _):
        online = threading.Event()
        server.processor.presence_listeners.append(lambda device, up, _at: online.set() if
                                                   device == "led-bridge-1" and up else None)
        bridge = subprocess.Popen([sys.executable, "-m", "hall.cli", "led-bridge", "--config", str(device_file),
                                   "--port", "loop://"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert online.wait(20), "the bridge never came online"
        finally:
            bridge.send_signal(signal.SIGTERM)
            output = bridge.communicate(timeout=10)[0]
        assert "Traceback" not in output, output
    assert shutil.which("openssl")


def test_the_manager_downloads_a_devices_file_from_the_dashboard(tls_hall, tmp_path, sqlite_url):
    """下载设备文件: a new password (the old file stops working), the file with nothing else in it;
    only a hall manager may, with the CSRF token."""
    import httpx

    hall_toml, broker, _tls_port, out = tls_hall
    doc = tomlkit.parse(hall_toml.read_text(encoding="utf-8"))
    doc["broker"]["config_dir"] = str(out)
    doc["managers"].append({"id": "a001", "name": "审计", "role": "auditor",
                            "password_hash": hash_password("auditor-pass-2026")})
    hall_toml.write_text(tomlkit.dumps(doc), encoding="utf-8")
    config = load_config(hall_toml)
    old_file = tmp_path / "old-kiosk-1.toml"
    hall_cli("device-config", "--config", hall_toml, "--device", "kiosk-1", "--out", old_file)
    with running_hall(config, broker.url, sqlite_url, http=("127.0.0.1", free_port()),
                      config_path=str(hall_toml)) as (server, _):
        def session(who, password):
            client = httpx.Client(base_url=server.dashboard_url, timeout=10)
            assert client.post("/login", data={"manager": who, "password": password}).status_code == 303
            return client, {"X-CSRF-Token": client.cookies["govhall_csrf"]}
        auditor, auditor_csrf = session("a001", "auditor-pass-2026")
        assert auditor.post("/api/settings/devices/kiosk-1/file", headers=auditor_csrf).status_code == 403
        manager, csrf = session("m001", "manager-pass-2026")
        assert 'class="device-file"' in manager.get("/settings").text                 # 下载设备文件, on the page
        assert manager.post("/api/settings/devices/kiosk-1/file").status_code == 403          # no CSRF token
        assert manager.post("/api/settings/devices/nobody/file", headers=csrf).status_code == 404
        got = manager.post("/api/settings/devices/kiosk-1/file", headers=csrf)
        assert got.status_code == 200 and got.headers["cache-control"] == "no-store"
        assert 'filename="kiosk-1.toml"' in got.headers["content-disposition"]
        new_file = tmp_path / "kiosk-1.toml"
        new_file.write_text(got.text, encoding="utf-8")
        own = load_device_file(new_file)
        assert own.broker.password != load_device_file(old_file).broker.password
        assert [s for s in (SERVER_PASSWORD, RATINGS_SECRET, "$argon2") if s in got.text] == []
        audit = [(a["action"], a["detail"]) for a in server.store.audit_records() if a["actor"] == "m001"]
        assert ("settings.device_password", "kiosk-1") in audit
        broker.proc.send_signal(signal.SIGHUP)                       # the broker takes the new passwd file
        deadline = time.monotonic() + 10
        while True:
            try:
                assert fetch_hall_config(own, timeout=2).hall.id == config.hall.id
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        with pytest.raises(Exception, match="refused|no hall settings"):
            fetch_hall_config(load_device_file(old_file), timeout=2)              # the old file is dead


def test_the_deploy_units_run_devices_from_their_own_files():
    """Only the hall server's unit reads hall.toml; every device unit gives its own file, and its
    command line is one the `hall` command takes."""
    import shlex

    from hall.cli import build_parser
    units = sorted((Path(__file__).parent.parent / "deploy" / "systemd").glob("*.service"))
    programs = {}
    for unit in units:
        for line in unit.read_text(encoding="utf-8").splitlines():
            if line.startswith("ExecStart=/opt/govhall/.venv/bin/hall "):
                argv = shlex.split(line.removeprefix("ExecStart=/opt/govhall/.venv/bin/hall "))
                args = build_parser().parse_args(argv)
                programs[args.command] = args.config
    assert programs.pop("server") == "/etc/govhall/hall.toml"
    assert set(programs) == {"kiosk", "counter", "tablet", "screen", "led-bridge", "keypad-bridge"}
    assert all(not path.endswith("hall.toml") for path in programs.values()), programs



def test_what_a_device_file_may_not_carry_or_trust(tmp_path):
    """A CA file with a private key in it, no CA for an mqtts:// broker, a name that only looks
    like this machine, a device without its own password: each refused, never passed on."""
    from govhall.config import ConfigError
    from govhall.device_file import device_file_text, public_hall_config
    from govhall.link import is_loopback
    hall_toml = hall(tmp_path)
    out = tmp_path / "broker"
    hall_cli("broker-config", "--config", hall_toml, "--out", out, "--tls-generate", "--tls-host", "hall.lan")
    config = load_config(hall_toml)
    text = device_file_text(config, "kiosk-1", "mqtts://hall.lan:8883")
    assert text.count("BEGIN CERTIFICATE") == 1 and "PRIVATE KEY" not in text
    bundle = tmp_path / "bundle.pem"
    bundle.write_text((out / "tls" / "ca.pem").read_text() + (out.parent / "govhall-ca" / "ca.key").read_text())
    config.broker.ca = str(bundle)
    with pytest.raises(ConfigError, match="private key"):
        device_file_text(config, "kiosk-1", "mqtts://hall.lan:8883")
    config.broker.ca = None
    with pytest.raises(ConfigError, match="no CA"):
        device_file_text(config, "kiosk-1", "mqtts://hall.lan:8883")
    assert "ca_pem" not in device_file_text(config, "kiosk-1", "mqtts://hall.lan:8883", system_ca=True)
    assert [is_loopback(h) for h in ("localhost", "127.0.0.1", "127.9.9.9", "::1")] == [True] * 4
    assert [is_loopback(h) for h in ("127.attacker.example", "localhost.example", "10.0.0.1")] == [False] * 3
    with pytest.raises(ConfigError, match="not encrypted"):
        device_file_text(config, "kiosk-1", "mqtt://127.attacker.example:1883")
    text = hall_toml.read_text(encoding="utf-8")
    hall_toml.write_text("\n".join(line for line in text.splitlines() if not line.startswith("device_url")),
                         encoding="utf-8")
    no_url = hall_cli("device-config", "--config", hall_toml, "--device", "kiosk-1", "--out", tmp_path / "k.toml",
                      check=False)                        # never the server's own mqtt://127.0.0.1 instead
    assert no_url.returncode == 2 and "device_url" in no_url.stderr and not (tmp_path / "k.toml").exists()
    with pytest.raises(ConfigError, match="hall server's broker account"):
        device_credentials(config, "led-bridge-9")          # unknown: never the server's own account
    config.device("tablet-2").password = None
    with pytest.raises(ConfigError, match="hall server's broker account"):
        device_credentials(config, "tablet-2")

    config.http.public_url = "https://guest:hunter2@hall.example/"
    config.led.port = "rfc2217://admin:ledpass@10.0.0.5:4001"
    config.device("kiosk-1").printer = "tcp://192.168.1.50:9100"
    public = public_hall_config(config)
    assert public["http"]["public_url"] == "https://hall.example/" and public["led"]["port"] == "rfc2217://10.0.0.5:4001"

    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)
    named = set(keys(public)) & {"password", "password_hash", "secret", "username", "tls_key", "tls_cert", "ca",
                                 "ca_pem", "config_dir", "printer", "id_reader", "url", "posts_csv", "catalogue"}
    assert named == set() and {"broker", "database", "managers"}.isdisjoint(public)
    assert "hunter2" not in repr(public) and "ledpass" not in repr(public) and "192.168.1.50" not in repr(public)


def test_no_device_file_from_a_hall_without_managers_or_over_plain_http(tmp_path, embedded_broker, sqlite_url):
    import httpx
    hall_toml = hall(tmp_path)
    doc = tomlkit.parse(hall_toml.read_text(encoding="utf-8"))
    del doc["managers"]
    del doc["broker"]["ca"]
    hall_toml.write_text(tomlkit.dumps(doc), encoding="utf-8")
    config = load_config(hall_toml)
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port()),
                      config_path=str(hall_toml)) as (server, _):
        got = httpx.post(server.dashboard_url + "api/settings/devices/kiosk-1/file", timeout=10)
        assert got.status_code == 403 and "管理员" in got.json()["error"]["message"]
    assert load_config(hall_toml).device("kiosk-1").password == "kiosk-1-own-secret-password"   # not rotated
