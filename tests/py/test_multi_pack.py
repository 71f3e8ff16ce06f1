"""Several TinyBMS packs as one Victron battery (issue 12, multi-pack.md, core/include/bank.h),
end to end between real peers.

UART: one pymodbus TinyBMS stand-in per pack (peers/modbus_tinybms.py --control), each on its
own socat pty pair, whose registers the test changes while the bridge reads them, and which can
go silent (requests read and dropped, the pty stays). The bridge gets one --uart per pack.
CAN: slcan on another socat pty pair, read by python-can as the GX. The frames are decoded here
from the byte layout of victron-can-bms.md A.2/A.3, and the CAN frames are what is asserted:
they are what the GX sees.

The expected limits come from bank_limit_ma() below: the rule of bank.h ("Limits") written out
again in Python, in the core's integer arithmetic (C division truncates toward zero), and the
figures of each scenario are also worked out by hand in the comments.

Rig timing (the config written here): poll_interval_ms 100, uart timeout_ms 100,
bms_timeout_ms 1000 (a pack is not fresh one second after its last valid read), settings
re-read every second, 0x351..0x35A every 200 ms, the detail frames (0x372..0x379) every 200 ms.
The CCL hold and ramp are off (cvl.current_hold_s 0, current_ramp_a_per_s 0) unless a test is
about them, so that a limit that may rise rises on the next step. Nothing here asserts how fast
something happens: conditions are waited for with generous timeouts; the only time relations
asserted are lower bounds (a pack is not counted again before its hold has passed since it
became fresh again) and the GX's own requirement that 0x351 never stops for 3 s while a pack
is still online (victron-can-bms.md A.6: "351 message must be sent at least every 3
seconds")."""
import select
import struct
import subprocess
import sys
import threading
import time

import can
import pytest

from conftest import BUILD, ROOT, wait_for
from test_bridge_e2e import Gx, SocatPair
from test_faults import Bridge

PEER = ROOT / "tests" / "py" / "peers" / "modbus_tinybms.py"
sys.path.insert(0, str(PEER.parent))
from modbus_tinybms import f32_words, register_image, u32_words  # noqa: E402

BMS_TIMEOUT_MS = 1000
CELLS = 16
GX_MAX_GAP_S = 3.0  # the GX drops a BMS whose 0x351 stops for longer (victron-can-bms.md A.6)

# victron.max_charge/discharge_current_a: the BANK caps in these tests.
CAP_CHARGE_A = 100
CAP_DISCHARGE_A = 100

# bank_default_config (bank.h): what the bridge uses where a test leaves a bank key out.
SHARE_MIN_MA = 2000
SPLIT_PM = 1500
OC_HEADROOM_PM = 50  # bank.h BANK_OC_HEADROOM_PM: L_i stays 5 % below the pack's cutoff

# 0x35A conditions (victron-can-bms.md A.3: byte = cond / 4, pair = cond % 4; warnings +4).
COND_GENERAL, COND_HIGH_VOLTAGE, COND_LOW_VOLTAGE, COND_LOW_TEMP_CHARGE = 0, 1, 2, 6
COND_BMS_INTERNAL = 11
PAIR_ACTIVE, PAIR_OK = 0b01, 0b10

STATUS_CHARGING, STATUS_DISCHARGING, STATUS_FAULT = 0x91, 0x93, 0x9B


# ---- one pack: a pymodbus TinyBMS with registers set by the test --------------------------

class Pack:
    """A TinyBMS stand-in on its own pty pair. The test keeps a copy of its registers; update()
    changes fields and writes the live block (0..55) and the settings block (300..343) each in
    ONE write, so the bridge never reads half a change (cells without their pack voltage)."""

    def __init__(self, tmp, number):
        self.number = number
        self.pair = SocatPair(tmp, f"pack{number}")
        self.proc = subprocess.Popen(["/usr/bin/python3", str(PEER), self.pair.b, "--control"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert self._line(10) == "ready", f"pack {number}: the pymodbus peer did not start"
        self.regs = register_image()
        self.fields = {}
        # The scenario's common base: 16 cells at 3.300 V, charging at 10 A, 50 % SOC, 25 degC,
        # 200 Ah, the TinyBMS's own over-current cutoffs 30 A charge / 60 A discharge.
        self.update(cells_mv=3300, current_a=10.0, soc_pct=50.0, temp_c=25.0,
                    status=STATUS_CHARGING, capacity_ah=200, charge_oc_a=30, discharge_oc_a=60)

    @property
    def port(self):
        return self.pair.a

    def _line(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().strip() if ready else ""

    def _cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self._line(5)
        assert reply == "ok", f"pack {self.number}: {line.split()[0]}: {reply!r}"

    def update(self, **f):
        """cells_mv (one value for all, or a list of 16), pack_v (default: the cells' sum),
        current_a (+ = charging), soc_pct, temp_c, status (reg 50), capacity_ah (reg 306),
        charge_oc_a (318), discharge_oc_a (317), ov_mv (315), uv_mv (316)."""
        self.fields.update(f)
        r = self.regs
        if "cells_mv" in f:
            cells = f["cells_mv"]
            cells = [cells] * CELLS if isinstance(cells, int) else list(cells)
            for i, mv in enumerate(cells):
                r[i] = mv * 10  # 0.1 mV
            r[40], r[41] = min(cells), max(cells)
            self.fields["cells"] = cells
            if "pack_v" not in f:
                self.fields["pack_v"] = sum(cells) / 1000
        r[36:38] = f32_words(self.fields["pack_v"])
        if "current_a" in f:
            r[38:40] = f32_words(f["current_a"])
        if "soc_pct" in f:
            r[46:48] = u32_words(round(f["soc_pct"] * 1e6))
        if "temp_c" in f:
            r[42] = round(f["temp_c"] * 10) & 0xFFFF
        if "status" in f:
            r[50] = f["status"]
        settings = {"capacity_ah": (306, 100), "charge_oc_a": (318, 1), "discharge_oc_a": (317, 1),
                    "ov_mv": (315, 1), "uv_mv": (316, 1)}
        for key, (addr, scale) in settings.items():
            if key in f:
                r[addr] = f[key] * scale
        self._cmd("set 0 " + " ".join(map(str, r[0:56])))
        if any(k in f for k in settings):
            self._cmd("set 300 " + " ".join(map(str, r[300:344])))

    def mute(self):
        self._cmd("mute")
        return time.monotonic()

    def unmute(self):
        self._cmd("unmute")
        return time.monotonic()

    # What the bridge reads of this pack, in the core's units.
    def current_ma(self):
        return round(self.fields["current_a"] * 1000)

    def pack_mv(self):
        return round(self.fields["pack_v"] * 1000)

    def ccl_ma(self):
        """Its own limit L_i as the bank counts it: min(bank cap, reg 318) (charge.h
        chg_base_limits), and at most BANK_OC_HEADROOM_PM (5 %) below the cutoff (bank.h)."""
        oc = self.fields["charge_oc_a"]
        return min(min(CAP_CHARGE_A, oc) * 1000, oc * (1000 - OC_HEADROOM_PM))

    def dcl_ma(self):
        oc = self.fields["discharge_oc_a"]
        return min(min(CAP_DISCHARGE_A, oc) * 1000, oc * (1000 - OC_HEADROOM_PM))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.pair.close()


# ---- the GX: python-can on slcan, with the frames decoded -----------------------------------

class BankGx(Gx):
    """Gx of test_bridge_e2e without python-can's 2 s sleep after opening the tty."""

    def __init__(self, port):  # noqa: super().__init__ would sleep 2 s
        self.bus = can.interface.Bus(interface="slcan", channel=port, bitrate=500000,
                                     sleep_after_open=0)
        self.frames = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._rx, daemon=True)
        self.thread.start()

    def since(self, arb_id, t0):
        """[(time, data)] of arb_id received at or after t0."""
        with self.lock:
            return [(t, d) for t, i, d in self.frames if i == arb_id and t >= t0]

    def latest(self, arb_id, decode):
        d = self.last(arb_id)
        return decode(d) if d is not None else None


def f351(d):
    """0x351 -> (CVL V, CCL A, DCL A, DVL V)."""
    cvl, ccl, dcl, dvl = struct.unpack("<HhhH", d[:8])
    return cvl / 10, ccl / 10, dcl / 10, dvl / 10


def f355(d):
    """0x355 -> (SOC %, SOH %, hi-res SOC %)."""
    soc, soh, hires = struct.unpack("<HHH", d[:6])
    return soc, soh, hires / 100


def f356(d):
    """0x356 -> (V, A, degC)."""
    v, i, t = struct.unpack("<hhh", d[:6])
    return v / 100, i / 10, t / 10


def f372(d):
    """0x372 -> (online, blocking charge, blocking discharge, offline)."""
    return struct.unpack("<HHHH", d[:8])


def f373(d):
    """0x373 -> (min cell mV, max cell mV, min K, max K)."""
    return struct.unpack("<HHHH", d[:8])


def text(d):
    return d.rstrip(b"\0").decode("ascii")


def pair(d, cond, warning=False):
    """The 2-bit value of a 0x35A condition: 0b01 active, 0b10 OK, 0b00 unsupported."""
    return (d[cond // 4 + (4 if warning else 0)] >> (2 * (cond % 4))) & 0b11


def can_a(ma):
    """The CAN figure of a limit in mA: 0.1 A, truncated (bridge.c limit_da)."""
    return max(ma, 0) // 100 / 10


# ---- the rule (bank.h "Limits"), in the core's integer arithmetic ---------------------------

def c_div(a, b):
    """C's integer division: truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def bank_limit_ma(packs, charge=True, guard=True, share_min_ma=SHARE_MIN_MA,
                  split_pm=SPLIT_PM, min_packs=1):
    """CCL (charge) or DCL of the bank, before the ramp. packs: dicts with
    member (counted), fresh (read within the stale limit; a silent member within its grace is a
    member that is not fresh), blocks (that direction), cur_ma (its current, + = charging),
    lim_ma (its own limit in that direction).

      CCL = min(cap, sum of the contributing members' L_i,
                min over participants of L_i / share_i, the incremental guard)"""
    cap = (CAP_CHARGE_A if charge else CAP_DISCHARGE_A) * 1000
    if sum(1 for p in packs if p["member"]) < min_packs:
        return 0
    parts = [p for p in packs if (p["fresh"] or p["member"]) and not p["blocks"]]
    contributing = [p for p in parts if p["member"]]
    if not contributing:
        return 0
    sign = 1 if charge else -1
    total = sum(sign * p["cur_ma"] for p in parts)
    target = min(cap, sum(p["lim_ma"] for p in contributing))
    assumed_pm = min(1000, split_pm // len(parts))
    for p in parts:
        lim, cur = p["lim_ma"], sign * p["cur_ma"]
        if total >= share_min_ma and cur > 0:
            share_pm = c_div(cur * 1000, total)
            allow = c_div(lim * total, cur)  # L / share
            if guard and cur < lim:
                allow = min(allow, total + c_div((lim - cur) * 1000, max(share_pm, assumed_pm)))
        else:
            allow = max(0, total + c_div((lim - cur) * 1000, assumed_pm))
        target = min(target, allow)
    return target


def member(pack, fresh=True, blocks=False, charge=True):
    """A bank_limit_ma() entry from a Pack's present registers."""
    return {"member": True, "fresh": fresh, "blocks": blocks, "cur_ma": pack.current_ma(),
            "lim_ma": pack.ccl_ma() if charge else pack.dcl_ma()}


def joining(pack, charge=True):
    return dict(member(pack, charge=charge), member=False)


# ---- the rig ---------------------------------------------------------------------------------

class Rig:
    def __init__(self, tmp, packs):
        self.tmp = tmp
        self.packs = packs
        self.can = SocatPair(tmp, "can")
        self.bridge = None
        self.gx = None

    def start(self, bank=None, cvl=None, victron=None):
        config = {
            "tinybms": {"bms_timeout_ms": BMS_TIMEOUT_MS, "poll_interval_ms": 100,
                        "settings_refresh_ms": 1000},
            "hardware": {"uart": {"timeout_ms": 100}},
            "victron": {"max_charge_current_a": CAP_CHARGE_A,
                        "max_discharge_current_a": CAP_DISCHARGE_A,
                        "fast_interval_ms": 200, "detail_interval_ms": 200,
                        **(victron or {})},
            "cvl": {"current_hold_s": 0, "current_ramp_a_per_s": 0, **(cvl or {})},
        }
        if bank is not None:
            config["bank"] = bank
        args = [a for p in self.packs for a in ("--uart", p.port)]
        self.bridge = Bridge(self.tmp, [*args, "--can", "slcan:" + self.can.a], config).start()
        self.gx = BankGx(self.can.b)
        return self

    def wait(self, cond, timeout, what):
        value = wait_for(cond, timeout)
        assert value, f"{what}; last frames: {self.describe()}\n{self.bridge.stderr()[-1500:]}"
        return value

    def online(self, n, timeout=30):
        """Waits for 0x372 to count n packs online, then for the rest of its detail burst
        (0x372 leads it and 0x379 closes it, bridge.c build_detail; frames arrive one by one,
        so 0x373..0x379 of that burst may still be on their way when 0x372 is seen)."""
        self.wait(lambda: (m := self.gx.latest(0x372, f372)) is not None and m[0] == n,
                  timeout, f"0x372 never counted {n} online")
        t372 = max(t for t, d in self.gx.since(0x372, 0.0) if f372(d)[0] == n)
        self.wait(lambda: self.gx.since(0x379, t372), timeout,
                  "the 0x379 closing the detail burst never came")

    def pair_is(self, cond, value, warning=False, timeout=10):
        """Waits for a 0x35A pair to read value (frames of one burst arrive one by one: the
        0x35A of the step just seen on another frame may still be on its way)."""
        kind = "warning" if warning else "alarm"
        self.wait(lambda: (a := self.gx.last(0x35A)) is not None
                  and pair(a, cond, warning) == value, timeout,
                  f"0x35A {kind} {cond} never {value:02b}")

    def status(self):
        code, doc = self.bridge.request("GET", "/api/status", auth=False)
        assert code == 200, doc
        return doc

    def status_is(self, pred, what, timeout=10):
        """Waits for pred(GET /api/status) (for what CAN cannot show: a pack's state, what
        bounds the CCL); returns that document."""
        seen = []

        def check():
            doc = self.status()
            seen[:] = [doc]
            return doc if pred(doc) else None

        doc = wait_for(check, timeout, 0.1)
        last = seen[0] if seen else {}
        assert doc, f"{what}; packs {[p.get('state') for p in last.get('packs', [])]}, " \
                    f"bank {last.get('bank')}"
        return doc

    def ccl(self):
        lim = self.gx.latest(0x351, f351)
        return lim[1] if lim else None

    def dcl(self):
        lim = self.gx.latest(0x351, f351)
        return lim[2] if lim else None

    def describe(self):
        out = {}
        for arb_id, dec in ((0x351, f351), (0x355, f355), (0x356, f356), (0x372, f372)):
            out[hex(arb_id)] = self.gx.latest(arb_id, dec) if self.gx else None
        a = self.gx.last(0x35A) if self.gx else None
        out["0x35a"] = a.hex() if a else None
        return out

    def close(self):
        """Stops everything; the bridge's stop fails the test on a non-zero exit or a
        sanitizer report (test_faults.Bridge), after the peers are gone too."""
        try:
            if self.gx:
                self.gx.close()
            if self.bridge:
                code = self.bridge.stop()
                assert code == 0, f"bridge exit status {code}: {self.bridge.stderr()[-3000:]}"
        finally:
            for p in self.packs:
                p.close()
            self.can.close()


@pytest.fixture
def bank(tmp_path):
    """bank(n) -> a Rig with n packs (not started); everything is stopped at teardown."""
    rigs = []

    def make(n):
        rig = Rig(tmp_path, [Pack(tmp_path, i + 1) for i in range(n)])
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


# Bank settings for a fast rig: a pack that comes (back) joins after 1 s of fresh reads.
FAST = {"rejoin_hold_ms": 1000, "offline_grace_ms": 2000}


# ---- 1. two packs: sums, median, weights, counts ---------------------------------------------

def test_two_packs_are_one_battery_with_summed_limits_and_weighted_values(bank):
    rig = bank(2)
    p1, p2 = rig.packs
    p1.update(capacity_ah=200, soc_pct=80.0, cells_mv=3300, temp_c=25.0)
    # Pack 2's TinyBMS cuts at 3.50 V a cell (reg 315): its CVL is 16 x (3.50 - 0.10) V.
    p2.update(capacity_ah=100, soc_pct=50.0, cells_mv=3310, temp_c=31.0, ov_mv=3500)
    rig.start(bank=FAST)
    rig.online(2)

    # Both at +10 A; their own limits are 28.5 A (30 A cutoffs less 5 %). Shares measured
    # (20 A >= 2 A), 50 % each: sum of limits 57 A; L / share = 28.5 / 0.5 = 57 A;
    # guard: 20 + (28.5 - 10) / 0.75 = 44.67 A.
    expect = bank_limit_ma([member(p1), member(p2)])
    assert expect == 44666
    rig.wait(lambda: rig.ccl() == can_a(expect), 10, "CCL of two equal packs at 10 A")
    rig.status_is(lambda d: d["bank"]["ccl_bound"] == "share" and
                  [p["state"] for p in d["packs"]] == ["online", "online"], "two online packs")
    # DCL while charging: the discharge shares are not measurable, 1.5 x the equal share
    # is assumed for what is to come: -20 + (57 + 10) / 0.75 = 69.3 A (sum 114, cap 100).
    dcl = bank_limit_ma([member(p1, charge=False), member(p2, charge=False)], charge=False)
    assert dcl == 69333 and rig.dcl() == can_a(dcl)

    cvl, _, _, dvl = rig.gx.latest(0x351, f351)
    assert cvl == pytest.approx(CELLS * 3.40)  # the lower of 55.2 V and 54.4 V
    assert dvl == pytest.approx(CELLS * 2.9)
    v, i, t = rig.gx.latest(0x356, f356)
    assert v == pytest.approx((52.80 + 52.96) / 2, abs=0.011)  # median of two: their mean
    assert i == pytest.approx(20.0)  # the sum
    assert t == pytest.approx(31.0)  # the worst
    soc, soh, hires = rig.gx.latest(0x355, f355)
    # Capacity weighted: (200 x 80 + 100 x 50) / 300 = 70 % (the plain mean would be 65 %).
    assert (soc, hires, soh) == (70, pytest.approx(70.0), 98)
    assert struct.unpack("<H", rig.gx.last(0x379)[:2])[0] == 300  # installed: the sum
    assert rig.gx.latest(0x372, f372) == (2, 0, 0, 0)
    assert rig.gx.latest(0x373, f373) == (3300, 3310, 273 + 25, 273 + 31)
    assert text(rig.gx.last(0x374)) == "P1C1" and text(rig.gx.last(0x375)) == "P2C1"
    assert text(rig.gx.last(0x376)) == "P1T1" and text(rig.gx.last(0x377)) == "P2T1"
    rig.pair_is(COND_BMS_INTERNAL, PAIR_OK)
    rig.pair_is(COND_BMS_INTERNAL, PAIR_OK, warning=True)

    # Both at their own 28.5 A: nothing is left for the guard; CCL = the sum of their limits.
    p1.update(current_a=28.5)
    p2.update(current_a=28.5)
    assert bank_limit_ma([member(p1), member(p2)]) == 57000
    rig.wait(lambda: rig.ccl() == 57.0, 10, "CCL = 28.5 A + 28.5 A")
    rig.status_is(lambda d: d["bank"]["ccl_bound"] == "sum", "CCL not bound by the sum")

    # Their cutoffs raised to 80 A each (regs 318; limits 76 A, sum 152 A, guard
    # 57 + 47.5 / 0.75 = 120.3 A): the bank cap (100 A) bounds.
    p1.update(charge_oc_a=80)
    p2.update(charge_oc_a=80)
    assert bank_limit_ma([member(p1), member(p2)]) == CAP_CHARGE_A * 1000
    rig.wait(lambda: rig.ccl() == float(CAP_CHARGE_A), 10, "CCL = the bank cap")
    rig.status_is(lambda d: d["bank"]["ccl_bound"] == "cap", "CCL not bound by the cap")


def test_at_start_up_every_pack_joins_at_once(bank):
    """bank.h "joining": with no fresh member (start-up) there is no bank to wait for; the packs
    join at once, as one pack starts at once. The hold is set far beyond the wait."""
    rig = bank(2)
    rig.start(bank={"rejoin_hold_ms": 600000})
    rig.online(2, timeout=15)


# ---- 2. unequal measured shares --------------------------------------------------------------

@pytest.mark.parametrize("guard", [True, False], ids=["guard", "no-guard"])
def test_unequal_shares_bound_the_bank_by_the_pack_that_takes_more(bank, guard):
    rig = bank(2)
    p1, p2 = rig.packs
    # Pack 1 takes 70 % of the 20 A (14 A of its 28.5 A), pack 2 30 % (6 A).
    p1.update(current_a=14.0)
    p2.update(current_a=6.0)
    rig.start(bank={**FAST, "incremental_guard": guard})
    rig.online(2)
    packs = [member(p1), member(p2)]
    expect = bank_limit_ma(packs, guard=guard)
    # L_1 / share_1 = 28.5 x 20 / 14 = 40.714 A (the rule); the guard also allows
    # pack 1 at most max(0.7, 0.75) of what is added: 20 + (28.5 - 14) / 0.75 = 39.333 A.
    # Pack 2's bounds (95 A; guard 20 + 22.5 / 0.75 = 50 A) and the sum (57 A) are higher.
    assert expect == (39333 if guard else 40714)
    rig.wait(lambda: rig.ccl() == can_a(expect), 10, "CCL bound by pack 1's share")
    rig.status_is(lambda d: (d["bank"]["ccl_bound"], d["bank"]["ccl_pack"]) == ("share", 1),
                  "CCL not bound by pack 1's share")
    assert rig.ccl() <= p1.ccl_ma() / 1000 / 0.7
    assert rig.gx.latest(0x356, f356)[1] == pytest.approx(20.0)

    # The split turns: pack 2 now takes 75 % (15 A of 20 A), and binds instead.
    p1.update(current_a=5.0)
    p2.update(current_a=15.0)
    expect = bank_limit_ma([member(p1), member(p2)], guard=guard)
    # 28.5 x 20 / 15 = 38 A; the guard: 20 + 13.5 / 0.75 = 38 A too (share 0.75 = assumed).
    assert expect == 38000
    rig.wait(lambda: rig.ccl() == can_a(expect), 10, "CCL bound by pack 2's share")
    rig.status_is(lambda d: (d["bank"]["ccl_bound"], d["bank"]["ccl_pack"]) == ("share", 2),
                  "CCL not bound by pack 2's share")

    # Packs at different open-circuit voltages: pack 2 discharges 5 A into pack 1, which takes
    # 15 A of the bank's 10 A (a measured share of 150 %): 28.5 x 10 / 15 = 19 A; the guard
    # (its share is above the assumed one) 10 + 13.5 / 1.5 = 19 A. Pack 2 gives current, its
    # share is not measurable: 10 + (28.5 + 5) / 0.75 = 54.7 A.
    p1.update(current_a=15.0)
    p2.update(current_a=-5.0, status=STATUS_DISCHARGING)
    expect = bank_limit_ma([member(p1), member(p2)], guard=guard)
    assert expect == 19000
    rig.wait(lambda: rig.ccl() == can_a(expect) and rig.gx.latest(0x356, f356)[1] == 10.0, 10,
             "CCL with pack 2 charging pack 1")

    # Discharging 40 A, pack 1 giving 75 % (30 A of its 57 A), pack 2 10 A: the same rule on
    # the DCL. 57 x 40 / 30 = 76 A; guard 40 + 27 / 0.75 = 76 A; pack 2: 228 A (guard
    # 102.7 A); sum 114 A; cap 100 A.
    p1.update(current_a=-30.0, status=STATUS_DISCHARGING)
    p2.update(current_a=-10.0, status=STATUS_DISCHARGING)
    packs = [member(p1, charge=False), member(p2, charge=False)]
    expect = bank_limit_ma(packs, charge=False, guard=guard)
    assert expect == 76000
    rig.wait(lambda: rig.dcl() == can_a(expect), 10, "DCL bound by pack 1's share")
    assert rig.dcl() <= p1.dcl_ma() / 1000 / 0.75
    rig.status_is(lambda d: (d["bank"]["dcl_bound"], d["bank"]["dcl_pack"]) == ("share", 1),
                  "DCL not bound by pack 1's share")
    # ... and the CCL meanwhile: no charge current to measure a share from: 1.5 x the equal
    # share of what is to come: pack 2 from -10 A: -40 + (28.5 + 10) / 0.75 = 11.33 A.
    expect = bank_limit_ma([member(p1), member(p2)], guard=guard)
    assert expect == 11333
    rig.wait(lambda: rig.ccl() == can_a(expect), 10, "CCL while discharging")


# ---- 3. a pack that blocks charge ------------------------------------------------------------

def test_a_pack_blocking_charge_leaves_the_others_limits_at_once(bank):
    rig = bank(3)
    p1, p2, p3 = rig.packs
    for p, mv in zip(rig.packs, (3300, 3310, 3320)):
        p.update(cells_mv=mv)
    rig.start(bank=FAST)
    rig.online(3)
    # Three at 10 A of 28.5 A: sum 85.5 A; L / share = 28.5 / (1/3) = 85.5 A; guard: the
    # assumed share is 1.5 / 3 = 0.5: 30 + 18.5 / 0.5 = 67 A.
    expect = bank_limit_ma([member(p) for p in rig.packs])
    assert expect == 67000
    rig.wait(lambda: rig.ccl() == can_a(expect), 10, "CCL of three packs")
    assert rig.gx.latest(0x356, f356)[0] == pytest.approx(52.96, abs=0.011)  # the middle one

    # Pack 1's TinyBMS reports a fault (reg 50 0x9B) and its switch is open: no current.
    p1.update(status=STATUS_FAULT, current_a=0.0)
    blocked = [member(p1, blocks=True), member(p2), member(p3)]
    expect = bank_limit_ma(blocked)
    # Packs 2 and 3 carry it all: 20 A, half each; guard 20 + 18.5 / 0.75 = 44.67 A.
    assert expect == 44666
    rig.wait(lambda: rig.gx.latest(0x372, f372) == (3, 1, 0, 0), 10,
             "0x372 never counted pack 1 blocking charge")
    t_seen = min(t for t, d in rig.gx.since(0x372, 0) if f372(d)[1] == 1)
    rig.wait(lambda: rig.ccl() == can_a(expect), 10, "CCL of the two packs left")
    # Every 0x351 the bridge sent after it counted the blocking pack has the lower limit:
    # both come from the same step.
    rig.wait(lambda: len(rig.gx.since(0x351, t_seen)) >= 5, 10, "0x351 stopped")
    after = [f351(d)[1] for t, d in rig.gx.since(0x351, t_seen)]
    assert max(after) <= can_a(expect), after
    rig.pair_is(COND_BMS_INTERNAL, PAIR_ACTIVE)  # the pack's fault: an alarm
    rig.pair_is(COND_GENERAL, PAIR_ACTIVE)
    rig.status_is(lambda d: [p["blocks_charge"] for p in d["packs"]] == [True, False, False]
                  and "pack_blocking" in d["bank"]["warnings"], "pack 1 not shown blocking")

    # The fault clears; pack 2's cells reach its own over-voltage cutoff (reg 315, 3650 mV):
    # its TinyBMS opens the charge path.
    p1.update(status=STATUS_CHARGING, current_a=10.0)
    p2.update(cells_mv=3650, current_a=0.0)
    expect = bank_limit_ma([member(p1), member(p2, blocks=True), member(p3)])
    assert expect == 44666
    rig.wait(lambda: rig.gx.latest(0x372, f372) == (3, 1, 0, 0)
             and rig.gx.latest(0x373, f373)[1] == 3650, 10, "pack 2 at its cutoff not counted")
    rig.wait(lambda: rig.ccl() == can_a(expect), 10, "CCL of packs 1 and 3")
    rig.pair_is(COND_HIGH_VOLTAGE, PAIR_ACTIVE)  # its cells: an alarm
    rig.pair_is(COND_BMS_INTERNAL, PAIR_ACTIVE, warning=True)  # the bank: a warning
    rig.pair_is(COND_BMS_INTERNAL, PAIR_OK)
    # 0x375 comes after 0x372/0x373 in the detail burst: wait for it too.
    rig.wait(lambda: text(rig.gx.last(0x375)) == "P2C1", 10, "0x375 never named P2C1")

    # Pack 2 recovers; pack 3's cells reach its under-voltage cutoff (reg 316, 2800 mV): its
    # TinyBMS opens the discharge path. It still charges (5 A) through the other.
    p2.update(cells_mv=3300, current_a=10.0)
    p3.update(cells_mv=2800, current_a=5.0)
    dcl = bank_limit_ma([member(p1, charge=False), member(p2, charge=False),
                         member(p3, blocks=True, charge=False)], charge=False)
    ccl = bank_limit_ma([member(p) for p in rig.packs])
    # DCL: packs 1 and 2, charging at 20 A: -20 + (57 + 10) / 0.75 = 69.3 A. CCL: all three
    # (25 A, pack 1 40 %): 25 + 18.5 / 0.5 = 62 A.
    assert (dcl, ccl) == (69333, 62000)
    rig.wait(lambda: rig.gx.latest(0x372, f372) == (3, 0, 1, 0), 10,
             "pack 3 not counted blocking discharge")
    rig.wait(lambda: (rig.ccl(), rig.dcl()) == (can_a(ccl), can_a(dcl)), 10,
             "the limits with pack 3 blocking discharge")
    rig.pair_is(COND_LOW_VOLTAGE, PAIR_ACTIVE)
    rig.wait(lambda: text(rig.gx.last(0x374)) == "P3C1", 10, "0x374 never named P3C1")


# ---- 4. a pack's UART goes silent -------------------------------------------------------------

def max_gap(times):
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def test_a_silent_pack_counts_with_its_last_values_for_the_grace_then_drops(bank):
    grace_s = 3.0
    rig = bank(2)
    p1, p2 = rig.packs
    p2.update(soc_pct=40.0)
    rig.start(bank={**FAST, "offline_grace_ms": int(grace_s * 1000)})
    rig.online(2)
    both = bank_limit_ma([member(p1), member(p2)])
    rig.wait(lambda: rig.ccl() == can_a(both), 10, "CCL of two packs")
    t_mute = p1.mute()

    # Silent: not online, warned, but still counted in the limits with its last values.
    rig.wait(lambda: rig.gx.latest(0x372, f372) == (1, 0, 0, 1), 10, "pack 1 never silent")
    rig.pair_is(COND_BMS_INTERNAL, PAIR_ACTIVE, warning=True)
    rig.status_is(lambda d: d["packs"][0]["state"] in ("silent", "offline"), "pack 1 not silent")
    # pack 2's current only (the fresh packs'), pack 2's SOC (the online members')
    rig.wait(lambda: rig.gx.latest(0x356, f356)[1] == 10.0 and rig.gx.latest(0x355, f355)[0] == 40,
             10, "0x356/0x355 still count pack 1")
    assert struct.unpack("<H", rig.gx.last(0x379)[:2])[0] == 400  # installed: both, still

    # After the grace: what pack 2 allows alone (10 A, all of the current: its 28.5 A).
    alone = bank_limit_ma([dict(member(p1), member=False, fresh=False), member(p2)])
    assert alone == 28500
    rig.wait(lambda: rig.ccl() == can_a(alone), 10 + grace_s, "CCL of pack 2 alone")
    t_drop = min(t for t, d in rig.gx.since(0x351, t_mute) if f351(d)[1] == can_a(alone))
    # Not before the grace (a lower bound: the pack was read until about t_mute, is stale
    # bms_timeout later and dropped grace_s after that).
    assert t_drop - t_mute >= grace_s, t_drop - t_mute
    # Meanwhile silent, and counted with its last values (10 A of 30 A): the two packs' CCL.
    t_silent = min(t for t, d in rig.gx.since(0x372, t_mute) if f372(d)[0] == 1)
    kept = [f351(d)[1] for t, d in rig.gx.since(0x351, t_silent) if t < t_mute + grace_s]
    assert kept and set(kept) == {can_a(both)}, kept
    # The GX never lost its BMS meanwhile.
    assert max_gap([t for t, _ in rig.gx.since(0x351, t_mute - 1.0)]) < GX_MAX_GAP_S
    assert rig.gx.latest(0x372, f372) == (1, 0, 0, 1)
    rig.pair_is(COND_BMS_INTERNAL, PAIR_ACTIVE, warning=True)
    doc = rig.status_is(lambda d: d["packs"][0]["state"] == "offline", "pack 1 not offline")
    assert "pack_offline" in doc["bank"]["warnings"]


def test_a_pack_silent_near_a_cutoff_is_dropped_without_the_grace(bank):
    rig = bank(2)
    p1, p2 = rig.packs
    # Pack 1's own under-voltage cutoff (reg 316) is 3250 mV: its cells (3300 mV) are within
    # near_cutoff_mv (100) of it. Its DVL is 16 x 3250 mV = 52.0 V.
    p1.update(uv_mv=3250)
    rig.start(bank={**FAST, "offline_grace_ms": 600000, "near_cutoff_mv": 100})
    rig.online(2)
    both = bank_limit_ma([member(p1), member(p2)])
    rig.wait(lambda: rig.ccl() == can_a(both), 10, "CCL of two packs")
    assert rig.gx.latest(0x351, f351)[3] == pytest.approx(52.0)
    p1.mute()
    # The ten-minute grace does not apply: pack 2 alone, as soon as pack 1 is stale.
    alone = bank_limit_ma([dict(member(p1), member=False, fresh=False), member(p2)])
    rig.wait(lambda: rig.ccl() == can_a(alone) and rig.gx.latest(0x372, f372) == (1, 0, 0, 1),
             15, "pack 1 near its cutoff not dropped at once")
    rig.status_is(lambda d: d["packs"][0]["state"] == "offline", "pack 1 not offline")
    # Still assumed connected: its last DVL keeps bounding the bank's (bank.h).
    assert rig.gx.latest(0x351, f351)[3] == pytest.approx(52.0)


def test_a_pack_back_within_its_grace_stays_counted_unless_its_voltage_moved(bank):
    rig = bank(2)
    p1, p2 = rig.packs
    # A long grace and a hold far beyond every wait: being counted again at once can only
    # come from never having left the bank.
    rig.start(bank={"offline_grace_ms": 60000, "rejoin_hold_ms": 600000})
    rig.online(2)
    p1.mute()
    rig.wait(lambda: rig.gx.latest(0x372, f372) == (1, 0, 0, 1), 10, "pack 1 never silent")
    rig.status_is(lambda d: d["packs"][0]["state"] == "silent"
                  and "pack_silent" in d["bank"]["warnings"], "pack 1 not silent")
    p1.unmute()
    rig.online(2, timeout=15)
    both = bank_limit_ma([member(p1), member(p2)])
    rig.wait(lambda: rig.ccl() == can_a(both), 10, "CCL of both packs")

    # Silent again, and its voltage moved 1.6 V away meanwhile (16 x 100 mV, the window is
    # 16 x 50 mV): it comes back as a pack that must join again, hold and all.
    p1.mute()
    rig.wait(lambda: rig.gx.latest(0x372, f372) == (1, 0, 0, 1), 10, "pack 1 never silent")
    p1.update(cells_mv=3400, current_a=2.0)
    p1.unmute()
    rig.status_is(lambda d: d["packs"][0]["state"] == "joining"
                  and "voltage_mismatch" in d["bank"]["warnings"], "pack 1 not joining")
    # Read (its 2 A are in the bank's current), not counted; back in the window it still
    # waits for the ten-minute hold.
    rig.wait(lambda: rig.gx.latest(0x356, f356)[1] == 12.0, 10, "pack 1 not read")
    p1.update(cells_mv=3300, current_a=10.0)
    rig.wait(lambda: rig.gx.latest(0x356, f356)[1] == 20.0, 10, "pack 1 not read")
    t = time.monotonic()
    time.sleep(2.0)
    assert {f372(d)[0] for _, d in rig.gx.since(0x372, t)} == {1}
    assert rig.status()["packs"][0]["state"] == "joining"


def test_a_cold_pack_conducts_with_a_zero_limit(bank):
    """bank.h: a pack whose limit is 0 for another reason than its TinyBMS cutting (here 2 degC,
    below the 5 degC charge limit) still conducts: it is no "blocking" pack whose current the
    others take over, it bounds the bank with L = 0."""
    rig = bank(2)
    p1, p2 = rig.packs
    rig.start(bank=FAST)
    rig.online(2)
    p1.update(temp_c=2.0, current_a=0.0)
    p2.update(current_a=10.0)
    rig.pair_is(COND_LOW_TEMP_CHARGE, PAIR_ACTIVE)
    # Taking nothing of the 10 A now, it would take 1.5 x its equal share of any more: the
    # bank stays at what flows (10 + (0 - 0) / 0.75).
    cold = dict(member(p1), lim_ma=0)
    expect = bank_limit_ma([cold, member(p2)])
    assert expect == 10000
    rig.wait(lambda: rig.ccl() is not None and rig.ccl() <= can_a(expect), 10,
             "CCL above what flows with a cold pack")
    assert rig.gx.latest(0x372, f372) == (2, 0, 0, 0)  # not blocking: it conducts
    # As soon as it takes current (3 A of 13 A): L / share = 0.
    p1.update(current_a=3.0)
    assert bank_limit_ma([dict(member(p1), lim_ma=0), member(p2)]) == 0
    rig.wait(lambda: rig.ccl() == 0.0, 10, "CCL not 0 with a cold pack taking current")
    assert rig.dcl() > 0


def test_four_packs_median_weights_and_ids(bank):
    rig = bank(4)
    cells3 = [3320] * CELLS
    cells3[12] = 3290  # the bank's lowest cell: pack 3, cell 13
    cells4 = [3330] * CELLS
    cells4[6] = 3345  # the highest: pack 4, cell 7
    for p, cells, cap, soc, temp in zip(rig.packs, (3300, 3310, cells3, cells4),
                                        (100, 200, 300, 400), (20.0, 40.0, 60.0, 80.0),
                                        (20.0, 22.0, 24.0, 26.0)):
        p.update(cells_mv=cells, capacity_ah=cap, soc_pct=soc, temp_c=temp)
    rig.start(bank=FAST)
    rig.online(4)
    # Four at 10 A of 28.5 A: sum 114 A; L / share 114 A; guard with the assumed share
    # 1.5 / 4 = 0.375: 40 + 18.5 / 0.375 = 89.3 A. DCL: -40 + 67 / 0.375 = 138.7 A: cap 100 A.
    ccl = bank_limit_ma([member(p) for p in rig.packs])
    dcl = bank_limit_ma([member(p, charge=False) for p in rig.packs], charge=False)
    assert (ccl, dcl) == (89333, 100000)
    rig.wait(lambda: (rig.ccl(), rig.dcl()) == (can_a(ccl), can_a(dcl)), 10, "four packs' limits")
    assert rig.gx.latest(0x372, f372) == (4, 0, 0, 0)
    v, i, t = rig.gx.latest(0x356, f356)
    # Median of 52.800, 52.960, 53.090, 53.295 V: the mean of the middle two, 53.025 V.
    assert v == pytest.approx(53.025, abs=0.011)
    assert (i, t) == (pytest.approx(40.0), pytest.approx(26.0))
    # (100 x 20 + 200 x 40 + 300 x 60 + 400 x 80) / 1000 = 60 % (the plain mean: 50 %).
    assert rig.gx.latest(0x355, f355)[0] == 60
    assert struct.unpack("<H", rig.gx.last(0x379)[:2])[0] == 1000
    assert rig.gx.latest(0x373, f373) == (3290, 3345, 273 + 20, 273 + 26)
    assert (text(rig.gx.last(0x374)), text(rig.gx.last(0x375))) == ("P3C13", "P4C7")
    assert (text(rig.gx.last(0x376)), text(rig.gx.last(0x377))) == ("P1T1", "P4T1")


def test_a_fifth_uart_is_refused(tmp_path):
    res = subprocess.run([str(BUILD / "tinybms-bridge"), *["--uart", "/dev/null"] * 5, "--can",
                          "log:/dev/null", "--data-dir", str(tmp_path), "--http", "off"],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 2, res.stderr
    assert "at most 4 packs" in res.stderr


def test_a_pack_missing_from_the_start_is_offline_and_joins_when_it_answers(bank):
    rig = bank(2)
    p1, p2 = rig.packs
    p1.update(soc_pct=80.0)
    p2.update(soc_pct=20.0, capacity_ah=100)
    p2.mute()  # never answers until told
    rig.start(bank=FAST)
    # The bank forms without it (at the stale limit): pack 1 is the battery, its SOC alone
    # (not a mean with a pack nobody has read), its capacity alone, and a warning.
    rig.online(1, timeout=15)
    rig.wait(lambda: rig.gx.latest(0x355, f355) is not None and rig.ccl() is not None, 10,
             "no battery frames without pack 2")
    assert rig.gx.latest(0x372, f372) == (1, 0, 0, 1)
    assert rig.gx.latest(0x355, f355)[0] == 80
    assert struct.unpack("<H", rig.gx.last(0x379)[:2])[0] == 200
    rig.pair_is(COND_BMS_INTERNAL, PAIR_ACTIVE, warning=True)
    alone = bank_limit_ma([member(p1)])
    assert alone == 28500 and rig.ccl() == can_a(alone)
    assert rig.status()["packs"][1]["state"] == "offline"
    p2.unmute()
    rig.online(2, timeout=15)
    # (200 x 80 + 100 x 20) / 300 = 60 %
    rig.wait(lambda: rig.gx.latest(0x355, f355)[0] == 60, 10, "SOC not weighted over both")
    assert struct.unpack("<H", rig.gx.last(0x379)[:2])[0] == 300
    rig.pair_is(COND_BMS_INTERNAL, PAIR_OK, warning=True)


# ---- 5. every pack silent ---------------------------------------------------------------------

def test_all_packs_silent_stops_the_battery_frames_and_they_resume(bank):
    rig = bank(2)
    p1, p2 = rig.packs
    rig.start(bank=FAST)
    rig.online(2)
    p1.mute()
    p2.mute()
    # As with one pack: after bms_timeout no fresh member, no battery frames at all.
    rig.wait(lambda: "battery frames STOPPED" in rig.bridge.stderr(), 10, "frames never stopped")
    quiet_from = time.monotonic() + 0.3  # a frame already on its way through the ptys
    time.sleep(1.5)
    assert not rig.gx.ids(since=quiet_from), "frames sent while every pack is stale"
    back = p1.unmute()
    p2.unmute()
    rig.wait(lambda: 0x351 in rig.gx.ids(since=back), 10, "frames never resumed")
    rig.online(2)
    both = bank_limit_ma([member(p1), member(p2)])
    rig.wait(lambda: rig.ccl() == can_a(both), 10, "CCL of both packs")
    assert rig.bridge.stop() == 0
    assert int(rig.bridge.summary()["stale_events"]) == 1


# ---- 6. rejoin ----------------------------------------------------------------------------------

def test_a_returning_pack_waits_the_hold_and_the_voltage_window(bank):
    hold_s = 3.0
    rig = bank(2)
    p1, p2 = rig.packs
    rig.start(bank={"offline_grace_ms": 1000, "rejoin_hold_ms": int(hold_s * 1000),
                    "rejoin_window_cell_mv": 50},
              cvl={"current_hold_s": 2, "current_ramp_a_per_s": 10})
    rig.online(2)
    both = bank_limit_ma([member(p1), member(p2)])
    rig.wait(lambda: rig.ccl() == can_a(both), 15, "CCL of two packs")
    alone = 28500  # pack 2 with all the current, as in the test above
    # While pack 1 joins it only constrains: pack 2's 28.5 A is the sum of the members.
    joining_ccl = bank_limit_ma([joining(p1), member(p2)])
    assert joining_ccl == alone

    def drop_pack_1():
        t = p1.mute()
        rig.wait(lambda: rig.ccl() == can_a(alone) and rig.gx.latest(0x372, f372)[0] == 1,
                 15, "pack 1 not dropped after its grace")
        return t

    # a) back at the bank's voltage: counted again only once fresh for the hold.
    drop_pack_1()
    t_back = p1.unmute()
    rig.online(2, timeout=15)
    t_in = min(t for t, d in rig.gx.since(0x372, t_back) if f372(d)[0] == 2)
    assert t_in - t_back >= hold_s, t_in - t_back
    # The frames arrive in the order they were sent: every 0x351 before the last 0x372 that
    # still counted one pack was sent before pack 1 joined. (The 0x372 that counts it again
    # can come a burst after the first 0x351 of the joined bank: fast and detail frames have
    # their own periods.)
    t_out = max(t for t, d in rig.gx.since(0x372, t_back) if t < t_in and f372(d)[0] == 1)
    ccl = [f351(d)[1] for t, d in rig.gx.since(0x351, t_back) if t < t_out]
    assert ccl and max(ccl) <= can_a(joining_ccl), ccl

    # b) back 1.6 V above the bank (16 x 100 mV, the window is 16 x 50 mV): read (its 2 A
    #    are in the bank's current) but never counted, however long it stays fresh.
    drop_pack_1()
    p1.update(cells_mv=3400, current_a=2.0)
    t_back = p1.unmute()
    rig.wait(lambda: rig.gx.latest(0x356, f356)[1] == pytest.approx(12.0), 10,
             "pack 1 not read again")
    time.sleep(2 * hold_s)
    assert all(f372(d)[0] == 1 for _, d in rig.gx.since(0x372, t_back))
    away = bank_limit_ma([joining(p1), member(p2)])
    assert max(f351(d)[1] for _, d in rig.gx.since(0x351, t_back)) <= can_a(away)
    rig.pair_is(COND_BMS_INTERNAL, PAIR_ACTIVE, warning=True)
    doc = rig.status()
    assert doc["packs"][0]["state"] == "joining" and "voltage_mismatch" in doc["bank"]["warnings"]

    # c) its voltage comes into the window: it has been fresh for longer than the hold, so it
    #    is counted again; the CCL rises after its hold (2 s) and ramp (10 A/s) to both packs'.
    t_ok = time.monotonic()
    p1.update(cells_mv=3300, current_a=10.0)
    rig.online(2, timeout=10)
    rig.wait(lambda: rig.ccl() == can_a(both), 15, "CCL never back to both packs'")
    assert max(f351(d)[1] for _, d in rig.gx.since(0x351, t_ok)) <= can_a(both)
    rig.pair_is(COND_BMS_INTERNAL, PAIR_OK, warning=True)


# ---- 7. too few packs --------------------------------------------------------------------------

def test_fewer_members_than_min_packs_give_zero_limits(bank):
    rig = bank(2)
    p1, p2 = rig.packs
    rig.start(bank={**FAST, "offline_grace_ms": 1000, "min_packs": 2})
    rig.online(2)
    both_ccl = bank_limit_ma([member(p1), member(p2)])
    rig.wait(lambda: rig.ccl() == can_a(both_ccl), 10, "CCL of two packs")
    p1.mute()
    assert bank_limit_ma([dict(member(p1), member=False, fresh=False), member(p2)],
                         min_packs=2) == 0
    rig.wait(lambda: rig.ccl() == 0.0 and rig.dcl() == 0.0, 15, "CCL/DCL not 0 below min_packs")
    rig.status_is(lambda d: d["bank"]["ccl_bound"] == d["bank"]["dcl_bound"] == "min_packs",
                  "the limits not bound by min_packs")
    # Pack 2 is online: the battery is still there for the GX, with zero limits.
    t = time.monotonic()
    rig.wait(lambda: len(rig.gx.since(0x351, t)) >= 3, 10, "0x351 stopped")
    assert rig.gx.latest(0x372, f372) == (1, 0, 0, 1)
    p1.unmute()
    rig.online(2)
    rig.wait(lambda: rig.ccl() == can_a(both_ccl), 10, "CCL not back with both packs")


def test_more_min_packs_than_packs_is_refused_naming_the_key(tmp_path):
    """Bad input gets a clear error and changes nothing: three packs required of two."""
    cfg = tmp_path / "config.json"
    original = '{"bank": {"min_packs": 3}}'
    cfg.write_text(original)
    res = subprocess.run([str(BUILD / "tinybms-bridge"), "--uart", "/dev/null", "--uart",
                          "/dev/zero", "--can", "log:/dev/null", "--data-dir", str(tmp_path),
                          "--config", str(cfg), "--http", "off"],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 2, res.stderr
    assert "bank.min_packs" in res.stderr and "3" in res.stderr
    assert cfg.read_text() == original
