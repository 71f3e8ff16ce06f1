"""The ESP32 firmware's compile check (scripts/esp32-check, make esp32-check, docs/esp32.md).

With an ESP-IDF v6 tree in IDF_PATH (and its managed components beside it, see the script's
header) every port/esp32/main, port/posix, app and core C file must compile -fsyntax-only
for the ESP32-C3 against its headers, and a wrong ESP-IDF field name must fail the check.
CI has no ESP-IDF: those tests are skipped there, saying so. The script's answer without an
ESP-IDF (skipped, exit 0) and with a folder that is not one (exit 2) is checked everywhere."""
import os
import re
import subprocess

import pytest

from conftest import BUILD, ROOT

SCRIPT = ROOT / "scripts" / "esp32-check"
SKIPPED = "esp32-check: skipped: no ESP-IDF (set IDF_PATH to an ESP-IDF v6 tree)"
SUMMARY = re.compile(r"^esp32-check: (\d+) files ok against ESP-IDF (v6\.\d+\.\d+) \(esp32c3\)$")
IDF_PATH = os.environ.get("IDF_PATH")
needs_idf = pytest.mark.skipif(not IDF_PATH, reason="IDF_PATH is not set: no ESP-IDF v6 tree "
                               "to check against (CI has none; make esp32-check IDF_PATH=...)")


def run(*args, idf=None, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != "IDF_PATH"}
    if idf is not None:
        env["IDF_PATH"] = str(idf)
    env["ESP32_CHECK_OUT"] = str(BUILD / "esp32-check")
    return subprocess.run([str(SCRIPT), *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_esp32_check_without_idf_path_says_skipped_and_exits_0():
    res = run()
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == SKIPPED


def test_esp32_check_with_a_folder_that_is_not_esp_idf_exits_2(tmp_path):
    res = run(idf=tmp_path)
    assert res.returncode == 2
    assert "is not an ESP-IDF tree" in res.stderr


def sources():
    files = []
    for folder in ("port/esp32/main", "port/posix", "app", "core/src"):
        files += sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / folder).glob("*.c"))
    return files


@needs_idf
def test_esp32_check_every_firmware_source_compiles_against_esp_idf():
    res = run(idf=IDF_PATH)
    lines = res.stdout.splitlines()
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr
    m = SUMMARY.match(lines[-1])
    assert m, lines[-1]
    expected = sources() + ["port/esp32/check/budget.c"]
    assert int(m.group(1)) == len(expected)
    ok = {line.split(None, 1)[1] for line in lines if line.startswith("ok ")}
    assert ok == set(expected)
    memory = {line.split()[1]: int(line.split()[2]) for line in lines
              if line.startswith("memory: ") and not line.startswith("memory: static")}
    for name in ("svc_t", "svc_t.status_t", "svc_t.cfg_t", "svc_t.brg_t", "hub"):
        assert memory.get(name, 0) > 0, name
    # The service holds its configuration, bridge, history and status.
    assert memory["svc_t"] > (memory["svc_t.cfg_t"] + memory["svc_t.brg_t"]
                              + memory["svc_t.history_t"] + memory["svc_t.status_t"])


@needs_idf
def test_esp32_check_fails_a_file_with_a_wrong_esp_idf_field(tmp_path):
    bad = tmp_path / "bad_twai.c"
    bad.write_text('#include "esp_twai_onchip.h"\n'
                   "void bad_twai(void);\n"
                   "void bad_twai(void)\n"
                   "{\n"
                   "    twai_onchip_node_config_t c = {.io_cfg.tx_pin = 4};\n"
                   "    (void)c;\n"
                   "}\n")
    res = run(bad, idf=IDF_PATH)
    assert res.returncode == 1
    assert f"FAILED  {bad}" in res.stdout
    assert "tx_pin" in res.stdout
    assert "FAILED against ESP-IDF" in res.stdout.splitlines()[-1]
