"""Helpers for the fault, hostile-data, privilege, TLS and load tests.

* :class:`FakeMySQL`: a real TCP peer speaking just enough of the MySQL/MariaDB
  client protocol to complete a handshake and then misbehave in one chosen,
  deterministic way (answer every query with an ERR packet such as Galera's
  1047, drop the connection mid-query, or say nothing at all).
* :class:`PrivateMariaDB`: a MariaDB server of one's own, with extra server options.
* :func:`connections_of` / :func:`wait_no_connections`: what ``SHOW PROCESSLIST``
  says is left on the server for a user.
* :func:`parse_plugin_output`: the plugin's stdout as Icinga 2 and Nagios 4 read it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import socket
import struct
import threading
import time
import warnings
from dataclasses import dataclass, field

from tests.conftest import Run
from tests.harness.mariadb import MariaDB

# Capability flags of the handshake (MySQL client/server protocol, "Capabilities Flags").
_CAPS = (
    0x00000001  # LONG_PASSWORD
    | 0x00000002  # FOUND_ROWS
    | 0x00000004  # LONG_FLAG
    | 0x00000008  # CONNECT_WITH_DB
    | 0x00000200  # PROTOCOL_41
    | 0x00002000  # TRANSACTIONS
    | 0x00008000  # SECURE_CONNECTION
    | 0x00010000  # MULTI_STATEMENTS
    | 0x00020000  # MULTI_RESULTS
    | 0x00080000  # PLUGIN_AUTH
    | 0x00100000  # CONNECT_ATTRS
    | 0x00200000  # PLUGIN_AUTH_LENENC_CLIENT_DATA
)

#: Galera's answer on a node that is not (yet) part of the primary component.
WSREP_NOT_READY = (1047, "08S01", "WSREP has not yet prepared node for application use")
#: A server started with --read-only answering a write (here: any query, to see how the plugin words it).
READ_ONLY = (
    1290,
    "HY000",
    "The MariaDB server is running with the --read-only option so it cannot execute this statement",
)


def _packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


def _ok() -> bytes:
    return b"\x00\x00\x00" + struct.pack("<HH", 0x0002, 0)


def _err(code: int, sqlstate: str, message: str) -> bytes:
    return b"\xff" + struct.pack("<H", code) + b"#" + sqlstate.encode() + message.encode()


def _greeting(connection_id: int) -> bytes:
    salt = b"abcdefghijklmnopqrst"
    return (
        b"\x0a"
        + b"10.11.99-MariaDB-fake\x00"
        + struct.pack("<I", connection_id)
        + salt[:8]
        + b"\x00"
        + struct.pack("<H", _CAPS & 0xFFFF)
        + bytes([45])  # utf8mb4_general_ci
        + struct.pack("<H", 0x0002)
        + struct.pack("<H", _CAPS >> 16)
        + bytes([21])
        + b"\x00" * 10
        + salt[8:]
        + b"\x00"
        + b"mysql_native_password\x00"
    )


@dataclass
class FakeMySQL:
    """A listening socket on 127.0.0.1 that plays a misbehaving MariaDB server.

    mode:
      ``error``  handshake OK, ``SET`` statements OK, every other query answered with ``error``;
      ``drop``   handshake OK, ``SET`` OK, the connection closed when any other query arrives
                 (a server that dies in the middle of a run);
      ``stall``  handshake OK, ``SET`` OK, other queries never answered (a wedged server);
      ``silent`` accepts TCP and never says a word (no greeting at all);
      ``garbage`` sends bytes that are not a MySQL greeting, then closes.
    """

    mode: str
    error: tuple[int, str, str] = WSREP_NOT_READY
    queries: list[str] = field(default_factory=list)
    accepted: int = 0

    def __post_init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, database: str = "nova", user: str = "nova", password: str = "Fake-Secret-1") -> str:
        return f"mysql+pymysql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    @property
    def open_connections(self) -> int:
        """Client connections the fake server still holds open (the client has not hung up)."""
        with self._lock:
            alive = 0
            for conn in self._open:
                try:
                    conn.setblocking(False)
                    alive += conn.recv(1, socket.MSG_PEEK) != b""
                except BlockingIOError:
                    alive += 1
                except OSError:
                    pass
            return alive

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            self.accepted += 1
            with self._lock:
                self._open.append(conn)
            threading.Thread(target=self._talk, args=(conn, self.accepted), daemon=True).start()

    def _read_packet(self, conn: socket.socket) -> tuple[int, bytes] | None:
        header = self._recv_exact(conn, 4)
        if header is None:
            return None
        length = int.from_bytes(header[:3], "little")
        payload = self._recv_exact(conn, length)
        return None if payload is None else (header[3], payload)

    def _recv_exact(self, conn: socket.socket, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            try:
                chunk = conn.recv(size - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data

    def _talk(self, conn: socket.socket, connection_id: int) -> None:
        conn.settimeout(None)
        try:
            if self.mode == "silent":
                self._stop.wait()
                return
            if self.mode == "garbage":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(_packet(0, _greeting(connection_id)))
            answer = self._read_packet(conn)  # the client's handshake response
            if answer is None:
                return
            conn.sendall(_packet(answer[0] + 1, _ok()))
            while not self._stop.is_set():
                request = self._read_packet(conn)
                if request is None:
                    return
                seq, payload = request
                command, body = payload[:1], payload[1:].decode("utf-8", "replace")
                if command == b"\x01":  # COM_QUIT
                    return
                if command != b"\x03":  # COM_PING and friends
                    conn.sendall(_packet(seq + 1, _ok()))
                    continue
                self.queries.append(body)
                if body.lstrip().upper().startswith("SET "):
                    conn.sendall(_packet(seq + 1, _ok()))
                elif self.mode == "error":
                    conn.sendall(_packet(seq + 1, _err(*self.error)))
                elif self.mode == "drop":
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                else:  # stall
                    self._stop.wait()
                    return
        except OSError:
            return
        finally:
            if self.mode not in ("silent", "stall"):
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            for conn in self._open:
                conn.close()
        self._listener.close()


class PrivateMariaDB(MariaDB):
    """A MariaDB server of one's own, with extra server options: for a TLS server, or one to shut
    down in the middle of a run.  Never the shared server of the suite, even when
    NOVA_SERVICES_TEST_DB_URL names one."""

    def __init__(self, *server_options: str) -> None:
        super().__init__(*server_options, private=True)


def connections_of(mariadb, user: str) -> list[tuple]:
    """``SHOW PROCESSLIST`` rows of one user on the test server."""
    return [row for row in mariadb.execute("SHOW FULL PROCESSLIST") if row[1] == user]


def wait_no_connections(mariadb, user: str, within: float = 3.0) -> list[tuple]:
    """Poll until the server holds no session of ``user`` (closing takes the server a moment); return what is left."""
    deadline = time.monotonic() + within
    while True:
        left = connections_of(mariadb, user)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def wait_for_query(mariadb, user: str, needle: str, within: float = 10.0) -> int:
    """The processlist id of ``user``'s session once it runs a statement containing ``needle``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for row in connections_of(mariadb, user):
            if row[7] and needle in row[7]:
                return int(row[0])
        time.sleep(0.02)
    raise AssertionError(f"{user} never ran {needle!r}: {connections_of(mariadb, user)}")


def processes_with(token: str) -> list[int]:
    """Processes (other than this one) whose command line holds ``token``: leftovers of a check run."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if token.encode() in cmdline:
            found.append(int(entry))
    return found


def run_in_process(*argv: str, env: dict[str, str] | None = None) -> Run:
    """The plugin's main() in this process: fast enough for property-based tests.

    nagiosplugin's Runtime is a process-wide singleton that keeps output between runs: it is
    reset before and after.  Warning filters and logging handlers that main() installs are
    restored, and NOVA_SERVICES_* variables of the calling environment are hidden (``env`` sets
    some for the run).
    """
    from nagiosplugin.runtime import Runtime

    from check_nova_services.cli import main as cli

    hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NOVA_SERVICES_")}
    os.environ.update(env or {})
    loggers = [logging.getLogger(), logging.getLogger("nagiosplugin")]
    handlers = [list(logger.handlers) for logger in loggers]
    out, err = io.StringIO(), io.StringIO()
    Runtime.instance = None
    code: int | str | None = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(list(argv))
            except SystemExit as exc:
                code = exc.code
    finally:
        Runtime.instance = None
        for logger, saved in zip(loggers, handlers):
            logger.handlers[:] = saved
        for name in env or {}:
            os.environ.pop(name, None)
        os.environ.update(hidden)
    assert isinstance(code, int), f"main() ended without an exit code: {code!r}"
    return Run(code, out.getvalue(), err.getvalue())


# --- the plugin's output as Icinga 2 and Nagios 4 read it -------------------------------------------

STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)"
_RANGE = rf"@?(?:(?:{_NUMBER}|~)?:)?(?:{_NUMBER})?"
#: Guidelines: 'label'=value[UOM];[warn];[crit];[min];[max]; value in [-0-9.] or U; warn and crit are ranges.
PERF_VALUE = re.compile(rf"^(?:{_NUMBER}|U)(?:s|%|B|c)?(?:;{_RANGE}(?:;{_RANGE}(?:;(?:{_NUMBER})?(?:;(?:{_NUMBER})?)?)?)?)?$")
#: Labels the plugin may print: text.label() characters, quoted when they hold '-' or '.' (nagiosplugin's rule).
PLAIN_LABEL = re.compile(r"^\w+$", re.ASCII)
QUOTED_LABEL = re.compile(r"^'[A-Za-z0-9_.\-]+'$")
#: Nothing but LF may separate or break lines: not CR (Icinga splits on it), not NEL or U+2028/9.
LINE_BREAKERS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class Parsed:
    status_line: str
    state: str
    long_output: list[str]
    perfdata: dict[str, str]


def icinga_split(output: str) -> tuple[str, str]:
    """Icinga 2's PluginUtility::ParseCheckOutput: lines split on CR or LF; on any line, text after the
    first '|' is perfdata if an '=' follows it; perf parts joined with spaces and trimmed."""
    text: list[str] = []
    perf: list[str] = []
    for line in re.split(r"[\r\n]", output):
        delim = line.find("|")
        if delim >= 0 and "=" in line[delim:]:
            text.append(line[:delim])
            perf.append(line[delim + 1 :])
        else:
            text.append(line)
    return "\n".join(text), " ".join(perf).strip()


def icinga_split_perfdata(perfdata: str) -> list[tuple[str, str]]:
    """Icinga 2's PluginUtility::SplitPerfdata: label up to the next '=', value up to the next space."""
    items = []
    begin = 0
    while True:
        eqp = perfdata.find("=", begin)
        if eqp < 0:
            return items
        label = perfdata[begin:eqp].lstrip()
        space = perfdata.find(" ", eqp)
        if space < 0:
            space = len(perfdata)
        items.append((label, perfdata[eqp + 1 : space]))
        begin = space + 1


def nagios_split(output: str) -> tuple[str, list[str], str]:
    """Nagios 4's parse_check_output: first line = short output | perfdata; later lines are long output
    until one holds a '|', after which everything is perfdata."""
    lines = output.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    first, _, perf = lines[0].partition("|")
    long_output: list[str] = []
    perf_parts = [perf] if perf else []
    in_perf = False
    for line in lines[1:]:
        if in_perf:
            perf_parts.append(line)
        elif "|" in line:
            in_perf = True
            before, _, after = line.partition("|")
            if before:
                long_output.append(before)
            perf_parts.append(after)
        else:
            long_output.append(line)
    return first.strip(), long_output, " ".join(p for p in perf_parts if p)


def parse_plugin_output(stdout: str, code: int) -> Parsed:
    """Assert the output obeys the plugin API as both cores read it, and return its parts."""
    assert code in STATES, code
    assert stdout.endswith("\n"), repr(stdout)
    assert not LINE_BREAKERS.search(stdout), f"control or line-breaking character in {stdout!r}"
    lines = stdout[:-1].split("\n")
    status = lines[0].split(" | ", 1)[0]
    assert status.startswith(f"NOVA_SERVICES {STATES[code]} - "), (status, code)
    assert stdout.count("|") <= 1, f"more than one '|': {stdout!r}"
    if "|" in stdout:
        assert " | " in lines[0] or lines[-1].startswith("| "), f"perfdata in the middle: {stdout!r}"
    for line in lines[1:]:
        assert not line.startswith("NOVA_SERVICES "), f"a second status line: {line!r}"
    icinga_text, icinga_perf = icinga_split(stdout)
    short, long_output, nagios_perf = nagios_split(stdout)
    assert short == status, (short, status)
    assert icinga_text.split("\n")[0].rstrip() == status
    assert icinga_perf.split() == nagios_perf.split(), (icinga_perf, nagios_perf)
    perfdata: dict[str, str] = {}
    for label, value in icinga_split_perfdata(icinga_perf):
        assert PLAIN_LABEL.match(label) or QUOTED_LABEL.match(label), f"bad label {label!r} in {stdout!r}"
        assert PERF_VALUE.match(value), f"bad value {value!r} for {label!r}"
        name = label.strip("'")
        assert name not in perfdata, f"duplicate label {name!r}"
        perfdata[name] = value
    if "|" in stdout:
        assert perfdata, f"a '|' but no perfdata: {stdout!r}"
    return Parsed(status, STATES[code], long_output, perfdata)
