#!/usr/bin/python3
"""A stand-in for Venus OS localsettings (com.victronenergy.settings), in python3-dbus, for the
D-Bus battery service tests (venus-dbus.md "Device instance").

    venus_settings.py ADDRESS [--taken N ...]

Serves on the bus at ADDRESS:
  /Settings  com.victronenergy.Settings.AddSetting(group s, name s, default v, type s, min v,
             max v) -> i (0): creates the setting once; a "Devices/<uid>/ClassAndVrmInstance"
             whose default "class:N" asks for an instance already taken (--taken, or another
             device's) gets the next free one, as localsettings does.
  /Settings/<name>  com.victronenergy.BusItem GetValue -> v, GetText -> s, SetValue(v) -> i:
             a change emits PropertiesChanged({"Value", "Text"}) from that path and
             ItemsChanged({path: {"Value", "Text"}}) from "/".
Prints "ready" once it owns the name; runs until SIGTERM."""
import argparse
import signal

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

SETTINGS = "com.victronenergy.Settings"
BUSITEM = "com.victronenergy.BusItem"


class LocalSettings(dbus.service.FallbackObject):
    def __init__(self, conn, taken):
        super().__init__(conn, "/")
        self.values = {}  # "/Settings/Devices/x/ClassAndVrmInstance" -> value
        self.taken = set(taken)

    def _instances_in_use(self, cls):
        used = set(self.taken)
        for path, v in self.values.items():
            if path.endswith("/ClassAndVrmInstance") and str(v).startswith(cls + ":"):
                used.add(int(str(v).split(":", 1)[1]))
        return used

    @dbus.service.method(SETTINGS, in_signature="ssvsvv", out_signature="i",
                         rel_path_keyword="rel")
    def AddSetting(self, group, name, default, itemtype, minimum, maximum, rel=None):
        if rel != "/Settings":
            raise dbus.exceptions.DBusException("no such object",
                                                name="org.freedesktop.DBus.Error.UnknownObject")
        path = "/Settings/" + "/".join(p for p in (str(group), str(name)) if p)
        if path in self.values:
            return 0
        value = default
        if path.endswith("/ClassAndVrmInstance"):
            cls, num = str(default).split(":", 1)
            n = int(num)
            used = self._instances_in_use(cls)
            while n in used:
                n += 1
            value = dbus.String(f"{cls}:{n}")
        self.values[path] = value
        return 0

    @dbus.service.method(BUSITEM, out_signature="v", rel_path_keyword="rel")
    def GetValue(self, rel=None):
        if rel not in self.values:
            raise dbus.exceptions.DBusException(rel, name="org.freedesktop.DBus.Error.UnknownObject")
        return self.values[rel]

    @dbus.service.method(BUSITEM, out_signature="s", rel_path_keyword="rel")
    def GetText(self, rel=None):
        return str(self.values.get(rel, "---"))

    @dbus.service.method(BUSITEM, in_signature="v", out_signature="i", rel_path_keyword="rel")
    def SetValue(self, value, rel=None):
        if rel not in self.values:
            return 1
        self.values[rel] = value
        change = {"Value": value, "Text": str(value)}
        self.PropertiesChanged(change, rel_path=rel[1:])  # appended to "/"
        self.ItemsChanged({rel: change}, rel_path="/")
        return 0

    @dbus.service.signal(BUSITEM, signature="a{sv}", rel_path_keyword="rel_path")
    def PropertiesChanged(self, change, rel_path=None):
        pass

    @dbus.service.signal(BUSITEM, signature="a{sa{sv}}", rel_path_keyword="rel_path")
    def ItemsChanged(self, items, rel_path=None):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("address")
    ap.add_argument("--taken", type=int, action="append", default=[])
    args = ap.parse_args()
    address, taken = args.address, args.taken
    DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(address)
    name = dbus.service.BusName("com.victronenergy.settings", conn)
    LocalSettings(conn, taken)
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    print("ready", flush=True)
    loop.run()
    del name


if __name__ == "__main__":
    main()
