"""`python -m bot` as operators run it: a separate process, its exit code and its output."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows import ALL_FLOWS, MENU_LAYOUT

ROOT = Path(__file__).resolve().parent.parent
SECRET = "do-not-print-me-0123456789"


def run_bot(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=clean | environ,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(("name", "value", "named"), [
    ("BOT__SERVER__PORT", "eighty", "BOT__SERVER__PORT"),
    ("BOT__WECHAT__REPLY_BUDGET", "9", "wechat.reply_budget"),
    ("BOT__WECHAT__ENCODING_AES_KEY", SECRET, "wechat.encoding_aes_key"),
])
def test_serve_with_a_bad_setting_exits_2_with_one_line(tmp_path: Path, name: str, value: str,
                                                        named: str):
    done = run_bot("serve", "--data-dir", str(tmp_path), **{name: value})
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("configuration error: ")
    assert named in line
    assert SECRET not in line
    assert not list(tmp_path.iterdir())  # stopped before starting anything


def test_wechat_menu_print_shows_the_journeys_click_keys():
    done = run_bot("wechat-menu", "--print")
    assert done.returncode == 0, done.stderr
    menu = json.loads(done.stdout)
    buttons = [sub for top in menu["button"] for sub in top.get("sub_button", [top])]
    assert all(button["type"] == "click" for button in buttons)
    keys = [button["key"] for button in buttons]
    assert keys == [key for _, group in MENU_LAYOUT for key in group]
    assert set(keys) <= {flow.click_key for flow in ALL_FLOWS}  # each starts a journey
    assert "GUIDE" in keys
