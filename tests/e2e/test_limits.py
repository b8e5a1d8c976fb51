"""Slow, silent and odd clients against ``python -m bot`` on loopback: half-open and silent sockets
are closed on a deadline and never starve a normal request; slow bodies, idle keep-alive
connections, oversized heads and deeply nested JSON get a 4xx or a close, never a 5xx or a hang."""

from __future__ import annotations

import json
import select
import socket
import time
import urllib.error
import urllib.request

import pytest

from tests.support.process import Bot

HALF_OPEN, SILENT = 200, 1100


def _running(tmp, idle_timeout: str) -> Bot:
    bot = Bot(tmp, None, BOT_SERVER_HEADER_TIMEOUT_SECONDS="4", BOT_SERVER_BODY_TIMEOUT_SECONDS="1",
              BOT_SERVER_IDLE_TIMEOUT_SECONDS=idle_timeout, BOT_LOG_LEVEL="INFO")
    bot.start()
    return bot


@pytest.fixture(scope="module")
def bot(tmp_path_factory, bot_host):
    """One ``python -m bot`` per host for the module (a process start is most of each test's time):
    each test leaves it as it found it, and every test checks that it still answers. The idle
    timeout is longer than the head deadline: what closes the silent sockets is the head deadline."""
    running = _running(tmp_path_factory.mktemp(f"limits-{bot_host}"), "30")
    yield running
    running.stop()
    assert running.process is not None and running.process.returncode == 0


@pytest.fixture
def quick_idle_bot(tmp_path):
    running = _running(tmp_path, "1")
    yield running
    running.stop()
    assert running.process is not None and running.process.returncode == 0


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def wait_until_all_closed(sockets: list[socket.socket], seconds: float) -> list[socket.socket]:
    """Waits for the server to close every socket (EOF or reset); returns those still open."""
    by_fd = {sock.fileno(): sock for sock in sockets}
    poller = select.poll()
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + seconds
    while by_fd and time.monotonic() < deadline:
        for fd, _ in poller.poll(100):
            try:
                closed = by_fd[fd].recv(65536) == b""  # an answer (none expected) is read; the close follows
            except OSError:  # reset
                closed = True
            if closed:
                poller.unregister(fd)
                del by_fd[fd]
    return list(by_fd.values())


def healthz(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return response.status


def raw_request(port: int, data: bytes, wait: float = 5) -> bytes:
    with connect(port) as sock:
        sock.sendall(data)
        sock.settimeout(wait)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def test_half_open_and_silent_sockets_neither_starve_the_server_nor_stay_open(bot):
    sockets = []
    try:
        for _ in range(HALF_OPEN):  # a request head that never ends
            sock = connect(bot.port)
            sock.sendall(b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
            sockets.append(sock)
        sockets.extend(connect(bot.port) for _ in range(SILENT))  # connected, then nothing at all
        began = time.monotonic()
        assert healthz(bot.port) == 200  # a normal request is answered while they are all there
        assert time.monotonic() - began < 3
        still_open = wait_until_all_closed(sockets, 4 + 5)  # the head deadline, the reaper's pace, slack
        assert still_open == [], f"{len(still_open)} of {len(sockets)} still open"
        assert healthz(bot.port) == 200
    finally:
        for sock in sockets:
            sock.close()
    assert bot.process is not None and bot.process.poll() is None


def test_a_body_that_stops_coming_gets_408(bot):
    answer = raw_request(bot.port, b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 1000\r\n\r\n{\"type\": ")
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert healthz(bot.port) == 200


def test_an_idle_keep_alive_connection_is_closed(quick_idle_bot):
    with connect(quick_idle_bot.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        began = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server, about a second later
        assert time.monotonic() - began < 4


@pytest.mark.parametrize(
    "head",
    [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n"],
    ids=["one huge header", "too many headers"],
)
def test_an_oversized_request_head_is_refused(bot, head):
    answer = raw_request(bot.port, head)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else None
    assert status is None or 400 <= status < 500, answer[:80]
    assert healthz(bot.port) == 200


@pytest.mark.parametrize(
    "body",
    ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000, "[" * 100_000 + "]" * 100_000,
     json.dumps({"type": "message", "text": "x", "channelData": json.loads('{"a":' * 70 + "1" + "}" * 70)})],
    ids=["list 1000 deep", "object 1000 deep", "list 100000 deep", "an activity with a 70-deep field"],
)
def test_deeply_nested_json_is_a_400(bot, body):
    request = urllib.request.Request(f"http://127.0.0.1:{bot.port}/api/messages", data=body.encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        urllib.request.urlopen(request, timeout=5)
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
        reason = json.loads(error.read())["error"]
    assert status == 400 and reason == "JSON nested too deeply"
    assert healthz(bot.port) == 200
