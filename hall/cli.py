"""The `hall` command line: one entry point for every role of the hall.

    hall server --config hall.toml          the hall server (broker "embedded" starts amqtt too)
    hall demo [--headless] [--json]         a whole hall on simulated time
    hall demo --headless --days 7 --faults  the soak: a simulated week with faults, books checked daily
    hall check-config hall.toml             validate a config file
    hall contract --schemas DIR             write one JSON Schema per message
    hall led-bridge --config hall.toml      drive the window LED screens from retained state
    hall keypad-bridge --config hall.toml   the caller keypads (呼叫器) on RS-485
    hall kiosk --config hall.toml           the ticket kiosk; --screenshots DIR saves every screen
    hall counter --config hall.toml --window 3   the counter terminal; --screenshots DIR
    hall screen --config hall.toml [--voice]     the hall screen (综合屏); --screenshots DIR
    hall voice --config hall.toml           speak every call; --build-clips DIR makes the clips
    hall mosquitto-config --port 1883       print the project's open Mosquitto config (development)
    hall broker-config --config F --out D   Mosquitto with a password and an ACL per device (production)
    hall staff-password                     argon2 hash of a staff password, for [[staff]] password_hash
    hall bench call [--json]                time a call from the counter to the LED, hall screen and voice
    hall bench reports [--database URL]     time the month report and the live overview over a year of history
    hall bench load [--seconds N] [--json]  220 simulated devices at full speed and at 1,000 commands/s
    hall ratings verify|export --config F   prove no rating was changed or removed; export the records
    hall tablet --config hall.toml --window 3   the rating tablet (评价器); --screenshots DIR
    hall audit verify --config hall.toml    prove no line of the audit log was changed or removed
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import signal
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from counter.app import run_counter
from govhall.config import Config, ConfigError, device_credentials
from govhall.config_file import load_config
from govhall.contract import json_schemas
from govhall.device_file import (
    device_file_text,
    device_url_of,
    fetch_hall_config,
    is_device_file,
    load_device_file,
    write_device_file,
)
from govhall.link import DeviceLink, is_loopback, parse_broker_url
from hallserver.broker import EmbeddedBroker, free_port, mosquitto_config, port_is_free
from hallserver.broker_security import write_broker_config
from hallserver.heap import freeze_heap
from hallserver.passwords import hash_password
from hallserver.rating_chain import verify, verify_audit, verify_follow_ups
from hallserver.server import HallServer, rating_secret
from hallserver.store import Store
from hardware.call_voice import build_clips
from kiosk.screen_app import run_screen, run_voice
from kiosk.tablet_app import run_tablet
from lab.bench import bench_call
from lab.bench_load import bench_load
from lab.bench_reports import bench_reports
from lab.demo_console import DemoConsole
from lab.demo_gui import display_available, run_demo_gui

log = logging.getLogger("hall")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("amqtt", "transitions", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def cmd_server(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    broker = None
    url = args.broker or config.broker.url
    if url == "embedded":
        broker = EmbeddedBroker(port=args.embedded_port).start()
        url = broker.url
        log.info("embedded MQTT broker (amqtt) listening on %s", url)
    http = None if args.no_web else (config.http.host, config.http.port)
    server = HallServer(config, broker_url=url, database_url=args.database, http=http,
                        config_path=args.config).start()
    freeze_heap()                 # the started server's objects stay out of the collector's walks
    try:
        _wait_for_signal()
    finally:
        server.stop()
        if broker:
            broker.stop()
    return 0


def cmd_soak(args: argparse.Namespace) -> int:
    from lab.soak import run_week  # loads pyserial: only when used
    if not args.json:
        print(f"govhall soak: the demo hall over {args.days} simulated days, "
              f"{'with' if args.faults else 'without'} faults, as fast as it goes", flush=True)
    result = run_week(days=args.days, faults=args.faults, seed=args.seed, database_url=args.database)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        def mb(kb: int | None) -> str:
            return f"{kb / 1024:6.1f}" if kb is not None else "     -"

        def rss(d: dict) -> str:
            return f"RSS server {mb(d['rss_kb_server'])} MB, devices {mb(d['rss_kb_devices'])} MB"
        for d in result["days"]:
            if not d["open"]:
                print(f"  {d['day']}  {'closed':<73}{rss(d)}")   # 73: an open day's columns (过号 is 4 wide)
                continue
            print(f"  {d['day']}  issued {d['tickets_issued']:4}  served {d['completed']:4}  过号 {d['skipped']:3}  "
                  f"cancelled {d['cancelled']:2}  waiting {d['waiting']:2}  "
                  f"{'balanced' if d['balanced'] else 'NOT BALANCED'}   {rss(d)}")
        for f in result["faults"]:
            killed = f"  (pid {f['killed_pid']} killed, {f['new_pid']} started)" if "killed_pid" in f else ""
            print(f"  fault {f['at']}  {f['fault']}{killed}")
        print(f"  books {'balance' if result['books_balance'] else 'DO NOT BALANCE'}; {result['retries']} commands "
              f"sent again; the server ran as {len(result['server_pids'])} process(es) and logged "
              f"{result['server_errors_logged']} ERROR line(s), the devices as pid {result['devices_pid']}; "
              f"{result['real_seconds']} s")
    return 0 if result["books_balance"] else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from lab.demo import DEMO_START, HALLS, run_demo  # loads pyserial: only when used
    if args.days:
        if not args.headless:
            print("--days runs headless only (add --headless)", file=sys.stderr)
            return 2
        return cmd_soak(args)
    if args.screenshots:
        from lab.demo_shots import county_screenshots  # loads pyserial: only when used
        saved = county_screenshots(args.screenshots, minutes=args.minutes or 90, seed=args.seed)
        print(f"saved {len(saved)} screenshots of the county hall at "
              f"{(DEMO_START + timedelta(minutes=args.minutes or 90)):%H:%M} in {args.screenshots}")
        return 0
    hall = HALLS[args.hall]
    minutes = args.minutes or hall.default_minutes
    speed = None if args.headless else args.speed
    options = dict(hall=hall, minutes=minutes, seed=args.seed, speed=speed, broker_url=args.broker,
                   database_url=args.database)
    if args.json:
        print(json.dumps(run_demo(**options), ensure_ascii=False, sort_keys=True))
        return 0
    return _demo_on_the_console(args, options)


def _demo_logging(verbose: bool) -> Path:
    """The demo's console is for people: every library's log goes to a file (-v: here too)."""
    path = Path(tempfile.gettempdir()) / "govhall-demo.log"
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if not verbose:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    return path


def _demo_on_the_console(args: argparse.Namespace, options: dict) -> int:
    from lab.demo import DEMO_START, HallDemo  # loads pyserial: only when used
    log_path = _demo_logging(args.verbose)
    port = args.http_port if args.http_port and port_is_free("127.0.0.1", args.http_port) else free_port()
    print(f"看板 (dashboard): http://127.0.0.1:{port}/   大屏: http://127.0.0.1:{port}/wall", flush=True)
    gui = not args.headless and display_available()
    console: DemoConsole | None = None
    demo = HallDemo(**options, http=("127.0.0.1", port),
                    on_event=lambda kind, data: console.event(kind, data) if console else None)
    console = DemoConsole(demo.config, demo.clock.now)
    mode = "as fast as it goes" if options["speed"] is None else f"{options['speed']:g}× real time"
    print(f"govhall demo: {demo.config.hall.name}, {len(demo.config.windows)} windows, "
          f"{len(demo.config.categories)} categories; {options['minutes']} simulated minutes from 09:00 "
          f"(seed {options['seed']}, {mode})", flush=True)
    print(f"log: {log_path}{' (and here: -v)' if args.verbose else ' (-v shows it here)'}", flush=True)
    if gui:
        print("opening the hall screen, a kiosk and the counter terminal of window 1", flush=True)
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()
        demo.stop_requested.set()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    running = threading.Event()

    def show_status() -> None:
        while running.is_set():
            try:
                console.status(demo.live_figures())
            except Exception:            # a status line is not worth stopping the hall for
                logging.getLogger("hall").exception("status line")
            time.sleep(0.5)

    def started(_demo: HallDemo) -> None:
        print("the hall is open (Ctrl-C stops it); notable moments as they happen:", flush=True)
        running.set()
        threading.Thread(target=show_status, name="demo-status", daemon=True).start()

    def finished(result: dict) -> None:
        running.clear()
        time.sleep(0.6)                  # the status thread's last line is drawn
        console.end_status()
        print("\n".join(console.summary(result, DEMO_START, demo.server.dashboard_url)), flush=True)
        if stop.is_set() or demo.stop_requested.is_set():      # Ctrl-C, or the windows closed
            print("stopped before the end of the simulated day (Ctrl-C or the windows closed)", flush=True)
        elif not args.exit:
            print(f"the dashboard and the simulated devices stay up: {demo.server.dashboard_url}  "
                  "(Ctrl-C to stop)", flush=True)

    try:
        if gui:
            run_demo_gui(started, demo=demo, keep_open=not args.exit, stop=stop, on_finished=finished)
            return 0
        demo.start()
        if stop.is_set():
            return 0
        started(demo)
        finished(demo.run())
        if not args.exit:
            stop.wait()
        return 0
    finally:
        running.clear()
        demo.stop()


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    print(f"{args.file}: ok — hall {config.hall.id} ({config.hall.name}), {len(config.categories)} categories, "
          f"{len(config.windows)} windows, {len(config.staff)} staff, {len(config.devices)} devices")
    return 0


def cmd_contract(args: argparse.Namespace) -> int:
    out = Path(args.schemas)
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in sorted(json_schemas().items()):
        (out / f"{name}.json").write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(json_schemas())} schemas to {out}")
    return 0


def _device_config(args: argparse.Namespace, role: str, what: str) -> tuple[Config, str]:
    """A device program's config and broker URL: from the device's own file (hall device-config;
    the hall's settings then come from the server) or from a whole hall.toml (development).
    Devices never run the embedded broker."""
    if is_device_file(args.config):
        own = load_device_file(args.config)
        if own.device.role.value != role:
            raise ConfigError(f"{args.config}: the file of a {own.device.role.value}, not of a {role}")
        args.device = own.device.id
        if own.device.window and getattr(args, "window", None) is None:
            args.window = own.device.window
        return fetch_hall_config(own), args.broker or own.broker.url
    config = load_config(args.config)
    broker = args.broker or config.broker.url
    if broker == "embedded":
        raise ConfigError(f"{args.config}: broker.url: the {what} needs a broker URL (mqtt://host:port), or --broker")
    try:
        host, _ = parse_broker_url(broker)
    except ValueError as exc:
        raise ConfigError(f"--broker: {exc}") from None
    if not is_loopback(host):
        log.warning("the %s runs from the whole %s, which holds every password of the hall: in production give "
                    "it its own file (hall device-config, docs/security.md)", what, args.config)
    return config, broker


def cmd_led_bridge(args: argparse.Namespace) -> int:
    from hardware.led_bridge import LedBridge  # loads pyserial: only when used
    config, broker = _device_config(args, "led-bridge", "LED bridge")
    link = DeviceLink(config.hall.id, args.device, broker, **device_credentials(config, args.device)).connect()
    if args.port:
        config.led.port = args.port
    try:
        bridge = LedBridge(config, link).start()          # each bus opened by its URL, again after a failure
    except ValueError as exc:
        link.close()
        raise ConfigError(f"{args.config}: {exc}") from None
    try:
        _wait_for_signal()
    finally:
        bridge.stop()
        link.close()
    return 0


def cmd_keypad_bridge(args: argparse.Namespace) -> int:
    import serial  # pyserial: only with a serial line

    from hardware.keypad_bridge import KeypadBridge  # loads pyserial: only when used
    config, broker = _device_config(args, "keypad-bridge", "keypad bridge")
    if not any(w.keypad_address for w in config.windows):
        raise ConfigError(f"{args.config}: windows: no window has a keypad_address")
    link = DeviceLink(config.hall.id, args.device, broker, **device_credentials(config, args.device)).connect()
    port = serial.serial_for_url(args.port or config.keypad.port, baudrate=config.keypad.baudrate, timeout=0.1)
    bridge = KeypadBridge(config, link, port).start()
    try:
        _wait_for_signal()
    finally:
        bridge.stop()
        link.close()
    return 0


def _device_program(args: argparse.Namespace, what: str, screenshots, needs_window: bool = False,   # noqa: ANN001, ANN202
                    role: str | None = None):
    """The start of every device program: `--screenshots DIR` alone, or the config (the device's
    own file, or hall.toml) and a broker URL. Returns None after screenshots, else (config, broker)."""
    if getattr(args, "screenshots", None):
        saved = screenshots(args.screenshots)
        print(f"wrote {len(saved)} screenshots to {args.screenshots}")
        return None
    if not args.config:
        raise ConfigError(f"hall {what}: give --config with the device's file (hall device-config) or hall.toml "
                          "(or --screenshots DIR)")
    config, broker = _device_config(args, role or what, what)
    if needs_window and not args.window:
        raise ConfigError(f"hall {what}: give --window N with hall.toml (a device's own file names its window)")
    return config, broker


def cmd_kiosk(args: argparse.Namespace) -> int:
    from kiosk.app import run_kiosk  # loads the printer's python-escpos, Pillow, pyserial: only when used
    from lab.shots import kiosk as kiosk_shots  # a small hall and Qt, for --screenshots only
    started = _device_program(args, "kiosk", kiosk_shots.screenshots)
    if started is None:
        return 0
    config, broker = started
    device = config.device(args.device)
    if device is None or device.role.value != "kiosk":
        raise ConfigError(f"{args.config}: devices: no kiosk with id {args.device!r}")
    return run_kiosk(config, args.device, broker, printer_url=args.printer or device.printer,
                     id_reader_url=args.id_reader or device.id_reader, fullscreen=args.fullscreen,
                     voice=config.kiosk.voice and not args.no_voice)


def cmd_counter(args: argparse.Namespace) -> int:
    from lab.shots import counter as counter_shots  # a small hall and Qt, for --screenshots only
    started = _device_program(args, "counter", counter_shots.screenshots, needs_window=True)
    if started is None:
        return 0
    config, broker = started
    return run_counter(config, args.window, broker, device=args.device, fullscreen=args.fullscreen)


def cmd_screen(args: argparse.Namespace) -> int:
    from lab.shots import screen as screen_shots  # a small hall and Qt, for --screenshots only
    started = _device_program(args, "screen", screen_shots.screenshots)
    if started is None:
        return 0
    config, broker = started
    return run_screen(config, args.device, broker, voice=args.voice, clips=args.clips, fullscreen=args.fullscreen)


def cmd_voice(args: argparse.Namespace) -> int:
    if args.build_clips:
        folder = build_clips(args.build_clips)
        print(f"made the voice clips in {folder}")
        return 0
    if not args.config:
        raise ConfigError("hall voice: give --config with its own device file (a device of role screen, e.g. "
                          "voice-1: hall device-config) or hall.toml (or --build-clips DIR)")
    config, broker = _device_config(args, "screen", "voice")
    return run_voice(config, args.device, broker, clips=args.clips)


def cmd_bench(args: argparse.Namespace) -> int:
    if args.what == "reports":
        return cmd_bench_reports(args)
    if args.what == "load":
        return cmd_bench_load(args)
    result = bench_call(args.calls, database_url=args.database)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"hall bench call: {result['calls']} calls, {result['broker']} + {result['database']}, {result['machine']}")
    for path, what in (("led", "publish → LED frame's last byte written"), ("screen", "publish → hall screen shows it"),
                       ("voice", "publish → voice starts")):
        r = result[path]
        print(f"  {path:<7} p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   "
              f"max {r['max_ms']:7.2f} ms   ({what})")
    return 0


def cmd_bench_load(args: argparse.Namespace) -> int:
    result = bench_load(args.seconds, args.rate, args.database, kiosks=args.kiosks, windows=args.windows)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    d = result["devices"]
    print(f"hall bench load: {d['kiosks']} kiosks, {d['counters']} counters, {d['tablets']} tablets, "
          f"{d['led_screens']} LED screens; {result['broker']} + {result['database']}, {result['machine']}")
    for phase, title in (("full_speed", "full speed"), ("at_rate", f"at {result['rate']:g}/s offered")):
        r = result[phase]
        print(f"  {title}: {r['commands_per_s']:.0f} commands/s answered ({r['ok_per_s']:.0f}/s changed the hall, "
              f"{r['empty_replies']} queue_empty), errors {r['errors'] or 'none'}")
        for kind, x in r["by_type"].items():
            print(f"    {kind:<17} p50 {x['p50_ms']:7.1f} ms   p99 {x['p99_ms']:7.1f} ms   n {x['n']}")
        if r["call_to_led"]:
            x = r["call_to_led"]
            print(f"    call → LED state  p50 {x['p50_ms']:7.1f} ms   p99 {x['p99_ms']:7.1f} ms")
    print(f"  server memory {result['server_rss_kb'] / 1024:.0f} MB; "
          f"errors in its log: {result['server_errors_logged']}")
    return 0


def cmd_bench_reports(args: argparse.Namespace) -> int:
    result = bench_reports(args.database, tickets=args.tickets, ratings=args.ratings, cases=args.cases,
                           repeat=args.repeat)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    rows = result["rows"]
    print(f"hall bench reports: {rows['tickets']} tickets, {rows['ratings']} ratings, {rows['cases']} cases "
          f"({result['fill_s']} s to write), {result['database']}, {result['machine']}")
    for key, what in (("month_report", f"运行报表 of {result['month']} ({result['month_tickets']} tickets), "
                                       "days from their rollups"),
                      ("month_report_first", "the same, the first time: every day counted and kept"),
                      ("month_counted_whole", "the same month counted straight from the tickets"),
                      ("this_month_report", "this month so far (its last 8 days counted from the tickets)"),
                      ("month_cases", f"按期办结率 of {result['month']}"),
                      ("live_overview", f"live overview ({result['today_tickets']} tickets today)")):
        r = result[key]
        print(f"  {key:<19} p50 {r['p50_ms']:8.1f} ms   p99 {r['p99_ms']:8.1f} ms   max {r['max_ms']:8.1f} ms   "
              f"({what})")
    return 0


def cmd_tablet(args: argparse.Namespace) -> int:
    from lab.shots import tablet as tablet_shots  # a small hall and Qt, for --screenshots only
    started = _device_program(args, "tablet", tablet_shots.screenshots, needs_window=True)
    if started is None:
        return 0
    config, broker = started
    return run_tablet(config, args.window, broker, device=args.device, fullscreen=args.fullscreen)


def _verify_ratings(records: list[dict], follow_ups: list[dict], secret: str | None) -> int:
    """The ratings' chain and the follow-ups' (追评) chain: 0 when both hold, else 1 naming the first bad record."""
    verdict = verify(records, secret)
    if not verdict.ok:
        print(f"ratings: BROKEN after {verdict.checked} good records: {verdict.problem}", file=sys.stderr)
        return 1
    print(f"ratings: {verdict.checked} records, chain intact")
    verdict = verify_follow_ups(follow_ups, secret, {r["id"] for r in records})
    if not verdict.ok:
        print(f"follow-ups (追评): BROKEN after {verdict.checked} good records: {verdict.problem}", file=sys.stderr)
        return 1
    print(f"follow-ups (追评): {verdict.checked} records, chain intact")
    return 0


def cmd_ratings(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = Store(args.database or config.database.url)
    try:
        records = store.rating_records()
        if args.action == "verify":
            return _verify_ratings(records, store.follow_up_records(), rating_secret(config))
        from hallserver.reports.rating_export import export_ratings
        path = export_ratings(store, config, args.out)
        print(f"wrote {len(records)} ratings to {path}")
        return 0
    finally:
        store.close()


def cmd_audit(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = Store(args.database or config.database.url)
    try:
        verdict = verify_audit(store.audit_records(), rating_secret(config))
    finally:
        store.close()
    if verdict.ok:
        print(f"audit log: {verdict.checked} lines, chain intact")
        return 0
    print(f"audit log: BROKEN after {verdict.checked} good lines: {verdict.problem}", file=sys.stderr)
    return 1


def cmd_staff_password(args: argparse.Namespace) -> int:
    """Ask for a password twice (or read one line from a pipe) and print its argon2 hash."""

    if sys.stdin.isatty():
        first = getpass.getpass("新密码 / new password: ")
        if getpass.getpass("再输一次 / again: ") != first:
            raise ConfigError("the two passwords differ")
    else:
        first = sys.stdin.readline().rstrip("\n")
    if len(first) < 8:
        raise ConfigError("a staff password needs at least 8 characters")
    print(hash_password(first))
    return 0


def cmd_broker_config(args: argparse.Namespace) -> int:
    from hallserver.broker_tls import certificate_end, make_certificates  # the openssl command: only for TLS
    config = load_config(args.config)
    tls = None
    if args.tls_generate and (args.tls_cert or args.tls_key or args.tls_ca):
        raise ConfigError("hall broker-config: either --tls-generate or your own --tls-cert/--tls-key/--tls-ca")
    if args.tls_cert or args.tls_key or args.tls_ca:
        if not (args.tls_cert and args.tls_key and args.tls_ca):
            raise ConfigError("hall broker-config: TLS needs --tls-cert, --tls-key and --tls-ca together")
        tls = (args.tls_cert, args.tls_key, args.tls_ca)
    elif args.tls_generate:
        tls = make_certificates(args.out, config.hall.id, args.tls_host or [], new_ca=args.tls_new_ca,
                                ca_dir=args.tls_ca_dir)
    # with TLS for the devices, the plain listener is the hall server's own, on this machine only
    bind = args.bind or ("127.0.0.1" if tls else "0.0.0.0")
    conf = write_broker_config(config, args.out, port=args.port, bind=bind, persistence_dir=args.persistence,
                               tls=tls, tls_port=args.tls_port, tls_bind=args.tls_bind)
    print(f"wrote {conf}, {conf.parent / 'acl'} and {conf.parent / 'passwd'}; run: mosquitto -c {conf}")
    if tls:
        print(f"TLS for the devices on port {args.tls_port} ({tls[0]}, until {certificate_end(tls[0]):%Y-%m-%d}); "
              f"devices check it against {tls[2]}: set [broker] ca to it and device_url to mqtts://…:{args.tls_port}")
    if bind not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: the plain listener on {bind}:{args.port} carries passwords in clear; "
              "use --tls-generate (docs/security.md)", file=sys.stderr)
    return 0


def cmd_device_config(args: argparse.Namespace) -> int:
    """One device's own file: its broker account, its window, the broker's CA; nothing else."""
    config = load_config(args.config)
    url = args.broker or device_url_of(config)
    if url is None:
        raise ConfigError(f"{args.config}: give the broker's address for devices: [broker] device_url "
                          "(mqtts://host:8883) or --broker")
    text = device_file_text(config, args.device, url, allow_plain=args.allow_plain, system_ca=args.system_ca)
    out = Path(args.out)
    write_device_file(out, text)
    print(f"wrote {out} for {args.device} ({url}); copy it to the device (0600) and start it with --config {out.name}")
    return 0


def cmd_mosquitto_config(args: argparse.Namespace) -> int:
    sys.stdout.write(mosquitto_config(args.port, bind=args.bind, persistence_dir=args.persistence))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hall", description="govhall: the government-service hall system")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    _add_server_parsers(sub)
    _add_lab_parsers(sub)
    _add_device_parsers(sub)
    _add_records_parsers(sub)
    _add_security_parsers(sub)
    return p


def _add_server_parsers(sub: argparse._SubParsersAction) -> None:
    """The hall server, and checking its config and its contract."""
    s = sub.add_parser("server", help="run the hall server")
    s.add_argument("--config", required=True)
    s.add_argument("--broker", help="override broker.url (mqtt://host:port or embedded)")
    s.add_argument("--embedded-port", type=int, default=1883, help="port of the embedded broker")
    s.add_argument("--database", help="override database.url")
    s.add_argument("--no-web", action="store_true", help="do not serve the dashboard")
    s.set_defaults(func=cmd_server)

    cc = sub.add_parser("check-config", help="validate a hall config file")
    cc.add_argument("file")
    cc.set_defaults(func=cmd_check_config)

    ct = sub.add_parser("contract", help="wire contract tools")
    ct.add_argument("--schemas", required=True, metavar="DIR", help="write one JSON Schema per message")
    ct.set_defaults(func=cmd_contract)


def _add_lab_parsers(sub: argparse._SubParsersAction) -> None:
    """The lab: the demo (and the soak), the benchmarks."""
    d = sub.add_parser("demo", help="run a whole hall on simulated time")
    d.add_argument("--headless", action="store_true", help="no windows, as fast as possible")
    d.add_argument("--hall", choices=("county", "small"), default="county",
                   help="county: a 31-window county 政务服务中心 (default); small: the tests' three windows")
    d.add_argument("--minutes", type=int, default=None,
                   help="simulated minutes from 09:00 (default: the county hall's day to 17:00, "
                   "the small hall's morning)")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--speed", type=float, default=120.0, help="simulated seconds per real second (default 120)")
    d.add_argument("--json", action="store_true", help="print one JSON object at the end (no dashboard)")
    d.add_argument("--screenshots", metavar="DIR", help="save every screen of the county hall at its real size "
                   "(kiosk, counter, tablet, hall screen, LED, dashboard pages) at 10:30 (or after --minutes)")
    d.add_argument("--exit", action="store_true", help="leave when the simulated day ends (default: stay up "
                   "with the dashboard and the devices until Ctrl-C)")
    d.add_argument("--http-port", type=int, default=8080, help="dashboard port (a free one if taken, or 0)")
    d.add_argument("--broker", help="use this broker (mqtt://host:port) instead of the embedded one")
    d.add_argument("--database", help="use this database URL instead of a temporary SQLite file")
    d.add_argument("--days", type=int, default=0,
                   help="with --headless: day after day for this many simulated days (a soak), books checked daily")
    d.add_argument("--faults", action="store_true",
                   help="with --days: restart the server or the broker, or drop a device's network, twice a day")
    d.set_defaults(func=cmd_demo)

    be = sub.add_parser("bench", help="benchmarks: `hall bench call` times a call to the LED, screen and voice; "
                                      "`hall bench reports` the reports over a year of history; "
                                      "`hall bench load` a big hall's devices at full speed")
    be.add_argument("what", choices=["call", "reports", "load"])
    be.add_argument("--seconds", type=float, default=20.0, help="load: seconds of each phase")
    be.add_argument("--rate", type=float, default=1000.0, help="load: commands per second of the paced phase")
    be.add_argument("--kiosks", type=int, default=20, help="load: simulated kiosks")
    be.add_argument("--windows", type=int, default=100,
                    help="load: windows (each with a counter, a rating tablet and an LED screen)")
    be.add_argument("--tickets", type=int, default=1_500_000, help="reports: tickets in the year")
    be.add_argument("--ratings", type=int, default=1_000_000, help="reports: ratings in the year")
    be.add_argument("--cases", type=int, default=300_000, help="reports: cases in the year")
    be.add_argument("--repeat", type=int, default=20, help="reports: runs of each report")
    be.add_argument("--calls", type=int, default=1000)
    be.add_argument("--database", help="a database URL (default: SQLite in a temporary folder)")
    be.add_argument("--json", action="store_true")
    be.set_defaults(func=cmd_bench)


def _device_parser(sub: argparse._SubParsersAction, name: str, help_text: str, func, *,   # noqa: ANN001
                   device: tuple[str | None, str], window: bool = False, screen_shots: str | None = None,
                   config_required: bool = False) -> argparse.ArgumentParser:
    """The options of every device program and bridge: --config, its --device (default, help),
    --broker; a window's --window; a screen's --fullscreen and --screenshots."""
    d = sub.add_parser(name, help=help_text)
    d.add_argument("--config", required=config_required)
    if window:
        d.add_argument("--window", help="the window's id or number")
    d.add_argument("--device", default=device[0], help=device[1])
    d.add_argument("--broker", help="override broker.url")
    if screen_shots is not None:
        d.add_argument("--fullscreen", action="store_true")
        d.add_argument("--screenshots", metavar="DIR", help=f"save {screen_shots} as PNG (runs a small hall inside)")
    d.set_defaults(func=func)
    return d


def _add_device_parsers(sub: argparse._SubParsersAction) -> None:
    """The device programs and the bridges to the hall's serial buses."""
    k = _device_parser(sub, "kiosk", "the ticket kiosk (取号机)", cmd_kiosk,
                       device=("kiosk-1", "this kiosk's device id"), screen_shots="every screen")
    k.add_argument("--printer", help="the ticket printer (overrides the device's printer in the config): "
                                     "/dev/ttyUSB0, serial:///dev/ttyS1?baudrate=19200, tcp://host:9100, usb://0416:5011")
    k.add_argument("--id-reader", help="the ID card reader: /dev/ttyUSB1 or a pyserial URL")
    k.add_argument("--no-voice", action="store_true", help="no spoken guidance in 适老化 mode")
    _device_parser(sub, "counter", "the counter terminal (窗口叫号终端)", cmd_counter, window=True,
                   device=(None, "this counter's device id (default: the counter of that window)"),
                   screen_shots="each state")
    sc = _device_parser(sub, "screen", "the hall screen (综合屏), optionally speaking the calls", cmd_screen,
                        device=("screen-1", "this screen's device id"), screen_shots="the screen")
    sc.add_argument("--voice", action="store_true", help="speak every call (语音叫号) through this machine's audio")
    sc.add_argument("--clips", help="the voice clip folder (default: screen.clips, else ~/.cache/govhall)")
    vo = _device_parser(sub, "voice", "speak every call (语音叫号); --build-clips makes the clips", cmd_voice,
                        device=("screen-1", "its own device id (role screen; not one a running screen uses)"))
    vo.add_argument("--clips", help="the voice clip folder")
    vo.add_argument("--build-clips", metavar="DIR", help="make the voice clips with espeak-ng into DIR")
    _device_parser(sub, "tablet", "the rating tablet of a window (评价器)", cmd_tablet, window=True,
                   device=(None, "this tablet's device id (default: the tablet of that window)"),
                   screen_shots="each screen")
    lb = _device_parser(sub, "led-bridge", "drive the window LED screens", cmd_led_bridge, config_required=True,
                        device=("led-bridge-1", "this bridge's device id"))
    lb.add_argument("--port", help="override led.port (pyserial URL or /dev/ttyUSB0)")
    kb = _device_parser(sub, "keypad-bridge", "the caller keypads (呼叫器) on their RS-485 bus", cmd_keypad_bridge,
                        config_required=True, device=("keypad-bridge-1", "this bridge's device id"))
    kb.add_argument("--port", help="override keypad.port (pyserial URL or /dev/ttyUSB1)")


def _add_records_parsers(sub: argparse._SubParsersAction) -> None:
    """The records: the ratings' and the audit log's hash chains."""
    ra = sub.add_parser("ratings", help="好差评: verify the hash chain, or export the records")
    ra.add_argument("action", choices=["verify", "export"])
    ra.add_argument("--config", required=True)
    ra.add_argument("--database", help="override database.url")
    ra.add_argument("--out", default="ratings.csv", help="export: a .csv or .xlsx file")
    ra.set_defaults(func=cmd_ratings)

    au = sub.add_parser("audit", help="审计日志: verify its hash chain")
    au.add_argument("action", choices=["verify"])
    au.add_argument("--config", required=True)
    au.add_argument("--database", help="override database.url")
    au.set_defaults(func=cmd_audit)


def _add_security_parsers(sub: argparse._SubParsersAction) -> None:
    """Passwords and the broker's accounts."""
    sp = sub.add_parser("staff-password", help="argon2 hash of a staff password, for password_hash in [[staff]]")
    sp.set_defaults(func=cmd_staff_password)

    bc = sub.add_parser("broker-config", help="Mosquitto config with a password and an ACL per device (security)")
    bc.add_argument("--config", required=True)
    bc.add_argument("--out", required=True, help="the folder for mosquitto.conf, acl and passwd")
    bc.add_argument("--port", type=int, default=1883)
    bc.add_argument("--bind", help="the plain listener's address (default: 127.0.0.1 with TLS, else 0.0.0.0)")
    bc.add_argument("--persistence", help="Mosquitto's persistence folder")
    bc.add_argument("--tls-cert")
    bc.add_argument("--tls-key")
    bc.add_argument("--tls-ca")
    bc.add_argument("--tls-port", type=int, default=8883)
    bc.add_argument("--tls-bind", default="0.0.0.0", help="the TLS listener's address (the devices')")
    bc.add_argument("--tls-generate", action="store_true",
                    help="make the hall's own CA (kept) and a new broker certificate in OUT/tls (rotation: run again)")
    bc.add_argument("--tls-host", action="append", help="a host name or address devices use for the broker (repeat)")
    bc.add_argument("--tls-new-ca", action="store_true", help="with --tls-generate: a new CA (re-provision devices)")
    bc.add_argument("--tls-ca-dir", help="where the CA's private key is kept, root only (default: OUT/../govhall-ca)")
    bc.set_defaults(func=cmd_broker_config)

    dc = sub.add_parser("device-config", help="one device's own file: its broker account, window and the broker's CA")
    dc.add_argument("--config", required=True, help="the hall's hall.toml")
    dc.add_argument("--device", required=True, help="the device's id")
    dc.add_argument("--out", required=True, help="the file to write (0600)")
    dc.add_argument("--broker", help="how the device reaches the broker (default: [broker] device_url)")
    dc.add_argument("--allow-plain", action="store_true", help="allow an unencrypted mqtt:// URL to another machine")
    dc.add_argument("--system-ca", action="store_true",
                    help="no [broker] ca: the device checks the broker against the system's CAs")
    dc.set_defaults(func=cmd_device_config)

    mc = sub.add_parser("mosquitto-config", help="print the project's open Mosquitto config (development)")
    mc.add_argument("--port", type=int, default=1883)
    mc.add_argument("--bind", default="127.0.0.1")
    mc.add_argument("--persistence", metavar="DIR", help="keep retained messages and sessions here")
    mc.set_defaults(func=cmd_mosquitto_config)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    _setup_logging(args.verbose)
    if args.command == "demo" and args.json:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:       # a missing tool or file: its message names the package
        log.debug("missing", exc_info=True)
        print(f"error: {exc.strerror + ': ' + str(exc.filename) if exc.filename else exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:              # Ctrl-C: whatever was started has been stopped on the way out
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
