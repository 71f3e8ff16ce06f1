"""The Venus OS D-Bus battery service (venus-dbus.md) against real peers: Debian's dbus-daemon
on a private unix socket (exported to the bridge as DBUS_SYSTEM_BUS_ADDRESS), python3-dbus as
the client (what systemcalc and the GUI do: GetItems, GetValue, GetText, signals) and as
localsettings (peers/venus_settings.py: AddSetting / GetValue, hands out the next free device
instance). The bridge runs with --dbus and no --can (no CAN port), on the built-in simulator or
on the pymodbus TinyBMS stand-in when the data source must go quiet."""
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

import dbus
import dbus.mainloop.glib
import pytest
from gi.repository import GLib

from conftest import ROOT, _binary, terminate, wait_for

PEERS = ROOT / "tests" / "py" / "peers"
BUSITEM = "com.victronenergy.BusItem"
SIM_NAME = "com.victronenergy.battery.simulator"
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)

MANDATORY = {  # path -> D-Bus type (venus-dbus.md "Paths"; "s" may also be invalid)
    "/Mgmt/ProcessName": "s", "/Mgmt/ProcessVersion": "s", "/Mgmt/Connection": "s",
    "/DeviceInstance": "i", "/ProductId": "i", "/ProductName": "s", "/FirmwareVersion": "s",
    "/HardwareVersion": "s", "/Connected": "i", "/Serial": "s", "/CustomName": "s",
    "/Dc/0/Voltage": "d", "/Dc/0/Current": "d", "/Dc/0/Power": "d", "/Dc/0/Temperature": "d",
    "/Soc": "d", "/Soh": "d", "/Capacity": "d", "/InstalledCapacity": "d",
    "/ConsumedAmphours": "d", "/TimeToGo": "d",
    "/Info/MaxChargeVoltage": "d", "/Info/MaxChargeCurrent": "d",
    "/Info/MaxDischargeCurrent": "d", "/Info/BatteryLowVoltage": "d",
    "/System/NrOfCellsPerBattery": "i", "/System/MinCellVoltage": "d",
    "/System/MaxCellVoltage": "d", "/System/MinVoltageCellId": "s",
    "/System/MaxVoltageCellId": "s", "/System/MinCellTemperature": "d",
    "/System/MaxCellTemperature": "d", "/System/NrOfModulesOnline": "i",
    "/System/NrOfModulesOffline": "i", "/System/NrOfModulesBlockingCharge": "i",
    "/System/NrOfModulesBlockingDischarge": "i",
    "/Io/AllowToCharge": "i", "/Io/AllowToDischarge": "i", "/Io/AllowToBalance": "i",
    "/Voltages/Sum": "d", "/Voltages/Diff": "d", "/Balancing": "i",
    **{f"/Alarms/{a}": "i" for a in (
        "LowVoltage", "HighVoltage", "LowCellVoltage", "HighCellVoltage", "LowSoc",
        "HighChargeCurrent", "HighDischargeCurrent", "CellImbalance", "InternalFailure",
        "HighChargeTemperature", "LowChargeTemperature", "HighTemperature", "LowTemperature",
        "BmsCable")},
}


def dtype(v):
    """The D-Bus type of a value as dbus-python hands it over: d, i, s, or 'invalid' for the
    empty int32 array that Venus uses for 'no value'."""
    if isinstance(v, dbus.Double):
        return "d"
    if isinstance(v, dbus.Int32):
        return "i"
    if isinstance(v, dbus.String):
        return "s"
    if isinstance(v, dbus.Array) and len(v) == 0 and v.signature == "i":
        return "invalid"
    return type(v).__name__


def pump(cond, timeout):
    """Runs the GLib main context (signal handlers) until cond() is true or timeout s pass."""
    ctx = GLib.MainContext.default()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        while ctx.iteration(False):
            pass
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    while ctx.iteration(False):
        pass
    return cond()


class Bus:
    """Debian's dbus-daemon on a private unix socket, restartable on the same address."""

    def __init__(self, tmp):
        self.sock = tmp / "bus.sock"
        self.address = f"unix:path={self.sock}"
        self.conf = tmp / "bus.conf"
        self.conf.write_text(f"""<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>{self.address}</listen>
  <auth>EXTERNAL</auth>
  <limit name="max_replies_per_connection">20000</limit>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
""")
        self.proc = None
        self.start()

    def start(self):
        if self.sock.exists():
            self.sock.unlink()
        self.proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={self.conf}", "--nofork", "--print-address"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        assert ready and self.proc.stdout.readline().startswith("unix:"), "dbus-daemon"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def client(self, mainloop=True):
        if mainloop:
            return dbus.bus.BusConnection(self.address)
        return dbus.bus.BusConnection(self.address, mainloop=None)


class Settings:
    """peers/venus_settings.py: com.victronenergy.settings on the bus."""

    def __init__(self, bus, taken=()):
        args = ["/usr/bin/python3", str(PEERS / "venus_settings.py"), bus.address]
        for t in taken:
            args += ["--taken", str(t)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        assert ready and self.proc.stdout.readline().strip() == "ready", "fake localsettings"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Bridge:
    """build/tinybms-bridge --dbus (no --can), its log in stderr.log."""

    def __init__(self, tmp, bus, *args, bms_timeout_ms=2000, dbus_flag=True, victron=None):
        self.dir = tmp / "bridge"
        self.dir.mkdir(exist_ok=True)
        config = {"tinybms": {"bms_timeout_ms": bms_timeout_ms}}
        if victron:
            config["victron"] = victron
        (self.dir / "config.json").write_text(json.dumps(config))
        self.err_path = self.dir / "stderr.log"
        self.err = open(self.err_path, "w")
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
        self.proc = subprocess.Popen(
            [str(_binary("tinybms-bridge")), *(["--dbus"] if dbus_flag else []), "--http", "off",
             "--data-dir", str(self.dir), "--config", str(self.dir / "config.json"), *args],
            stdout=subprocess.DEVNULL, stderr=self.err, env=env)

    def log(self):
        return self.err_path.read_text()

    def stop(self):
        code = terminate(self.proc)
        self.err.close()
        return code


def call(conn, name, path, method, *args, iface=BUSITEM, signature=None, timeout=30):
    if signature is None:
        signature = "v" * len(args)
    return conn.call_blocking(name, path, iface, method, signature, args, timeout=timeout)


def has_name(conn, name):
    return bool(conn.name_has_owner(name))


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    """One bus, localsettings with instance 512 already taken, the bridge on the simulator, and
    what the client saw at the moment the battery's name appeared."""
    tmp = tmp_path_factory.mktemp("dbus")
    bus = Bus(tmp)
    settings = Settings(bus, taken=[512])
    conn = bus.client()
    seen = {}

    def on_owner(name, old, new):
        if name == SIM_NAME and new and "items" not in seen:
            # Straight from the signal, before anything else: every path must answer now.
            seen["items"] = call(conn, SIM_NAME, "/", "GetItems")
            seen["instance"] = call(conn, SIM_NAME, "/DeviceInstance", "GetValue")

    conn.add_signal_receiver(on_owner, "NameOwnerChanged", "org.freedesktop.DBus",
                             "org.freedesktop.DBus", "/org/freedesktop/DBus")
    bridge = Bridge(tmp, bus, "--simulate")
    assert pump(lambda: "items" in seen, 20), f"the name never appeared:\n{bridge.log()}"
    yield {"bus": bus, "settings": settings, "conn": conn, "bridge": bridge, "seen": seen}
    bridge.stop()
    settings.stop()
    bus.stop()


def test_name_appears_only_with_every_path_answering(rig):
    items = rig["seen"]["items"]
    missing = sorted(set(MANDATORY) - set(items))
    assert not missing, missing
    assert rig["seen"]["instance"] == 513  # 512 was taken: localsettings handed out 513
    # Cells were read before the name was claimed: their paths are there from the start.
    n = int(items["/System/NrOfCellsPerBattery"]["Value"])
    assert n == 16 and all(f"/Voltages/Cell{k}" in items for k in range(1, n + 1))


def test_get_items_types_units_and_texts(rig):
    items = call(rig["conn"], SIM_NAME, "/", "GetItems")
    for path, want in MANDATORY.items():
        value, text = items[path]["Value"], items[path]["Text"]
        got = dtype(value)
        assert got in (want, "invalid"), (path, got, want)
        assert isinstance(text, dbus.String), path
        if got == "invalid":
            assert text == "---", (path, text)
    v = {p: items[p]["Value"] for p in items if dtype(items[p]["Value"]) != "invalid"}
    # Identity.
    assert v["/Connected"] == 1 and v["/ProductName"] == "TinyBMS"
    assert v["/Mgmt/ProcessName"] == "tinybms-bridge" and v["/Mgmt/Connection"]
    assert v["/ProductId"] == 0xBA7B
    # Units: V, A, W, %, Ah, degC, one pack of 16 LFP cells (the simulator's).
    cells = [v[f"/Voltages/Cell{k}"] for k in range(1, 17)]
    assert all(2.5 < c < 3.65 for c in cells)
    assert abs(v["/Voltages/Sum"] - sum(cells)) < 0.01
    assert abs(v["/Voltages/Diff"] - (max(cells) - min(cells))) < 0.002
    assert abs(v["/System/MinCellVoltage"] - min(cells)) < 0.002
    assert abs(v["/System/MaxCellVoltage"] - max(cells)) < 0.002
    assert abs(v["/Dc/0/Voltage"] - sum(cells)) < 0.1
    assert abs(v["/Dc/0/Power"] - v["/Dc/0/Voltage"] * v["/Dc/0/Current"]) < 0.01 * abs(
        v["/Dc/0/Power"]) + 1.0
    assert 0 <= v["/Soc"] <= 100 and 0 <= v["/Soh"] <= 100
    assert v["/InstalledCapacity"] == pytest.approx(280.0)
    assert 0 <= v["/Capacity"] <= v["/InstalledCapacity"]
    assert v["/ConsumedAmphours"] <= 0
    assert -20 < v["/Dc/0/Temperature"] < 60
    assert 16 * 3.0 < v["/Info/MaxChargeVoltage"] <= 16 * 3.65
    assert v["/Info/BatteryLowVoltage"] < v["/Info/MaxChargeVoltage"]
    assert v["/Info/MaxChargeCurrent"] >= 0 and v["/Info/MaxDischargeCurrent"] >= 0
    assert v["/System/MinVoltageCellId"].startswith("C")
    assert items["/Dc/0/Voltage"]["Text"].endswith("V")


def test_get_value_and_get_text_on_root_inner_nodes_and_leaves(rig):
    conn = rig["conn"]
    root = call(conn, SIM_NAME, "/", "GetValue")
    assert isinstance(root, dbus.Dictionary) and root.signature == "sv"
    assert "Dc/0/Voltage" in root and "Info/MaxChargeVoltage" in root
    assert all(not k.startswith("/") for k in root)
    dc = call(conn, SIM_NAME, "/Dc", "GetValue")
    assert dc.signature == "sv"
    assert set(dc) == {"0/Voltage", "0/Current", "0/Power", "0/Temperature"}
    assert dtype(dc["0/Voltage"]) == "d"
    text = call(conn, SIM_NAME, "/Dc/0", "GetText")
    assert text.signature == "ss" and text["Voltage"].endswith("V")
    leaf_text = call(conn, SIM_NAME, "/Dc/0/Voltage", "GetText")
    assert isinstance(leaf_text, dbus.String) and leaf_text.endswith("V")
    assert dtype(call(conn, SIM_NAME, "/System/NrOfCellsPerBattery", "GetValue")) == "i"
    xml = call(conn, SIM_NAME, "/", "Introspect", iface="org.freedesktop.DBus.Introspectable")
    assert '<node name="Dc"/>' in xml and '<node name="Info"/>' in xml and "GetItems" in xml
    xml = call(conn, SIM_NAME, "/Dc", "Introspect", iface="org.freedesktop.DBus.Introspectable")
    assert '<node name="0"/>' in xml and BUSITEM in xml
    with pytest.raises(dbus.exceptions.DBusException) as e:
        call(conn, SIM_NAME, "/No/Such/Path", "GetValue")
    assert "UnknownObject" in e.value.get_dbus_name()


def test_items_changed_and_properties_changed_arrive_on_change(rig):
    conn = rig["conn"]
    batches, props = [], []
    m1 = conn.add_signal_receiver(lambda items: batches.append(items), "ItemsChanged", BUSITEM,
                                  SIM_NAME, "/")
    m2 = conn.add_signal_receiver(lambda change, path=None: props.append((path, change)),
                                  "PropertiesChanged", BUSITEM, SIM_NAME, path_keyword="path")
    try:
        # The simulator's current and SOC move every second.
        assert pump(lambda: batches and props, 15), "no ItemsChanged / PropertiesChanged"
        paths = set(call(conn, SIM_NAME, "/", "GetItems"))
        for batch in batches:
            assert batch and set(batch) <= paths
            for entry in batch.values():
                assert set(entry) == {"Value", "Text"}
        path, change = props[0]
        assert path in paths and set(change) == {"Value", "Text"}
    finally:
        m1.remove()
        m2.remove()


def test_set_value_only_custom_name_and_bad_values_change_nothing(rig):
    conn = rig["conn"]
    assert call(conn, SIM_NAME, "/CustomName", "SetValue", dbus.String("Shed battery")) == 0
    assert call(conn, SIM_NAME, "/CustomName", "GetValue") == "Shed battery"
    assert call(conn, SIM_NAME, "/CustomName", "GetText") == "Shed battery"
    # A wrong type and an overlong name are rejected (2), the name stays.
    assert call(conn, SIM_NAME, "/CustomName", "SetValue", dbus.Int32(7)) == 2
    assert call(conn, SIM_NAME, "/CustomName", "SetValue", dbus.String("x" * 200)) == 2
    assert call(conn, SIM_NAME, "/CustomName", "SetValue", dbus.Int32(1), dbus.Int32(2),
                signature="ii") == 2
    assert call(conn, SIM_NAME, "/CustomName", "GetValue") == "Shed battery"
    # A measurement is not writeable (1) and keeps the bridge's value.
    assert call(conn, SIM_NAME, "/Dc/0/Voltage", "SetValue", dbus.Double(12.0)) == 1
    assert call(conn, SIM_NAME, "/Info/MaxChargeVoltage", "SetValue", dbus.Double(60.0)) == 1
    assert call(conn, SIM_NAME, "/Dc", "SetValue", dbus.Double(1.0)) == 1
    volts = call(conn, SIM_NAME, "/Dc/0/Voltage", "GetValue")
    assert dtype(volts) == "d" and 40 < volts < 60
    assert call(conn, SIM_NAME, "/Info/MaxChargeVoltage", "GetValue") < 59
    # The name survives the next publications (kept in memory for the run).
    time.sleep(1.5)
    assert call(conn, SIM_NAME, "/CustomName", "GetValue") == "Shed battery"


def test_flood_of_calls_does_not_stop_the_service(rig):
    flood = rig["bus"].client()
    done = {"ok": 0, "err": 0}
    total = 10000
    paths = ["/Dc/0/Voltage", "/Soc", "/", "/Dc", "/Info/MaxChargeCurrent", "/No/Such"]

    def ok(*_):
        done["ok"] += 1

    def err(_e):
        done["err"] += 1

    for k in range(total):
        path = paths[k % len(paths)]
        method = "GetItems" if k % 50 == 0 else "GetValue"
        flood.call_async(SIM_NAME, "/" if method == "GetItems" else path, BUSITEM, method, "",
                         (), reply_handler=ok, error_handler=err, timeout=300)
    # Another client keeps being answered meanwhile (its own blocking calls, in a thread).
    probe = rig["bus"].client(mainloop=False)
    answers = []
    stop = threading.Event()

    def probing():
        while not stop.is_set():
            try:
                answers.append(call(probe, SIM_NAME, "/Soc", "GetValue", timeout=60))
            except dbus.exceptions.DBusException as e:
                answers.append(e)
            time.sleep(0.05)

    t = threading.Thread(target=probing)
    t.start()
    try:
        assert pump(lambda: done["ok"] + done["err"] == total, 180), done
    finally:
        stop.set()
        t.join(70)
    # Every call answered: a value, or (for /No/Such) an UnknownObject error, nothing dropped.
    assert done["err"] == sum(1 for k in range(total) if k % 50 != 0 and paths[k % 6] == "/No/Such")
    assert answers and all(isinstance(a, dbus.Double) for a in answers), answers[:3]
    assert rig["bridge"].proc.poll() is None
    assert dtype(call(rig["conn"], SIM_NAME, "/Dc/0/Voltage", "GetValue")) == "d"
    flood.close()
    probe.close()


def test_user_changing_the_instance_reannounces(rig):
    conn = rig["conn"]
    setting = "/Settings/Devices/tinybms_simulator/ClassAndVrmInstance"
    assert call(conn, "com.victronenergy.settings", setting, "GetValue") == "battery:513"
    events = []
    m = conn.add_signal_receiver(lambda n, old, new: events.append(new), "NameOwnerChanged",
                                 "org.freedesktop.DBus", "org.freedesktop.DBus",
                                 "/org/freedesktop/DBus", arg0=SIM_NAME)
    try:
        assert call(conn, "com.victronenergy.settings", setting, "SetValue",
                    dbus.String("battery:520")) == 0
        # Released and claimed again, so that systemcalc rescans it.
        assert pump(lambda: "" in events and events[-1] != "", 15), events
        assert pump(lambda: call(conn, SIM_NAME, "/DeviceInstance", "GetValue") == 520, 5)
    finally:
        m.remove()
    assert "device instance changed from 513 to 520" in rig["bridge"].log()


def test_no_settings_service_uses_the_preferred_instance(tmp_path):
    bus = Bus(tmp_path)
    bridge = Bridge(tmp_path, bus, "--simulate")
    try:
        conn = bus.client()
        assert pump(lambda: has_name(conn, SIM_NAME), 20), bridge.log()
        assert call(conn, SIM_NAME, "/DeviceInstance", "GetValue") == 512
        assert "no device instance from com.victronenergy.settings" in bridge.log()
    finally:
        bridge.stop()
        bus.stop()


def test_configuration_enables_the_service_with_its_instance_id_and_name(tmp_path):
    bus = Bus(tmp_path)
    can_log = tmp_path / "can.log"
    # No --dbus: victron.dbus.enabled; the configured CAN interface is still opened.
    bridge = Bridge(tmp_path, bus, "--simulate", "--can", f"log:{can_log}", dbus_flag=False,
                    victron={"dbus": {"enabled": True, "device_instance": 300,
                                      "product_id": 0xBA70, "custom_name": "Boat bänk"}})
    try:
        conn = bus.client()
        assert pump(lambda: has_name(conn, SIM_NAME), 20), bridge.log()
        assert call(conn, SIM_NAME, "/DeviceInstance", "GetValue") == 300
        assert call(conn, SIM_NAME, "/ProductId", "GetValue") == 0xBA70
        assert call(conn, SIM_NAME, "/CustomName", "GetValue") == "Boat bänk"
        assert wait_for(lambda: can_log.exists() and can_log.stat().st_size > 0, 10)
    finally:
        bridge.stop()
        bus.stop()


def test_several_packs_are_one_battery_with_module_counts(tmp_path):
    bus = Bus(tmp_path)
    bridge = Bridge(tmp_path, bus, "--simulate=2")
    try:
        conn = bus.client()
        assert pump(lambda: has_name(conn, SIM_NAME), 20), bridge.log()
        items = call(conn, SIM_NAME, "/", "GetItems")
        missing = sorted(set(MANDATORY) - set(items))
        assert not missing, missing
        assert items["/ProductName"]["Value"] == "TinyBMS bank"
        assert pump(lambda: call(conn, SIM_NAME, "/System/NrOfModulesOnline", "GetValue") == 2,
                    20), bridge.log()
        assert call(conn, SIM_NAME, "/System/NrOfModulesOffline", "GetValue") == 0
        # No /Voltages/CellN with several packs (venus_items.h "Cells").
        assert not [p for p in items if p.startswith("/Voltages/Cell")]
        assert call(conn, SIM_NAME, "/System/MinVoltageCellId", "GetValue").startswith("P")
    finally:
        bridge.stop()
        bus.stop()


def test_a_settings_service_that_starts_later_is_asked_again(tmp_path):
    bus = Bus(tmp_path)
    bridge = Bridge(tmp_path, bus, "--simulate")
    settings = None
    try:
        conn = bus.client()
        assert pump(lambda: has_name(conn, SIM_NAME), 20), bridge.log()
        assert call(conn, SIM_NAME, "/DeviceInstance", "GetValue") == 512
        # localsettings comes up after the bridge, with 512 already someone else's.
        settings = Settings(bus, taken=[512])
        assert pump(lambda: has_name(conn, SIM_NAME) and
                    call(conn, SIM_NAME, "/DeviceInstance", "GetValue") == 513, 20), bridge.log()
        setting = "/Settings/Devices/tinybms_simulator/ClassAndVrmInstance"
        assert call(conn, "com.victronenergy.settings", setting, "GetValue") == "battery:513"
        assert "device instance changed from 512 to 513" in bridge.log()
    finally:
        bridge.stop()
        if settings:
            settings.stop()
        bus.stop()


def test_sigterm_releases_the_name(tmp_path):
    bus = Bus(tmp_path)
    settings = Settings(bus)
    bridge = Bridge(tmp_path, bus, "--simulate")
    try:
        conn = bus.client()
        assert pump(lambda: has_name(conn, SIM_NAME), 20), bridge.log()
        assert call(conn, SIM_NAME, "/DeviceInstance", "GetValue") == 512
        assert bridge.stop() == 0
        assert not has_name(conn, SIM_NAME)
        assert f"D-Bus: {SIM_NAME} released" in bridge.log()
    finally:
        bridge.stop()
        settings.stop()
        bus.stop()


def test_bus_restart_keeps_the_bridge_running_and_reannounces(tmp_path):
    bus = Bus(tmp_path)
    settings = Settings(bus, taken=[512])
    can_log = tmp_path / "can.log"
    bridge = Bridge(tmp_path, bus, "--simulate", "--can", f"log:{can_log}")
    try:
        conn = bus.client()
        assert pump(lambda: has_name(conn, SIM_NAME), 20), bridge.log()
        assert call(conn, SIM_NAME, "/DeviceInstance", "GetValue") == 513
        conn.close()
        settings.stop()
        bus.stop()
        assert wait_for(lambda: "D-Bus: the system bus went away" in bridge.log(), 15), \
            bridge.log()
        # The bridge goes on without the bus: CAN frames keep being written.
        size = can_log.stat().st_size
        assert wait_for(lambda: can_log.stat().st_size > size, 10)
        assert bridge.proc.poll() is None
        bus.start()
        # Back on the bus with the instance it had (no settings service this time).
        conn = bus.client()
        assert pump(lambda: has_name(conn, SIM_NAME), 30), bridge.log()
        assert call(conn, SIM_NAME, "/DeviceInstance", "GetValue") == 513
        assert dtype(call(conn, SIM_NAME, "/Dc/0/Voltage", "GetValue")) == "d"
        assert bridge.log().count("the system bus went away") == 1
    finally:
        bridge.stop()
        settings.stop()
        bus.stop()


def test_a_bus_that_never_answers_does_not_stall_the_bridge(tmp_path):
    import socket
    path = tmp_path / "mute.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():  # takes connections, never says a word
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept)
    t.start()

    class MuteBus:
        address = f"unix:path={path}"

    can_log = tmp_path / "can.log"
    bridge = Bridge(tmp_path, MuteBus, "--simulate", "--can", f"log:{can_log}")
    try:
        assert wait_for(lambda: accepted, 10), bridge.log()
        # Meanwhile the loop runs on: CAN frames keep being written.
        assert wait_for(lambda: can_log.exists() and can_log.stat().st_size > 0, 10)
        size = can_log.stat().st_size
        assert wait_for(lambda: can_log.stat().st_size > size, 10)
        assert wait_for(lambda: "did not answer Hello" in bridge.log(), 30), bridge.log()
        assert bridge.proc.poll() is None
        assert bridge.stop() == 0
    finally:
        bridge.stop()
        stop.set()
        t.join(5)
        for c in accepted:
            c.close()
        server.close()


class MutablePeer:
    """peers/modbus_tinybms.py --control on a socat pty pair: a TinyBMS that can go quiet."""

    def __init__(self, tmp):
        self.a, self.b = str(tmp / "uart-a"), str(tmp / "uart-b")
        self.socat = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: os.path.exists(self.a) and os.path.exists(self.b), 5), "socat"
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(PEERS / "modbus_tinybms.py"), self.b, "--control"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self._line(10) == "ready"

    def _line(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().strip() if ready else ""

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        assert self._line(5) == "ok", line

    def close(self):
        for p in (self.proc, self.socat):
            if p.poll() is None:
                p.terminate()
                p.wait(5)


def test_stale_data_invalidates_measurements_and_limits_then_recovers(tmp_path):
    bus = Bus(tmp_path)
    peer = MutablePeer(tmp_path)
    name = "com.victronenergy.battery.uart-a"
    bridge = Bridge(tmp_path, bus, "--uart", peer.a, bms_timeout_ms=2000)
    try:
        conn = bus.client()
        assert pump(lambda: has_name(conn, name), 20), bridge.log()

        def get(path):
            return call(conn, name, path, "GetValue")

        assert wait_for(lambda: get("/Connected") == 1, 15), bridge.log()
        assert dtype(get("/Info/MaxChargeVoltage")) == "d"
        assert get("/Mgmt/Connection").endswith("uart-a")
        peer.cmd("mute")
        # Within the BMS timeout (2 s) plus generous slack: the limits must go, not only
        # /Connected (systemcalc keeps using a BMS whose limits stay valid).
        assert wait_for(lambda: get("/Connected") == 0, 15), bridge.log()
        for path in ("/Info/MaxChargeVoltage", "/Info/MaxChargeCurrent",
                     "/Info/MaxDischargeCurrent", "/Dc/0/Voltage", "/Soc"):
            assert dtype(get(path)) == "invalid", path
            assert call(conn, name, path, "GetText") == "---"
        assert get("/ProductName") == "TinyBMS" and has_name(conn, name)
        peer.cmd("unmute")
        assert wait_for(lambda: get("/Connected") == 1, 15), bridge.log()
        assert dtype(get("/Info/MaxChargeVoltage")) == "d"
        assert dtype(get("/Dc/0/Voltage")) == "d"
    finally:
        bridge.stop()
        peer.close()
        bus.stop()
