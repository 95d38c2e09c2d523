"""`python -m bot` as operators run it: a separate process, its exit code and its output."""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.integrations.alipay import public_key_of
from flows import ALL_FLOWS, MENU_LAYOUT
from tests.bot.test_records_import import good_rows, write_csv
from tests.support.production import production_environ
from tests.support.servers import free_port

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


def test_alipay_menu_print_shows_the_same_journeys_as_out_buttons():
    done = run_bot("alipay-menu", "--print")
    assert done.returncode == 0, done.stderr
    menu = json.loads(done.stdout)
    assert [top["name"] for top in menu["button"]] == [name for name, _ in MENU_LAYOUT]
    buttons = [sub for top in menu["button"] for sub in top.get("sub_button", [top])]
    assert all(button["action_type"] == "out" for button in buttons)
    keys = [button["action_param"] for button in buttons]
    assert keys == [key for _, group in MENU_LAYOUT for key in group]
    assert all(len(button["name"]) <= 9 for button in [*menu["button"], *buttons])


def test_regression_bad_face_provider_started_redis_and_seeded_before_failing(tmp_path: Path):
    """`face.provider = alipay` without keys used to create the data dir, start Redis, seed
    demo data and then exit 1 with a traceback."""
    data_dir = tmp_path / "data"
    done = run_bot("serve", "--data-dir", str(data_dir), BOT__FACE__PROVIDER="alipay")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        "configuration error: alipay.appid: is required with face.provider = alipay"]
    assert not data_dir.exists()


def test_regression_import_into_a_data_dir_that_does_not_exist_yet(tmp_path: Path):
    """It used to end in a traceback: SQLite cannot create a file in a missing directory."""
    data_dir = tmp_path / "fresh" / "data"
    done = run_bot("import", str(write_csv(tmp_path / "rows.csv", good_rows())),
                   BOT__SERVER__DATA_DIR=str(data_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported records: licence 1, vehicle 1, violation 1"
    assert (data_dir / "traffic.sqlite3").is_file()


# In-process from here: the same main() as `python -m bot`, without a process per case.

COMMANDS = [["serve"], ["worker"], ["migrate"], ["chat"], ["wechat-menu"], ["alipay-menu"],
            ["seed-demo"], ["import", "rows.csv"]]


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Path]:
    """Replace the BOT_ variables main() reads; returns the data dir they name."""
    def set_environ(**variables: str) -> Path:
        for name in os.environ:
            if name.startswith("BOT_"):
                monkeypatch.delenv(name)
        data_dir = tmp_path / "data"
        for name, value in {"BOT__SERVER__DATA_DIR": str(data_dir), **variables}.items():
            monkeypatch.setenv(name, value)
        return data_dir

    return set_environ


def one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run main(argv), which must refuse with exit 2 and one stderr line; return the line."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("configuration error: ")
    return line


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: argv[0])
def test_every_command_refuses_bad_configuration_before_touching_anything(
        argv: list[str], environ: Callable[..., Path], capsys: pytest.CaptureFixture[str]):
    data_dir = environ(BOT__FACE__PROVIDER="alipay")
    assert "alipay.appid" in one_error_line(capsys, argv)
    assert not data_dir.exists()


@pytest.mark.parametrize("argv", [["chat"], ["seed-demo"]], ids=lambda argv: argv[0])
def test_sandbox_tools_are_refused_in_production(argv: list[str], environ: Callable[..., Path],
                                                 capsys: pytest.CaptureFixture[str]):
    environ(**production_environ())
    assert "server.mode: " in one_error_line(capsys, argv)


@pytest.mark.parametrize("argv", [c for c in COMMANDS if c[0] != "chat"],
                         ids=lambda argv: argv[0])
def test_a_data_dir_that_cannot_be_made_is_named(argv: list[str], environ: Callable[..., Path],
                                                 capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    environ(BOT__SERVER__DATA_DIR=str(blocker / "data"))
    line = one_error_line(capsys, argv)
    assert line.endswith(f"server.data_dir: {blocker} is not a directory")


def test_a_port_in_use_is_named_before_anything_starts(environ: Callable[..., Path],
                                                       capsys: pytest.CaptureFixture[str]):
    data_dir = environ()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(capsys, ["serve", "--port", str(port)])
    assert line.endswith(f"server.port: cannot listen on 127.0.0.1:{port} "
                         "(Address already in use)")
    assert not data_dir.exists()


def test_an_unreachable_database_is_one_line_not_a_traceback(environ: Callable[..., Path],
                                                             capsys: pytest.CaptureFixture[str]):
    environ(BOT__DATABASE__URL=f"postgres://bot:{SECRET}@127.0.0.1:{free_port()}/traffic")
    assert main(["migrate"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("migrate failed: ConnectionRefusedError: ")
    assert SECRET not in line
    environ(BOT__DATABASE__URL="")  # the failed attempt left no half-open ORM context
    assert main(["migrate"]) == 0


@pytest.mark.parametrize(("key", "value"), [
    ("BOT__ALIPAY__APP_PRIVATE_KEY", SECRET),
    ("BOT__ALIPAY__ALIPAY_PUBLIC_KEY", SECRET),
    ("BOT__ALIPAY__APP_PRIVATE_KEY", "public"),  # a public key where the private one goes
])
def test_an_alipay_key_the_sdk_cannot_load_is_named_at_start_up(
        key: str, value: str, environ: Callable[..., Path], capsys: pytest.CaptureFixture[str],
        alipay_sandbox_keys: dict[str, str]):
    private = alipay_sandbox_keys["app"]
    keys = {"BOT__ALIPAY__APP_PRIVATE_KEY": private,
            "BOT__ALIPAY__ALIPAY_PUBLIC_KEY": public_key_of(private)}
    keys[key] = public_key_of(private) if value == "public" else value
    data_dir = environ(BOT__FACE__PROVIDER="alipay", BOT__ALIPAY__APPID="2021000000000001",
                       **keys)
    line = one_error_line(capsys, ["serve"])
    assert f"alipay.{key.split('__')[-1].lower()}: not an RSA" in line
    assert SECRET not in line
    assert not data_dir.exists()
