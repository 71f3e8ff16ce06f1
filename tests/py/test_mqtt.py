"""MQTT against a real broker: build/tinybms-bridge --simulate publishing to a mosquitto this test
starts on a free loopback port (docs/mqtt.md has the topic tree).

Checked: topics and payloads (plausible, consistent with each other and with /api/status when the
HTTP server runs), Home Assistant discovery documents (valid JSON, required keys, retained),
alarms only on change, availability "online" and the last will "offline" after kill -9,
reconnection after a broker restart, and that 0x351 keeps its 1 s period in the CAN log while
the broker is gone."""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import paho.mqtt.client as mqtt
import pytest

from conftest import _binary, free_port, wait_for

ROOT_TOPIC = "victron/tinybms"
NODE = "tbvb-test"




class Broker:
    """mosquitto -c FILE on 127.0.0.1:port, anonymous, no persistence."""

    def __init__(self, tmp, port):
        self.port = port
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                             "persistence false\n")
        self.log = open(tmp / "mosquitto.log", "a")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=self.log,
                                     stderr=subprocess.STDOUT)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                return False
        assert wait_for(up, 5), "mosquitto did not start"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


class Subscriber:
    """paho client on '#' that keeps every message with its arrival time."""

    def __init__(self, port):
        self.msgs = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(client_id=f"test-{os.getpid()}-{time.monotonic_ns()}")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc: c.subscribe("#", 0)
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.msgs.append((time.monotonic(), msg.topic, msg.payload.decode(), msg.retain))

    def all(self, topic=None):
        with self.lock:
            return [m for m in self.msgs if topic is None or m[1] == topic]

    def last(self, topic):
        got = self.all(topic)
        return got[-1][2] if got else None

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def has_http():
    out = subprocess.run([str(_binary("tinybms-bridge")), "--help"], capture_output=True,
                         text=True, timeout=10).stdout
    return "--http" in out


class Bridge:
    def __init__(self, tmp, broker_port, interval_ms=1000, http_port=None, simulate="--simulate"):
        self.tmp = tmp
        self.can_log = tmp / "can.log"
        self.err = tmp / "bridge.err"
        cfg = {"mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker_port,
                        "client_id": NODE, "interval_ms": interval_ms, "keepalive_s": 5}}
        (tmp / "config.json").write_text(json.dumps(cfg))
        args = [str(_binary("tinybms-bridge")), simulate, "--can", f"log:{self.can_log}",
                "--config", str(tmp / "config.json"), "--data-dir", str(tmp)]
        if http_port is not None:
            args += ["--http", f"127.0.0.1:{http_port}"]
        elif has_http():
            args += ["--http", "off"]
        self.http_port = http_port
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(self.err, "w"))

    def stderr(self):
        return self.err.read_text()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


@pytest.fixture
def env(tmp_path):
    made = {}
    yield made
    for key in ("bridge", "sub", "broker"):
        obj = made.get(key)
        if obj is not None:
            (obj.stop if key != "sub" else obj.close)()


def num(text):
    return float(text)


SENSOR_UNITS = {  # object id -> (device_class, unit, state_class)
    "voltage": ("voltage", "V", "measurement"),
    "current": ("current", "A", "measurement"),
    "power": ("power", "W", "measurement"),
    "soc": ("battery", "%", "measurement"),
    "temperature": ("temperature", "\u00b0C", "measurement"),
    "cvl": ("voltage", "V", "measurement"),
    "cell_3": ("voltage", "mV", "measurement"),
    "energy_charged": ("energy", "kWh", "total_increasing"),
    "energy_discharged": ("energy", "kWh", "total_increasing"),
}


def test_topics_discovery_availability_and_last_will(tmp_path, env):
    port = free_port()
    env["broker"] = broker = Broker(tmp_path, port)
    broker.start()
    env["sub"] = sub = Subscriber(port)
    http_port = free_port() if has_http() else None
    env["bridge"] = bridge = Bridge(tmp_path, port, interval_ms=1000, http_port=http_port)

    assert wait_for(lambda: sub.last(f"{ROOT_TOPIC}/availability") == "online", 10), \
        bridge.stderr()
    assert wait_for(lambda: len(sub.all(f"{ROOT_TOPIC}/voltage")) >= 3, 10), bridge.stderr()

    # The values: plausible for the simulated 16S LFP pack, and consistent with each other.
    v = num(sub.last(f"{ROOT_TOPIC}/voltage"))
    i = num(sub.last(f"{ROOT_TOPIC}/current"))
    p = num(sub.last(f"{ROOT_TOPIC}/power_w"))
    soc = num(sub.last(f"{ROOT_TOPIC}/soc_percent"))
    assert 40.0 < v < 60.0 and 0.0 <= soc <= 100.0 and -500 < i < 500
    assert abs(p - v * i) <= max(1.0, abs(v * i) * 0.01)
    cells = {int(m[1].rsplit("/", 1)[1]): num(m[2]) for m in sub.all()
             if re.fullmatch(rf"{ROOT_TOPIC}/cells/\d+", m[1])}
    assert sorted(cells) == list(range(1, 17))
    assert all(2500 < mv < 3700 for mv in cells.values())
    assert num(sub.last(f"{ROOT_TOPIC}/cells/count")) == 16
    assert num(sub.last(f"{ROOT_TOPIC}/cells/min_mv")) <= num(sub.last(f"{ROOT_TOPIC}/cells/max_mv"))
    assert abs(sum(cells.values()) / 1000.0 - v) < 0.5
    assert 40.0 < num(sub.last(f"{ROOT_TOPIC}/limits/cvl_v")) < 60.0
    assert num(sub.last(f"{ROOT_TOPIC}/limits/ccl_a")) >= 0
    assert sub.last(f"{ROOT_TOPIC}/data_valid") == "true"
    assert sub.last(f"{ROOT_TOPIC}/data_state") == "valid"
    assert sub.last(f"{ROOT_TOPIC}/bms/status") in {"charging", "discharging", "idle",
                                                    "fully_charged", "sleep"}

    state = json.loads(sub.last(f"{ROOT_TOPIC}/state"))
    assert state["data_valid"] is True and state["data_state"] == "valid"
    assert abs(state["voltage"] - v) < 0.5 and len(state["cells"]) == 16
    assert state["limits"]["cvl_v"] == pytest.approx(num(sub.last(f"{ROOT_TOPIC}/limits/cvl_v")))
    if http_port is not None:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/status", timeout=5) as r:
            api = json.load(r)
        assert abs(api["voltage"] - state["voltage"]) < 0.5
        assert abs(api["soc_percent"] - state["soc_percent"]) < 1.0
        assert api["cell_count"] == state["cell_count"] == 16
        assert api["limits"]["cvl_v"] == pytest.approx(state["limits"]["cvl_v"], abs=0.5)

    # Discovery: valid JSON with the keys Home Assistant needs, retained.
    disc = {m[1]: m[2] for m in sub.all() if m[1].startswith("homeassistant/")}
    assert any(t.startswith(f"homeassistant/sensor/{NODE}/") for t in disc)
    assert any(t.startswith(f"homeassistant/binary_sensor/{NODE}/") for t in disc)
    unique = set()
    published = {m[1] for m in sub.all()}
    for topic, payload in disc.items():
        m = re.fullmatch(rf"homeassistant/(sensor|binary_sensor)/{NODE}/([A-Za-z0-9_-]+)/config",
                         topic)
        assert m, topic
        doc = json.loads(payload)
        for key in ("name", "unique_id", "state_topic", "availability", "device"):
            assert key in doc, (topic, key)
        assert doc["unique_id"] not in unique
        unique.add(doc["unique_id"])
        dev = doc["device"]
        assert dev["manufacturer"] == "tinybms-victron-bridge"
        assert dev["identifiers"] and dev["name"] and dev["model"] and dev["sw_version"]
        assert {"topic": f"{ROOT_TOPIC}/availability", "payload_available": "online",
                "payload_not_available": "offline"} in doc["availability"]
        assert doc["state_topic"] in published, doc["state_topic"]
        if m.group(1) == "sensor" and m.group(2) in SENSOR_UNITS:
            dc, unit, sc = SENSOR_UNITS[m.group(2)]
            assert (doc["device_class"], doc["unit_of_measurement"], doc["state_class"]) == \
                (dc, unit, sc), topic
    for obj in SENSOR_UNITS:
        assert f"homeassistant/sensor/{NODE}/{obj}/config" in disc, obj
    for obj in ("data_valid", "gx_link", "alarm", "alarm_high_voltage"):
        assert f"homeassistant/binary_sensor/{NODE}/{obj}/config" in disc, obj
    # One pack: its packs/1/ topics carry the battery's own values; no second device.
    assert sub.last(f"{ROOT_TOPIC}/packs/1/bank_state") == "online"
    assert sub.last(f"{ROOT_TOPIC}/packs/1/data_valid") == "true"
    assert abs(num(sub.last(f"{ROOT_TOPIC}/packs/1/voltage")) - v) < 0.5
    assert sub.last(f"{ROOT_TOPIC}/bank") is None
    assert not any("/pack1_" in t for t in disc)

    late = Subscriber(port)
    try:
        assert wait_for(lambda: any(m[1].startswith("homeassistant/") for m in late.all()), 5)
        assert all(m[3] for m in late.all() if m[1].startswith("homeassistant/"))
        assert late.last(f"{ROOT_TOPIC}/availability") == "online"
    finally:
        late.close()

    # Alarms go out when they change, not on every status: over several status periods each
    # alarm topic carried at most two messages (the simulated battery raises none).
    time.sleep(2.5)
    assert len(sub.all(f"{ROOT_TOPIC}/voltage")) >= 5
    alarm_topics = {m[1] for m in sub.all() if m[1].startswith(f"{ROOT_TOPIC}/alarms")}
    assert f"{ROOT_TOPIC}/alarms/high_voltage" in alarm_topics
    for t in alarm_topics:
        assert len(sub.all(t)) <= 2, (t, len(sub.all(t)))
    assert json.loads(sub.last(f"{ROOT_TOPIC}/alarms"))["worst"] == "ok"

    # kill -9: no goodbye, so the broker sends the last will.
    bridge.stop(signal.SIGKILL)
    assert wait_for(lambda: sub.last(f"{ROOT_TOPIC}/availability") == "offline", 10)


def can_351_times(path, t0, t1):
    """Wall-clock stamps of the 0x351 frames in a candump -L log between t0 and t1."""
    out = []
    for line in path.read_text().splitlines():
        m = re.match(r"\((\d+\.\d+)\) \S+ 351#", line)
        if m and t0 <= float(m.group(1)) <= t1:
            out.append(float(m.group(1)))
    return out


def test_reconnect_after_broker_restart_and_can_never_waits(tmp_path, env):
    port = free_port()
    env["broker"] = broker = Broker(tmp_path, port)
    broker.start()
    env["sub"] = sub = Subscriber(port)
    env["bridge"] = bridge = Bridge(tmp_path, port, interval_ms=1000)
    assert wait_for(lambda: sub.last(f"{ROOT_TOPIC}/availability") == "online", 10), \
        bridge.stderr()
    assert wait_for(lambda: sub.last(f"{ROOT_TOPIC}/voltage") is not None, 10)
    sub.close()
    env["sub"] = None

    # The broker goes away for 4.5 s: the bridge retries after 1 s and 3 s (both fail) and
    # reconnects at its 7 s attempt. Meanwhile 0x351 must keep its 1 s period.
    down_t0 = time.time()
    broker.stop()
    time.sleep(4.5)
    down_t1 = time.time()
    broker.start()
    env["sub"] = sub = Subscriber(port)
    assert wait_for(lambda: sub.last(f"{ROOT_TOPIC}/availability") == "online", 12), \
        bridge.stderr()
    assert wait_for(lambda: sub.last(f"{ROOT_TOPIC}/voltage") is not None, 5)

    stamps = can_351_times(bridge.can_log, down_t0, down_t1)
    assert len(stamps) >= 4, stamps
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    # The broker being down never holds the loop: no 0x351 gap reaches Victron's limit
    # (the schedule itself keeps them within 1.15 s; a blocking connect would add seconds).
    assert all(g < 1.5 for g in gaps), gaps

    assert bridge.stop() == 0
    err = bridge.stderr()
    assert "connection to 127.0.0.1" in err and "lost" in err
    # The failed attempts share one text: written once, then folded by the storm guard.
    lines = [ln for ln in err.splitlines() if "cannot connect to" in ln]
    written = [ln for ln in lines if "last message repeated" not in ln]
    folded = [ln for ln in lines if "last message repeated" in ln]
    assert len(written) == 1 and len(folded) == 1, lines
    assert err.count("MQTT: connected to") == 2, err


def _states_at_one_time(sub, topics):
    """The JSON of each topic from the same publication (same "ts"), the newest such."""
    by_ts = {}
    for t in topics:
        for m in sub.all(t):
            doc = json.loads(m[2])
            by_ts.setdefault(doc["ts"], {})[t] = doc
    common = [ts for ts, docs in by_ts.items() if len(docs) == len(topics)]
    assert common, "no publication carried every state topic"
    return by_ts[max(common)]


def test_two_packs_publish_each_pack_and_a_device_per_pack(tmp_path, env):
    port = free_port()
    env["broker"] = broker = Broker(tmp_path, port)
    broker.start()
    env["sub"] = sub = Subscriber(port)
    http_port = free_port() if has_http() else None
    env["bridge"] = bridge = Bridge(tmp_path, port, interval_ms=1000, http_port=http_port,
                                    simulate="--simulate=2")
    assert wait_for(lambda: all(len(sub.all(f"{ROOT_TOPIC}/packs/{n}/voltage")) >= 2
                                for n in (1, 2)), 15), bridge.stderr()

    for n in (1, 2):
        pre = f"{ROOT_TOPIC}/packs/{n}"
        assert sub.last(f"{pre}/name") == f"Pack {n}"
        assert sub.last(f"{pre}/bank_state") == "online"
        assert sub.last(f"{pre}/data_valid") == "true"
        assert sub.last(f"{pre}/member") == "true"
        assert sub.last(f"{pre}/blocks_charge") == "false"
        assert 40.0 < num(sub.last(f"{pre}/voltage")) < 60.0
        cells = {int(m[1].rsplit("/", 1)[1]) for m in sub.all()
                 if re.fullmatch(rf"{pre}/cells/\d+", m[1])}
        assert cells == set(range(1, 17))
        assert 0.0 <= num(sub.last(f"{pre}/limits/share_charge_percent")) <= 100.0
        assert num(sub.last(f"{pre}/limits/ccl_a")) >= 0
    # The battery is the bank: from one publication, its current is the packs' sum and its
    # voltage lies between theirs.
    states = _states_at_one_time(sub, [f"{ROOT_TOPIC}/state", f"{ROOT_TOPIC}/packs/1/state",
                                       f"{ROOT_TOPIC}/packs/2/state"])
    bank_doc = states[f"{ROOT_TOPIC}/state"]
    p1, p2 = states[f"{ROOT_TOPIC}/packs/1/state"], states[f"{ROOT_TOPIC}/packs/2/state"]
    assert abs(bank_doc["current"] - (p1["current"] + p2["current"])) < 0.01, (bank_doc, p1, p2)
    assert min(p1["voltage"], p2["voltage"]) - 0.01 <= bank_doc["voltage"] <= \
        max(p1["voltage"], p2["voltage"]) + 0.01
    assert len(p1["cells"]) == len(p2["cells"]) == 16
    bank = json.loads(sub.last(f"{ROOT_TOPIC}/bank"))
    assert bank["modules"]["online"] == 2 and bank["modules"]["offline"] == 0
    assert isinstance(bank["warnings"], list)
    assert bank["capacity_ah"] > 0
    if http_port is not None:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/status", timeout=5) as r:
            api = json.load(r)
        assert [p["name"] for p in api["packs"]] == ["Pack 1", "Pack 2"]
        assert api["bank"]["capacity_ah"] == pytest.approx(bank["capacity_ah"])

    # Discovery: the bridge's device as with one pack, plus one device per pack.
    disc = {m[1]: json.loads(m[2]) for m in sub.all() if m[1].startswith("homeassistant/")}
    uids = [d["unique_id"] for d in disc.values()]
    assert len(uids) == len(set(uids))
    bridge_ident = f"tinybms_victron_bridge_{NODE}"
    published = {m[1] for m in sub.all()}
    for n in (1, 2):
        for obj in ("voltage", "current", "soc", "ccl", "cell_16", "bank_state"):
            doc = disc[f"homeassistant/sensor/{NODE}/pack{n}_{obj}/config"]
            assert doc["device"]["identifiers"] == [f"{bridge_ident}_pack{n}"]
            assert doc["device"]["via_device"] == bridge_ident
            assert doc["device"]["name"].endswith(f"Pack {n}")
            assert doc["unique_id"] == f"{NODE}_pack{n}_{obj}"
            assert doc["state_topic"] in published, doc["state_topic"]
        for obj in ("data_valid", "blocks_charge", "blocks_discharge", "bounds_ccl"):
            assert f"homeassistant/binary_sensor/{NODE}/pack{n}_{obj}/config" in disc, obj
    assert disc[f"homeassistant/sensor/{NODE}/voltage/config"]["device"]["identifiers"] == \
        [bridge_ident]
    # Retained: a subscriber that comes later gets the pack devices and the pack states.
    late = Subscriber(port)
    try:
        assert wait_for(lambda: late.last(f"homeassistant/sensor/{NODE}/pack2_voltage/config")
                        is not None and late.last(f"{ROOT_TOPIC}/packs/2/bank_state") is not None, 5)
        for t in (f"homeassistant/sensor/{NODE}/pack2_voltage/config",
                  f"{ROOT_TOPIC}/packs/2/bank_state"):
            assert late.all(t)[0][3], t  # the broker's retained copy comes first
    finally:
        late.close()
    assert bridge.stop() == 0
