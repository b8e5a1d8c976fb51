"""Every start-up failure — store, directory, key, port, configuration — ends the process at once:
non-zero, one line on stderr, no traceback, no client data, and nothing written over."""

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.process import Bot

SECRET = "Qzxsentinel Vandenberghe"  # a client's name in a broken directory: never on screen


def start(tmp: Path, **env: str) -> tuple[int, str, str, float]:
    """Run ``python -m bot`` to its end: exit code, stdout, stderr, and the CPU seconds it used."""
    bot = Bot(tmp, None, **{"BOT_LOG_LEVEL": "INFO", **env})
    out, err = tmp / "stdout.txt", tmp / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp, env=bot.env, stdout=stdout, stderr=stderr)
    began = time.monotonic()
    while (done := os.wait4(process.pid, os.WNOHANG))[0] == 0:
        if time.monotonic() - began > HANG:
            process.kill()
            raise AssertionError(f"still running after {HANG} s: it hangs")
        time.sleep(0.02)
    _, status, usage = done
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, out.read_text(), err.read_text(), usage.ru_utime + usage.ru_stime


def store_file(tmp: Path) -> Path:
    path = tmp / "data" / "terugkoppeling.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def foreign_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer TEXT)")
        db.execute("INSERT INTO invoices (customer) VALUES ('someone else')")


STORES = {
    "not SQLite": (lambda p: p.write_bytes(b"these are not the pages you are looking for\n" * 40),
                   "is not an SQLite database"),
    "SQLite header, garbage after": (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000),
                                     "is not a usable SQLite database"),
    "zero length": (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    "another application's database": (foreign_database, "another application's database"),
}


# "Within 2 s" on an idle machine, where importing the bot is about 1 s of it. A test machine's cores
# are shared with other suites, so what is bounded is the CPU the process spends (import included,
# machine load excluded), and a wall-clock limit catches a hang.
CPU_BOUND, HANG = 3.0, 15.0  # (the Agents SDK's import alone takes ~1.5 s of CPU here)


def assert_one_clean_line(code: int, out: str, err: str, seconds: float, expected: str) -> None:
    assert code != 0
    assert seconds < CPU_BOUND, f"used {seconds:.2f} s of CPU to give up"
    assert "Traceback" not in err + out and "listening" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("case", list(STORES))
def test_a_store_file_that_is_not_ours_is_refused_and_left_alone(tmp_path, case):
    make, expected = STORES[case]
    path = store_file(tmp_path)
    make(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, out, err, seconds = start(tmp_path)
    assert_one_clean_line(code, out, err, seconds, expected)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # not migrated, not replaced


ENTRY = f'"klant_id": "K-77", "naam": "{SECRET}", "geboortedatum": "1990-04-12", "actief_inburgeringstraject": true'
RECIPIENT = ('"trajectbegeleider": {"naam": "Els", "email": "els@atlas.example", "aad_object_id": "x", '
             '"agency": "atlas"}')


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"clients": [{' + ENTRY + "}]}", "is not a valid client directory"),
        ('{"clients": [{' + ENTRY.replace("1990-04-12", "12/04/1990") + ", " + RECIPIENT + "}]}",
         "is not a valid client directory"),
        ('{"clients": [{' + ENTRY + ", ", "is not valid JSON"),
        (b"\xff\xfe" + SECRET.encode("utf-16-le"), "cannot be read"),
    ],
    ids=["missing field", "wrong date", "truncated JSON", "not UTF-8"],
)
def test_a_malformed_directory_is_one_line_without_its_data(tmp_path, content, expected):
    directory = tmp_path / "clients.json"
    directory.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, out, err, seconds = start(tmp_path, BOT_DIRECTORY_FILE=str(directory))
    assert_one_clean_line(code, out, err, seconds, expected)
    for private in ("Qzxsentinel", "Vandenberghe", "1990", "K-77"):
        assert private not in out + err
    assert not (tmp_path / "data" / "terugkoppeling.db").exists()  # nothing opened before the directory


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"BOT_DATA_KEY": "not base64!"}, "BOT_DATA_KEY is not valid base64"),
        ({"BOT_DATA_KEYS_PREVIOUS": "AAAA"}, "BOT_DATA_KEYS_PREVIOUS must be base64 of 32 bytes"),
        ({"PORT": "99999"}, "configuration error: PORT"),
        ({"BOT_SERVER_MAX_CONNECTIONS": "1"}, "BOT_SERVER_MAX_CONNECTIONS"),
    ],
)
def test_a_bad_key_or_setting_is_one_line(tmp_path, env, expected):
    code, out, err, seconds = start(tmp_path, **env)
    assert_one_clean_line(code, out, err, seconds, expected)


def test_a_second_instance_on_a_taken_port_says_so_and_leaves(tmp_path, connector):
    first = Bot(tmp_path / "first", connector)
    (tmp_path / "first").mkdir()
    first.start()
    try:
        (tmp_path / "second").mkdir()
        code, out, err, seconds = start(tmp_path / "second", PORT=str(first.port))
        assert_one_clean_line(code, out, err, seconds, f"PORT {first.port}")
        assert "already in use" in err
        assert first.process is not None and first.process.poll() is None  # the first one is untouched
    finally:
        first.stop()
    assert first.process.returncode == 0


def test_local_mode_says_listening_only_once_it_listens(tmp_path):
    """The banner comes after the bind: whoever reads "listening" can connect."""
    bot = Bot(tmp_path, None)
    bot.env.pop("BOT_DATA_KEY")
    (tmp_path / "data").mkdir()
    process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp_path, env=bot.env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "listening:" in line:
                break
        with urllib.request.urlopen(f"http://127.0.0.1:{bot.port}/healthz", timeout=2) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
