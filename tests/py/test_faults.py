"""Fault injection (issue 7, part 1): build/tinybms-bridge against peers that misbehave.

UART: a Python proxy on a socat pty pair sits between the bridge and build/tinybms-sim --pty.
It forwards the bridge's requests to the simulator and, on command from the test, answers with
garbage, a truncated frame, a bad CRC, a TinyBMS NACK (AA 00 <cmd> 00 <crc>) or nothing, then
passes the real answers again. Every answer it sends is stamped, so recovery is measured from the
moment the fault ends to the first good answer the bridge received and to the first CAN frame.
CAN: a candump -L log (`--can log:FILE`, wall-clock stamps), or slcan on a socat pty read by
python-can as a GX (test-peers.md) where the adapter itself must go away.

Also here: the serial device and the slcan adapter disappearing and coming back on the same
path, kill -9 during POST /api/settings (the file is always the old or the new document), and
a storage write failure (RLIMIT_FSIZE on the running bridge with SIGXFSZ ignored: the write of
the temporary file fails with EFBIG, a real write error on any filesystem, as root or not).
The MQTT broker going down and up is covered by
test_mqtt.py::test_reconnect_after_broker_restart_and_can_never_waits.

Timing of the rig (config written by these tests): poll_interval_ms 100 (the default),
hardware.uart.timeout_ms 100 (a pty answers in a few ms; one timeout then fits in a poll
period), bms_timeout_ms 1000 (the minimum, to keep the stale windows short).
Run with TBVB_BUILD=build/asan to get the same faults under ASan/UBSan/LSan: every bridge stop
checks the exit status (LSan makes it non-zero) and stderr for sanitizer reports."""
import base64
import json
import os
import random
import re
import resource
import select
import signal
import subprocess
import threading
import time
import tty
import urllib.error
import urllib.request

import can
import pytest

from conftest import _binary, free_port, terminate, wait_for
from test_bridge_e2e import Gx, SocatPair

POLL_S = 0.100
BMS_TIMEOUT_S = 1.0
REOPEN_S = 1.0  # the bridge retries a lost UART and a lost slcan tty once a second
USER, PASSWORD = "admin", "fault-pass-123"
MARGIN_S = 0.10  # scheduling slack on a loaded 2-core machine, on top of each bound
# Victron drops a BMS whose 0x351 stops for a few seconds; the bridge's own schedule keeps
# every gap within 1 s + its 150 ms fast window (BRG_FAST_WINDOW_US). What a test can hold
# whatever the machine's load is the requirement, not the schedule's exact figure.
MAX_351_GAP_S = 1.5


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body):
    c = crc16(body)
    return bytes(body) + bytes([c & 0xFF, c >> 8])


def open_raw(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    return fd


class FaultProxy:
    """Bridge <-> proxy (socat pty) <-> tinybms-sim. mode decides what each answer becomes."""

    MODES = ("pass", "garbage", "truncated", "badcrc", "nack", "silent")

    def __init__(self, bridge_side, sim_path):
        self.fb = open_raw(bridge_side)
        self.fs = open_raw(sim_path)
        self.mode = "pass"
        self.lock = threading.Lock()
        self.answers = []  # (time, mode, bytes sent)
        self.garbage_sent = 0
        self.rng = random.Random(7)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def set_mode(self, mode):
        assert mode in self.MODES
        with self.lock:
            self.mode = mode
            return time.time()

    def count(self, mode, t0=0.0):
        with self.lock:
            return sum(1 for t, m, _ in self.answers if m == mode and t >= t0)

    def first_good_after(self, t0):
        with self.lock:
            return next((t for t, m, _ in self.answers if m == "pass" and t >= t0), None)

    @staticmethod
    def _take_frame(buf):
        """One complete TinyBMS answer from the head of buf, or None (resyncs on 0xAA)."""
        while buf and buf[0] != 0xAA:
            del buf[0]
        if len(buf) < 3:
            return None
        cmd = buf[1]
        if cmd == 0x03:
            n = 3 + buf[2] + 2
        elif cmd == 0x10:
            n = 8
        elif cmd == 0x00:
            n = 6
        else:
            n = len(buf)
        if len(buf) < n:
            return None
        frame = bytes(buf[:n])
        del buf[:n]
        return frame

    def _answer(self, frame):
        with self.lock:
            mode = self.mode
            if mode == "pass":
                out = frame
            elif mode == "garbage":
                out = bytes(self.rng.choice([b for b in range(256) if b != 0xAA])
                            for _ in range(24))
                self.garbage_sent += len(out)
            elif mode == "truncated":
                out = frame[: len(frame) // 2]
            elif mode == "badcrc":
                out = frame[:-1] + bytes([frame[-1] ^ 0x5A])
            elif mode == "nack":
                out = with_crc([0xAA, 0x00, frame[1], 0x00])
            else:
                out = b""
            self.answers.append((time.time(), mode, len(out)))
        if out:
            os.write(self.fb, out)

    def _run(self):
        buf = bytearray()
        while self.running:
            try:
                r, _, _ = select.select([self.fb, self.fs], [], [], 0.05)
                if self.fb in r:
                    data = os.read(self.fb, 4096)
                    if data:
                        os.write(self.fs, data)
                if self.fs in r:
                    buf += os.read(self.fs, 4096)
                    while (frame := self._take_frame(buf)) is not None:
                        self._answer(frame)
            except OSError:
                time.sleep(0.02)  # a side went away (device test): wait to be stopped

    def stop(self):
        self.running = False
        self.thread.join(2)
        for fd in (self.fb, self.fs):
            try:
                os.close(fd)
            except OSError:
                pass


class Bridge:
    """build/tinybms-bridge with a JSON config, optional HTTP, stdout/stderr to files."""

    def __init__(self, tmp, args, config=None, http=True, preexec_fn=None, name="bridge"):
        self.dir = tmp / name
        self.dir.mkdir(exist_ok=True)
        self.config = self.dir / "config.json"
        cfg = {"tinybms": {"bms_timeout_ms": int(BMS_TIMEOUT_S * 1000), "poll_interval_ms": 100},
               "hardware": {"uart": {"timeout_ms": 100}},
               "logging": {"file_size_kb": 0},
               "web_server": {"username": USER, "password": PASSWORD}}
        for section, values in (config or {}).items():
            cfg.setdefault(section, {}).update(values)
        if not self.config.exists():
            self.config.write_text(json.dumps(cfg))
        self.port = free_port() if http else None
        self.args = [str(_binary("tinybms-bridge")), *args, "--data-dir", str(self.dir),
                     "--config", str(self.config), "--http",
                     f"127.0.0.1:{self.port}" if http else "off"]
        self.preexec_fn = preexec_fn
        self.proc = None

    def start(self):
        self.out = open(self.dir / "stdout.log", "a")
        self.err = open(self.dir / "stderr.log", "a")
        self.proc = subprocess.Popen(self.args, stdout=self.out, stderr=self.err,
                                     preexec_fn=self.preexec_fn)
        return self

    def wait_http(self, timeout=10):
        assert wait_for(lambda: self.proc.poll() is None and self._up(), timeout, 0.02), \
            self.stderr()[-2000:]

    def _up(self):
        try:
            return self.request("GET", "/api/settings")[0] == 200
        except OSError:
            return False

    def kill9(self):
        self.proc.kill()
        self.proc.wait(5)
        self._close_files()

    def stop(self):
        """SIGTERM; returns the exit status. Fails on any sanitizer report."""
        if self.proc is None:
            return None
        terminate(self.proc)
        self._close_files()
        err = self.stderr()
        assert "Sanitizer" not in err and "runtime error:" not in err, err[-4000:]
        return self.proc.returncode

    def _close_files(self):
        for f in (self.out, self.err):
            if not f.closed:
                f.close()

    def stderr(self):
        return (self.dir / "stderr.log").read_text(errors="replace")

    def summary(self):
        lines = [ln for ln in (self.dir / "stdout.log").read_text().splitlines()
                 if ln.startswith("summary ")]
        assert lines, "no summary line"
        return {k: v for k, v in (w.split("=", 1) for w in lines[-1].split()[1:])}

    def request(self, method, path, body=None, auth=True, timeout=5):
        h = {}
        if auth:
            h["Authorization"] = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


class QuickGx(Gx):
    """Gx (test_bridge_e2e) without python-can's 2 s sleep after opening the tty, so the time
    a frame arrives is the time the bridge sent it, not the end of that sleep."""

    def __init__(self, port):
        self.bus = can.interface.Bus(interface="slcan", channel=port, bitrate=500000,
                                     sleep_after_open=0)
        self.frames = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._rx, daemon=True)
        self.thread.start()


def can_log(path):
    """(wall time, id) of every frame in a candump -L log."""
    out = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        m = re.match(r"\((\d+\.\d+)\) \S+ ([0-9A-F]{3})#", line)
        if m:
            out.append((float(m.group(1)), int(m.group(2), 16)))
    return out


@pytest.fixture
def cleanup():
    fns = []
    yield fns
    for fn in reversed(fns):
        try:
            fn()
        except Exception:  # noqa: BLE001 - teardown goes on
            pass


def start_rig(tmp_path, tinybms_sim, cleanup, log_name="can.log"):
    sim = tinybms_sim("--no-sleep")
    pair = SocatPair(tmp_path, "uart")
    cleanup.append(pair.close)
    proxy = FaultProxy(pair.b, sim.path)
    cleanup.append(proxy.stop)
    log = tmp_path / log_name
    bridge = Bridge(tmp_path, ["--uart", pair.a, "--can", f"log:{log}"], http=False).start()
    cleanup.append(bridge.stop)
    assert wait_for(lambda: sum(1 for _, i in can_log(log) if i == 0x351) >= 2, 10), \
        bridge.stderr()
    return sim, pair, proxy, bridge, log


def check_stale_window(log, t_fault, t_end, label):
    """Frames may continue on the last good data for bms_timeout, then none until t_end."""
    frames = can_log(log)
    during = [t for t, _ in frames if t_fault + BMS_TIMEOUT_S + MARGIN_S < t < t_end]
    assert not during, f"{label}: {len(during)} battery frames sent on stale data"
    last = max(t for t, _ in frames if t < t_end)
    assert last - t_fault <= BMS_TIMEOUT_S + MARGIN_S, \
        f"{label}: frames went on {last - t_fault:.3f} s into the fault"


FAULTS = {
    # mode: (summary counter that must equal the number of mangled answers, exact?)
    "garbage": ("uart_timeouts", False),
    "truncated": ("uart_timeouts", False),
    "badcrc": ("uart_crc_errors", True),
    "nack": ("uart_nacks", True),
    "silent": ("uart_timeouts", False),
}


@pytest.mark.parametrize("mode", list(FAULTS))
def test_uart_fault_stops_frames_counts_and_recovers(mode, tmp_path, tinybms_sim, cleanup):
    sim, pair, proxy, bridge, log = start_rig(tmp_path, tinybms_sim, cleanup)
    time.sleep(0.3)
    t0 = proxy.set_mode(mode)
    time.sleep(BMS_TIMEOUT_S + 0.8)  # stale for ~0.8 s
    t1 = proxy.set_mode("pass")
    assert wait_for(lambda: any(t > t1 for t, _ in can_log(log)), 3), bridge.stderr()[-2000:]
    t_uart = proxy.first_good_after(t1)
    t_can = min(t for t, i in can_log(log) if t > t1 and i == 0x351)
    time.sleep(0.3)
    assert bridge.stop() == 0
    s = bridge.summary()
    check_stale_window(log, t0, t1, mode)
    mangled = proxy.count(mode)
    counter, exact = FAULTS[mode]
    got = int(s[counter])
    print(f"\n{mode}: mangled answers {mangled}, {counter}={got}, failures={s['uart_failures']}, "
          f"retries={s['uart_retries']}, timeouts={s['uart_timeouts']}, "
          f"garbage_bytes={s['uart_garbage_bytes']} "
          f"(sent {proxy.garbage_sent}), stale_events={s['stale_events']}, "
          f"recovery uart {1000 * (t_uart - t1):.0f} ms, first 0x351 {1000 * (t_can - t1):.0f} ms")
    assert mangled >= 8, "the fault hit too few answers to mean anything"
    if exact:
        # Every mangled answer the bridge receives counts once, whatever its data holds: the
        # parser does not count again a false start inside a frame it rejected (an answer
        # whose data held AA 00, a NACK header, once counted two CRC errors). Only an attempt
        # that timed out (a loaded machine, over timeout_ms) can lose its late answer to the
        # resend's flush, or leave a cut tail whose false start counts: one per timeout.
        timeouts = int(s["uart_timeouts"])
        assert mangled - timeouts <= got <= mangled + timeouts, (counter, got, mangled, timeouts)
    else:  # one timeout per lost answer; a slow good answer on a loaded machine may add one
        assert mangled <= got <= mangled + 2, (counter, got, mangled)
    if mode == "garbage":
        assert int(s["uart_garbage_bytes"]) == proxy.garbage_sent
    assert int(s["uart_failures"]) >= mangled // 3 - 1
    assert int(s["stale_events"]) == 1 and s["state"] == "valid"
    assert int(s["decode_errors"]) == 0
    # Recovery: a good answer within two poll periods of the end of the fault, and the
    # battery frames resume with it (the bridge sends every frame at once on valid data).
    assert t_uart - t1 <= 2 * POLL_S + MARGIN_S, f"uart recovery {t_uart - t1:.3f} s"
    assert t_can - t_uart <= MARGIN_S, f"0x351 {t_can - t_uart:.3f} s after the good answer"


def test_short_fault_below_bms_timeout_keeps_frames_going(tmp_path, tinybms_sim, cleanup):
    """A NACK burst shorter than bms_timeout: counted, but the battery frames never stop."""
    sim, pair, proxy, bridge, log = start_rig(tmp_path, tinybms_sim, cleanup)
    time.sleep(0.3)
    t0 = proxy.set_mode("nack")
    time.sleep(0.4)
    t1 = proxy.set_mode("pass")
    time.sleep(1.5)
    assert bridge.stop() == 0
    s = bridge.summary()
    stamps = [t for t, i in can_log(log) if i == 0x351 and t0 - 1.5 < t < t1 + 1.5]
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert gaps and max(gaps) < MAX_351_GAP_S, gaps
    # Exact unless an attempt timed out (a loaded machine): a NACK that comes after its
    # attempt's timeout is flushed with the resend and not counted (as in the test above).
    nacks, sent, timeouts = int(s["uart_nacks"]), proxy.count("nack"), int(s["uart_timeouts"])
    assert sent > 0 and sent - timeouts <= nacks <= sent, (nacks, sent, timeouts)
    assert int(s["stale_events"]) == 0


def test_serial_device_disappears_and_comes_back(tmp_path, tinybms_sim, cleanup):
    sim, pair, proxy, bridge, log = start_rig(tmp_path, tinybms_sim, cleanup)
    time.sleep(0.3)
    t0 = time.time()
    proxy.stop()
    pair.close()  # SIGTERM: socat removes both links, like an unplugged USB-UART
    assert wait_for(lambda: not os.path.exists(pair.a), 3)
    time.sleep(BMS_TIMEOUT_S + 0.8)
    pair2 = SocatPair(tmp_path, "uart")  # same link paths
    cleanup.append(pair2.close)
    proxy2 = FaultProxy(pair2.b, sim.path)
    cleanup.append(proxy2.stop)
    t1 = time.time()
    assert wait_for(lambda: proxy2.first_good_after(t1) is not None, REOPEN_S + 3), \
        bridge.stderr()[-2000:]
    t_uart = proxy2.first_good_after(t1)
    assert wait_for(lambda: any(t > t1 and i == 0x351 for t, i in can_log(log)), 2)
    t_can = min(t for t, i in can_log(log) if t > t1 and i == 0x351)
    time.sleep(0.3)
    assert bridge.stop() == 0
    s = bridge.summary()
    err = bridge.stderr()
    check_stale_window(log, t0, t1, "device gone")
    print(f"\nserial device back: uart recovery {1000 * (t_uart - t1):.0f} ms, first 0x351 "
          f"{1000 * (t_can - t1):.0f} ms; stale_events={s['stale_events']}")
    assert "TinyBMS UART lost" in err and "open again" in err
    assert int(s["stale_events"]) == 1 and s["state"] == "valid"
    # The bridge retries the open once a second: back within one retry plus two polls.
    assert t_uart - t1 <= REOPEN_S + 2 * POLL_S + MARGIN_S
    assert t_can - t_uart <= MARGIN_S


def test_slcan_adapter_disappears_and_comes_back(tmp_path, tinybms_sim, cleanup):
    sim = tinybms_sim("--no-sleep")
    canpair = SocatPair(tmp_path, "can")
    cleanup.append(canpair.close)
    bridge = Bridge(tmp_path, ["--uart", sim.path, "--can", "slcan:" + canpair.a]).start()
    cleanup.append(bridge.stop)
    gx = QuickGx(canpair.b)
    cleanup.append(gx.close)
    assert wait_for(lambda: len(gx.times(0x351)) >= 2, 10), bridge.stderr()
    gx.close()
    canpair.close()
    t0 = time.time()
    assert wait_for(lambda: "CAN interface disconnected" in bridge.stderr(), 3)
    time.sleep(1.0)
    t1 = time.monotonic()
    canpair2 = SocatPair(tmp_path, "can")  # same link paths
    cleanup.append(canpair2.close)
    gx2 = QuickGx(canpair2.b)
    cleanup.append(gx2.close)
    assert wait_for(lambda: len(gx2.times(0x351)) >= 3, REOPEN_S + 4), bridge.stderr()[-2000:]
    back = gx2.times(0x351)[0] - t1
    gaps = [b - a for a, b in zip(gx2.times(0x351), gx2.times(0x351)[1:])]
    code, st = bridge.request("GET", "/api/status", auth=False)
    assert bridge.stop() == 0
    s = bridge.summary()
    print(f"\nslcan back: first 0x351 {1000 * back:.0f} ms after the adapter returned; "
          f"reconnects={st['stats']['can']['reconnects']} can_drops={s['can_drops']} "
          f"gaps={[round(g, 3) for g in gaps]}")
    assert code == 200 and st["stats"]["can"]["connected"] is True
    assert st["stats"]["can"]["reconnects"] >= 1
    assert "CAN interface connected" in bridge.stderr()
    assert back <= REOPEN_S + 1.0 + MARGIN_S  # one retry, then the next 1 s slot of 0x351
    assert all(g < MAX_351_GAP_S for g in gaps), gaps
    assert int(s["stale_events"]) == 0  # the UART side never noticed
    assert 0x305 not in gx2.ids() and 0x307 not in gx2.ids()


def test_kill9_during_settings_save_leaves_old_or_new_file(tmp_path, cleanup):
    """POST /api/settings in a tight loop, kill -9 at a random moment, 20 times: the file is
    valid JSON holding either the last acknowledged value or the one being saved."""
    rng = random.Random(11)
    b = Bridge(tmp_path, ["--simulate", "--can", "log:/dev/null"])
    cleanup.append(b.stop)
    key = ("victron", "thresholds", "overtemp_c")
    reference = None
    acked = None
    saves = 0
    for it in range(20):
        b.start()
        b.wait_http()
        state = {"acked": acked, "inflight": None, "run": True, "n": 0}

        def hammer():
            v = 40 + (it % 5)
            while state["run"]:
                v = 40 + (v - 39) % 20
                state["inflight"] = v
                try:
                    code, _ = b.request("POST", "/api/settings",
                                        {key[0]: {key[1]: {key[2]: v}}}, timeout=2)
                except (OSError, ValueError):
                    return  # the bridge died under us
                if code == 200:
                    state["acked"] = v
                    state["n"] += 1

        th = threading.Thread(target=hammer, daemon=True)
        th.start()
        time.sleep(0.05 + rng.random() * 0.25)
        b.kill9()
        state["run"] = False
        th.join(5)
        saves += state["n"]
        text = b.config.read_text()
        doc = json.loads(text)  # valid JSON, or this raises
        value = doc[key[0]][key[1]][key[2]]
        assert value in (state["acked"], state["inflight"]), (it, value, state)
        acked = value
        # Everything but the key is the document the bridge wrote before.
        doc[key[0]][key[1]][key[2]] = None
        if reference is None and state["n"] > 0:
            reference = doc
        elif reference is not None:
            assert doc == reference, it
    assert saves >= 20, f"only {saves} saves acknowledged in 20 runs: the loop did not hammer"
    leftovers = [p.name for p in b.dir.iterdir() if p.name.startswith(".config.json.")]
    print(f"\nkill -9 x20: {saves} saves acknowledged, file always old or new; "
          f"temporary files left by the kills: {len(leftovers)}")
    b.start()  # the surviving file loads
    b.wait_http()
    assert b.request("GET", "/api/settings", auth=False)[1][key[0]][key[1]][key[2]] == acked
    # ... and the temporary files the kills left behind are cleaned up at start
    assert not [p.name for p in b.dir.iterdir() if p.name.startswith(".config.json.")]
    assert b.stop() == 0


def test_storage_write_failure_answers_500_and_keeps_config_consistent(tmp_path, cleanup):
    def ignore_xfsz():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited across exec

    b = Bridge(tmp_path, ["--simulate", "--can", "log:/dev/null"], preexec_fn=ignore_xfsz)
    cleanup.append(b.stop)
    b.start()
    b.wait_http()
    before = b.config.read_bytes()
    old = b.request("GET", "/api/settings", auth=False)[1]
    soft, hard = resource.prlimit(b.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(b.proc.pid, resource.RLIMIT_FSIZE, (64, hard))
    try:
        code, doc = b.request("POST", "/api/settings", {"victron": {"thresholds":
                                                                    {"overtemp_c": 47}}})
    finally:
        resource.prlimit(b.proc.pid, resource.RLIMIT_FSIZE, (soft, hard))
    print(f"\nsave under RLIMIT_FSIZE=64: {code} {doc}")
    assert code == 500 and doc["success"] is False
    assert "too large" in doc["error"].lower() and "unchanged" in doc["error"]
    assert b.config.read_bytes() == before
    assert b.request("GET", "/api/settings", auth=False)[1] == old
    assert not [p for p in b.dir.iterdir() if p.name.startswith(".config.json.")]
    # Storage back: the same request goes through, file and running config agree.
    code, doc = b.request("POST", "/api/settings", {"victron": {"thresholds": {"overtemp_c": 47}}})
    assert code == 200, doc
    now = b.request("GET", "/api/settings", auth=False)[1]
    assert now["victron"]["thresholds"]["overtemp_c"] == 47
    assert json.loads(b.config.read_text())["victron"]["thresholds"]["overtemp_c"] == 47
    assert b.stop() == 0
