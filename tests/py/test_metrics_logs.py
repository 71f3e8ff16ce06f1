"""Metrics, diagnostics, logs and systemd notification of build/tinybms-bridge --simulate.

GET /metrics is parsed line by line against the Prometheus text format 0.0.4 when the HTTP
server serves it (else skipped, with the reason; tests/unit/test_metrics.c checks the text
itself). The rotating log file set is checked for its size cap and for surviving a restart, and
the sd_notify messages (READY=1, WATCHDOG=1, STOPPING=1) through a NOTIFY_SOCKET of our own."""
import json
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BUILD, _binary, free_port, wait_for

ISO_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (ERROR|WARN |INFO |DEBUG) ")




def has_http():
    out = subprocess.run([str(_binary("tinybms-bridge")), "--help"], capture_output=True,
                         text=True, timeout=10).stdout
    return "--http" in out


def run_bridge(tmp, cfg, *extra, duration=None, env=None):
    (tmp / "config.json").write_text(json.dumps(cfg))
    args = [str(_binary("tinybms-bridge")), "--simulate", "--can", f"log:{tmp / 'can.log'}",
            "--config", str(tmp / "config.json"), "--data-dir", str(tmp), *extra]
    if duration is not None:
        args += ["--duration", str(duration)]
    if has_http() and "--http" not in extra:
        args += ["--http", "off"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(tmp / "err.txt", "a"),
                            env=env)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({METRIC_NAME})(\{{{LABEL}(?:,{LABEL})*\}})? "
                    r"(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|[+-]Inf)$")


def parse_exposition(text):
    """Checks every line of a 0.0.4 text; returns {name: [(labels, value)]} and the types."""
    assert text.endswith("\n")
    types, helps, samples = {}, {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert re.fullmatch(METRIC_NAME, name) and name not in helps, line
            helps[name] = True
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"gauge", "counter", "untyped", "summary", "histogram"}, line
            assert name not in types and name not in samples, line  # TYPE before samples
            types[name] = kind
        else:
            m = SAMPLE.match(line)
            assert m, f"not a valid sample line: {line!r}"
            name = m.group(1)
            assert name in types, f"sample without TYPE: {line!r}"
            if types[name] == "counter":
                assert name.endswith("_total") and float(m.group(3)) >= 0, line
            samples.setdefault(name, []).append((m.group(2) or "", float(m.group(3))))
    return samples, types


@pytest.fixture
def http_bridge(tmp_path):
    if not has_http():
        pytest.skip("this build has no HTTP server (--http)")
    port = free_port()
    proc = run_bridge(tmp_path, {}, "--http", f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return get(base + "/api/status")[0] == 200
        except OSError:
            return False
    assert wait_for(ready, 10), (tmp_path / "err.txt").read_text()
    time.sleep(2.5)  # a few status, metrics and diagnostics publications
    yield base
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def test_metrics_endpoint_is_valid_exposition_with_key_metrics(http_bridge):
    status, ctype, text = get(http_bridge + "/metrics")
    if status == 404:
        pytest.skip("GET /metrics is not served by the HTTP server yet (it answers 404); the "
                    "loop publishes HUB_DOC_METRICS and tests/unit/test_metrics.c checks the text")
    assert status == 200, text
    assert ctype.startswith("text/plain") and "0.0.4" in ctype, ctype
    samples, types = parse_exposition(text)
    for name in ("tinybms_up", "tinybms_data_valid", "tinybms_pack_voltage_volts",
                 "tinybms_pack_current_amperes", "tinybms_state_of_charge_percent",
                 "tinybms_cell_voltage_volts", "tinybms_charge_voltage_limit_volts",
                 "tinybms_alarm_level", "tinybms_uart_polls_total",
                 "tinybms_can_frames_sent_total", "tinybms_loop_lag_max_seconds",
                 "process_resident_memory_bytes", "process_open_fds"):
        assert name in samples, name
    assert samples["tinybms_data_valid"] == [("", 1.0)]
    assert 40 < samples["tinybms_pack_voltage_volts"][0][1] < 60
    cells = dict(samples["tinybms_cell_voltage_volts"])
    assert len(cells) == 16 and '{cell="3"}' in cells and 2.5 < cells['{cell="3"}'] < 3.7
    assert any(lbl == '{condition="high_voltage"}' for lbl, _ in samples["tinybms_alarm_level"])
    assert samples["tinybms_uart_polls_total"][0][1] > 0
    assert samples["tinybms_can_frames_sent_total"][0][1] > 0
    assert types["tinybms_uart_polls_total"] == "counter"


def test_diagnostics_document(http_bridge):
    status, _, text = get(http_bridge + "/api/diagnostics")
    assert status == 200, text
    d = json.loads(text)
    if "process" not in d:
        pytest.skip("the HTTP server does not serve the loop's diagnostics document")
    assert d["version"] and d["uptime_ms"] > 1000
    assert d["process"]["rss_bytes"] > 1_000_000 and d["process"]["open_fds"] >= 3
    assert d["loop"]["iterations"] > 10
    assert set(d["loop"]["lag_ms"]) >= {"last", "max", "avg"}
    assert d["loop"]["lag_ms"]["max"] < 1000
    assert d["watchdog"]["stall_limit_ms"] > 0 and d["watchdog"]["stalled"] is False
    mods = d["modules"]
    assert mods["uart"]["polls"] > 0 and mods["can"]["tx_count"] > 0
    assert mods["mqtt"]["enabled"] is False
    assert mods["log"]["infos"] > 0
    assert isinstance(d["last_errors"], list)
    assert d["data"]["data_valid"] is True


def test_log_file_rotation_caps_the_size(tmp_path):
    cfg = {"logging": {"log_level": "DEBUG", "log_uart_traffic": True, "file_size_kb": 1,
                       "files": 3}}
    proc = run_bridge(tmp_path, cfg, duration=3)
    assert proc.wait(15) == 0, (tmp_path / "err.txt").read_text()[-2000:]
    files = sorted(p.name for p in tmp_path.glob("bridge.log*"))
    assert files == ["bridge.log", "bridge.log.1", "bridge.log.2"], files
    for name in files:
        data = (tmp_path / name).read_text()
        assert 0 < len(data.encode()) <= 1024, (name, len(data.encode()))
        assert all(ISO_LINE.match(ln) for ln in data.splitlines()), name
        if name != "bridge.log":  # rotated: full up to less than one more line
            longest = max(len(ln.encode()) + 1 for ln in data.splitlines())
            assert len(data.encode()) > 1024 - 600 and longest < 600, (name, len(data))
    # The newest file holds the end of the run; stderr had every line too.
    assert "stopping" in (tmp_path / "bridge.log").read_text()
    assert (tmp_path / "err.txt").read_text().count("uart tx") > 30


def test_log_file_survives_a_restart(tmp_path):
    for _ in range(2):
        proc = run_bridge(tmp_path, {}, duration=0.5)
        assert proc.wait(15) == 0
    text = (tmp_path / "bridge.log").read_text()
    assert text.count("bridge running") == 2
    assert all(ISO_LINE.match(ln) for ln in text.splitlines())


def test_log_file_can_be_turned_off(tmp_path):
    proc = run_bridge(tmp_path, {"logging": {"file_size_kb": 0}}, duration=0.3)
    assert proc.wait(15) == 0
    assert not list(tmp_path.glob("bridge.log*"))


def systemd_built():
    cache = BUILD / "CMakeCache.txt"
    return cache.exists() and "SYSTEMD_FOUND:INTERNAL=1" in cache.read_text()


def test_sd_notify_ready_watchdog_stopping(tmp_path):
    if not systemd_built():
        pytest.skip("built without libsystemd (TBVB_HAVE_SYSTEMD): sd_notify is compiled out")
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}
    proc = run_bridge(tmp_path, {}, duration=5, env=env)
    got = []
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            got.append((time.monotonic(), sock.recv(4096).decode()))
        except socket.timeout:
            if proc.poll() is not None:
                break
    sock.close()
    assert proc.wait(10) == 0
    texts = [t for _, t in got]
    assert texts and texts[0].startswith("READY=1"), texts
    pings = [t for t, m in got if m == "WATCHDOG=1"]
    assert len(pings) >= 3, texts  # every 1 s (half of WATCHDOG_USEC) over 5 s
    # Each ping before systemd's deadline (WATCHDOG_USEC), the relation that matters.
    assert all(b - a < 2.0 for a, b in zip(pings, pings[1:])), pings
    assert texts[-1] == "STOPPING=1", texts
