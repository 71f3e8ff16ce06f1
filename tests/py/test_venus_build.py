"""The Venus OS build (make venus, docs/venus-os.md): the armhf dist folder run under qemu-arm
(Debian qemu-user) on the built-in simulator, with CAN to a candump log and with the D-Bus
battery service on a private dbus-daemon (test_dbus.py's peers), and install.sh / uninstall.sh
on a fake root (DESTDIR).

The armhf checks need BUILD/venus/dist, which `make venus` makes (it fetches Debian's armhf
libraries once, so it is not part of make test): without it they are skipped, saying so. The
install-script checks always run, on a dist folder assembled from dist/venus and the host
binary when there is no Venus build, and always with the scripts as they are in dist/venus."""
import os
import pathlib
import shutil
import signal
import stat
import subprocess

import pytest

from conftest import BUILD, ROOT, _binary
from test_dbus import MANDATORY, SIM_NAME, Bus, Settings, call, dtype, has_name, pump

VENUS = pathlib.Path(os.environ.get("TBVB_VENUS_BUILD", BUILD / "venus"))
DIST = VENUS / "dist"
PREFIX = "data/tinybms-bridge"
MARK = "# tinybms-bridge (remove with /data/tinybms-bridge/uninstall.sh)"
QEMU = shutil.which("qemu-arm")


@pytest.fixture(scope="module")
def armhf():
    if not (DIST / "tinybms-bridge").exists():
        pytest.skip(f"no Venus OS build in {DIST}: run 'make venus' (it fetches Debian's armhf "
                    "libraries once, so make test does not)")
    if QEMU is None:
        pytest.skip("qemu-arm is missing (Debian qemu-user; scripts/install-deps --venus)")
    return DIST


def assemble(folder):
    """A dist folder with the scripts from dist/venus as they are in the tree (a dist folder
    made by an older make venus may hold older ones) and the program, libraries and licenses
    of the Venus build; without one, the host's program and no libraries (the scripts only
    copy and link files: what the program is does not matter to them)."""
    shutil.copytree(ROOT / "dist" / "venus", folder)
    if (DIST / "tinybms-bridge").exists():
        shutil.copy2(DIST / "tinybms-bridge", folder / "tinybms-bridge")
        shutil.copytree(DIST / "lib", folder / "lib", symlinks=True)
        shutil.copytree(DIST / "licenses", folder / "licenses")
    else:
        shutil.copy2(_binary("tinybms-bridge"), folder / "tinybms-bridge")
        (folder / "lib").mkdir()
        (folder / "licenses").mkdir()
    return folder


@pytest.fixture(scope="module")
def installed(armhf, tmp_path_factory):
    """The dist folder installed by install.sh into a fake root."""
    root = tmp_path_factory.mktemp("gx")
    run_install(assemble(tmp_path_factory.mktemp("dist") / "dist") / "install.sh", root)
    return root


def run_install(script, root, *args, check=True):
    return subprocess.run(["sh", str(script), *args], env=dict(os.environ, DESTDIR=str(root)),
                          capture_output=True, text=True, timeout=60, check=check)


def readelf(*args):
    return subprocess.run(["readelf", *args], capture_output=True, text=True, check=True,
                          timeout=30).stdout


def needed(path):
    return [line.split("[", 1)[1].rstrip("]") for line in readelf("-d", str(path)).splitlines()
            if "(NEEDED)" in line]


def qemu_bridge(root, *args, env=None, **popen):
    """The installed armhf bridge under qemu-arm; -L makes the fake root the guest's /, so its
    ELF interpreter /data/tinybms-bridge/lib/ld-linux-armhf.so.3 is the shipped one."""
    return subprocess.Popen([QEMU, "-L", str(root), str(root / PREFIX / "tinybms-bridge"), *args],
                            env=env, **popen)


def test_the_program_is_32_bit_arm_hard_float_with_its_libraries_beside_it(armhf):
    binary = armhf / "tinybms-bridge"
    desc = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True,
                          check=True).stdout
    assert "ELF 32-bit LSB" in desc and "ARM, EABI5" in desc, desc
    header = readelf("-h", str(binary))
    assert "hard-float ABI" in header, header
    program = readelf("-l", str(binary))
    assert "[Requesting program interpreter: /data/tinybms-bridge/lib/ld-linux-armhf.so.3]" \
        in program
    dynamic = readelf("-d", str(binary))
    assert "Library rpath: [$ORIGIN/lib]" in dynamic, dynamic
    # Every library the program or a shipped library needs is shipped (the closure).
    shipped = {p.name for p in (armhf / "lib").iterdir()}
    assert {"ld-linux-armhf.so.3", "libc.so.6", "libdbus-1.so.3", "libcjson.so.1",
            "libcivetweb.so.1", "libmosquitto.so.1", "libgcc_s.so.1"} <= shipped
    for obj in [binary, *(armhf / "lib").iterdir()]:
        missing = set(needed(obj)) - shipped
        assert not missing, f"{obj.name} needs {missing}"
    for p in ["install.sh", "uninstall.sh", "service/run", "service/log/run", "tinybms-bridge"]:
        assert os.access(armhf / p, os.X_OK), p
    assert (armhf / "licenses" / "libdbus-1-3.copyright").stat().st_size > 0


def test_the_installed_program_runs_under_qemu_on_the_simulator_and_sends_0x351(installed,
                                                                                 tmp_path):
    can = tmp_path / "can.log"
    version = subprocess.run([QEMU, "-L", str(installed), str(installed / PREFIX / "tinybms-bridge"),
                              "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("tinybms-bridge "), version
    proc = qemu_bridge(installed, "--simulate", "--can", f"log:{can}", "--duration", "5",
                       "--http", "off", "--data-dir", str(tmp_path / "data"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "TinyBMS data valid: sending battery frames" in err, err
    frames = [line.split()[2] for line in can.read_text().splitlines()]
    ids = [f.split("#")[0] for f in frames]
    assert ids.count("351") >= 2, frames
    # 0x351 is CVL, CCL, DCL, DVL: the simulator's pack has a charge voltage and limits.
    data = bytes.fromhex(frames[ids.index("351")].split("#")[1])
    cvl_dv = int.from_bytes(data[0:2], "little")
    assert 200 <= cvl_dv <= 600, data.hex()
    assert {"355", "356", "35A"} <= set(ids), sorted(set(ids))


def test_the_installed_program_publishes_the_battery_on_dbus_under_qemu(installed, tmp_path):
    bus = Bus(tmp_path)
    settings = Settings(bus)
    conn = bus.client()
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
    err_path = tmp_path / "bridge.err"
    with open(err_path, "w") as err:
        proc = qemu_bridge(installed, "--simulate", "--dbus", "--http", "off", "--data-dir",
                           str(tmp_path / "data"), env=env, stdout=subprocess.DEVNULL,
                           stderr=err)
        try:
            assert pump(lambda: has_name(conn, SIM_NAME), 90), err_path.read_text()
            assert pump(lambda: int(call(conn, SIM_NAME, "/Connected", "GetValue")) == 1, 30)
            items = call(conn, SIM_NAME, "/", "GetItems")
            for path, want in MANDATORY.items():
                assert path in items, path
                assert dtype(items[path]["Value"]) in (want, "invalid"), path
            v = {p: items[p]["Value"] for p in items if dtype(items[p]["Value"]) != "invalid"}
            # The simulator's pack as the x86 build shows it (test_dbus): 16 LFP cells, 280 Ah.
            assert v["/ProductName"] == "TinyBMS" and v["/Mgmt/ProcessName"] == "tinybms-bridge"
            cells = [v[f"/Voltages/Cell{k}"] for k in range(1, 17)]
            assert all(2.5 < c < 3.65 for c in cells)
            assert abs(v["/Dc/0/Voltage"] - sum(cells)) < 0.1
            assert v["/InstalledCapacity"] == pytest.approx(280.0)
            assert 0 <= v["/Soc"] <= 100
            assert 16 * 3.0 < v["/Info/MaxChargeVoltage"] <= 16 * 3.65
            assert v["/Info/MaxChargeCurrent"] >= 0 and v["/Info/MaxDischargeCurrent"] >= 0
            # The instance handed out by the settings service (the preferred 512 is free).
            assert v["/DeviceInstance"] == 512
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, err_path.read_text()
            assert pump(lambda: not has_name(conn, SIM_NAME), 10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            settings.stop()
            bus.stop()


# --- install.sh / uninstall.sh on a fake root ---------------------------------------------


@pytest.fixture
def dist(tmp_path):
    return assemble(tmp_path / "dist")


def test_scripts_are_valid_sh():
    for p in ["install.sh", "uninstall.sh", "service/run", "service/log/run"]:
        path = ROOT / "dist" / "venus" / p
        subprocess.run(["sh", "-n", str(path)], check=True, timeout=10)
        assert path.stat().st_mode & stat.S_IXUSR, p


def test_install_is_idempotent_survives_a_fresh_service_folder_and_uninstalls(dist, tmp_path):
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    rc = root / "data" / "rc.local"
    rc.write_text("#!/bin/sh\n/data/other-addon/start.sh\n")
    first = run_install(dist / "install.sh", root)
    assert "installed in" in first.stdout
    prefix = root / PREFIX
    assert (prefix / "tinybms-bridge").read_bytes() == (dist / "tinybms-bridge").read_bytes()
    for p in ["tinybms-bridge", "install.sh", "uninstall.sh", "service/run", "service/log/run"]:
        assert os.access(prefix / p, os.X_OK), p
    link = root / "service" / "tinybms-bridge"
    assert os.readlink(link) == "/data/tinybms-bridge/service"
    assert (root / "data" / "conf" / "tinybms-bridge").is_dir()

    # Again, from the installed copy, then as an update from the dist folder: one rc.local
    # line, the other add-on's kept, and the service folder where supervise keeps its state
    # (daemontools runs inside it) is the same folder, its supervise/ untouched.
    supervise = prefix / "service" / "supervise"
    supervise.mkdir()
    (supervise / "status").write_text("supervise's")
    service_inode = (prefix / "service").stat().st_ino
    run_install(prefix / "install.sh", root)
    run_install(dist / "install.sh", root)
    assert (prefix / "service").stat().st_ino == service_inode
    assert (supervise / "status").read_text() == "supervise's"
    assert sorted(p.name for p in prefix.iterdir()) == [
        "install.sh", "lib", "licenses", "service", "tinybms-bridge", "uninstall.sh"]
    lines = rc.read_text().splitlines()
    assert lines[0] == "#!/bin/sh" and "/data/other-addon/start.sh" in lines
    ours = [line for line in lines if MARK in line]
    assert ours == [f"/data/tinybms-bridge/install.sh --boot {MARK}"], lines
    assert os.access(rc, os.X_OK)

    # A firmware update (or a reboot) brings a fresh /service: rc.local's --boot links it again.
    shutil.rmtree(root / "service")
    run_install(prefix / "install.sh", root, "--boot")
    assert os.readlink(link) == "/data/tinybms-bridge/service"
    assert not (root / "data" / "tinybms-bridge.new").exists()

    (root / "data" / "conf" / "tinybms-bridge" / "config.json").write_text("{}")
    out = run_install(prefix / "uninstall.sh", root)
    assert "configuration kept" in out.stdout
    assert not prefix.exists() and not os.path.lexists(link)
    assert rc.read_text() == "#!/bin/sh\n/data/other-addon/start.sh\n"
    assert (root / "data" / "conf" / "tinybms-bridge" / "config.json").exists()
    # Uninstalling twice is harmless; --purge also removes the configuration.
    run_install(dist / "uninstall.sh", root, "--purge")
    assert not (root / "data" / "conf" / "tinybms-bridge").exists()
    assert rc.read_text() == "#!/bin/sh\n/data/other-addon/start.sh\n"


def test_install_creates_rc_local_and_refuses_what_it_must_not_touch(dist, tmp_path):
    root = tmp_path / "root"
    run_install(dist / "install.sh", root)
    rc = root / "data" / "rc.local"
    assert rc.read_text() == f"#!/bin/sh\n/data/tinybms-bridge/install.sh --boot {MARK}\n"

    # A folder that is not a dist folder: a clear error, nothing changed.
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy2(dist / "install.sh", empty / "install.sh")
    before = (root / PREFIX / "tinybms-bridge").read_bytes()
    bad = run_install(empty / "install.sh", root, check=False)
    assert bad.returncode != 0 and "run it from the dist folder" in bad.stderr
    assert (root / PREFIX / "tinybms-bridge").read_bytes() == before
    assert run_install(dist / "install.sh", root, "--bogus", check=False).returncode == 2

    # /service/tinybms-bridge that is someone's real folder is left alone.
    (root / "service" / "tinybms-bridge").unlink()
    (root / "service" / "tinybms-bridge").mkdir()
    res = run_install(root / PREFIX / "install.sh", root, "--boot", check=False)
    assert res.returncode != 0 and "not a link" in res.stderr
    assert (root / "service" / "tinybms-bridge").is_dir()
