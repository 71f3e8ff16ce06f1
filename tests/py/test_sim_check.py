"""Short closed-loop runs (make test): build/sim-check --days 3 with both configurations,
and the two-pack bank.

The 30-day run is `make sim-check`. The bridge's charge controller drives a simulated
Victron charger/inverter from its own 0x351 frames against the TinyBMS simulator.
"""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("TBVB_BUILD", ROOT / "build"))


def run(*args):
    return subprocess.run([str(BUILD / "sim-check"), *args], capture_output=True, text=True,
                          timeout=60)


def test_sim_check_three_days_both_configs_pass():
    res = run("--days", "3", "--config", "both")
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "RESULT ours PASS" in out
    assert "RESULT seed" in out
    for check in ("max_cell_mv", "min_cell_mv", "max_state_changes_per_day",
                  "full_on_enough_pv_days"):
        assert f"ASSERT ours {check}" in out
    days = [l for l in out.splitlines() if l[:1].isdigit()]
    assert len(days) == 3
    assert all("| ours" in l and "| seed" in l for l in days)


def test_sim_check_three_days_two_pack_bank_passes():
    """Two mismatched packs on one bus: no pack above its own over-current setting, no cell
    past a cutoff, full on the days with enough PV."""
    res = run("--days", "3", "--config", "bank")
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "RESULT bank PASS" in out
    for check in ("pack_current <= own TinyBMS over-current", "cells within reg315",
                  "full_on_enough_pv_days"):
        assert f"ASSERT bank {check}" in out
    assert "0 cuts: PASS" in out
    days = [l for l in out.splitlines() if l[:1].isdigit()]
    assert len(days) == 3
    # Each pack's highest charge current (columns p1maxA, p2maxA) stays under its 60 A cutoff.
    for l in days:
        cols = l.split("|")[1].split()
        assert 0 < float(cols[0]) < 60.0 and 0 < float(cols[1]) < 60.0, l


def test_sim_check_rejects_bad_arguments():
    assert run("--days", "0").returncode == 2
    assert run("--config", "nonsense").returncode == 2
