"""Nothing leaves the machine: an import, the first embedding with each backend (the ONNX one
exports its model then) and an app session run under `strace`, and any connection or datagram
to an address that is not this machine's loopback — a DNS lookup included — fails the test.

(Found by an attack run: ONNX Runtime's telemetry looked up mobile.events.data.microsoft.com
during the first export, and a request with a foreign Origin made Streamlit ask
checkip.amazonaws.com for this machine's address.)"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest


pytestmark = pytest.mark.slow

SOCKET_CALL = re.compile(r"\b(connect|sendto|sendmsg)\((?P<args>.*)")
LOOPBACK = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|inet_pton\(AF_INET6, "::ffff:127\.')
TRANSCRIPT = "Interviewer: How was the group?\nAmy: It was good, you know. They rang me back every week.\n"


def _strace() -> str:
    path = shutil.which("strace")
    if path is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    return path


def outside_calls(trace: Path) -> list[str]:
    """Socket calls in a trace that reach beyond loopback: any internet address (a DNS lookup
    is a datagram to port 53 of a name server). The name-service cache's local socket is not
    counted: glibc asks it for user names too, and a DNS lookup it passed on would show here."""
    found = []
    for line in trace.read_text(errors="replace").splitlines():
        call = SOCKET_CALL.search(line)
        if call is None:
            continue
        args = call.group("args")
        if "AF_INET" in args and not LOOPBACK.search(args):
            found.append(line.strip())
    return found


def traced(args: list[str], trace: Path, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([_strace(), "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace), *args],
                          env=env, capture_output=True, text=True, **kwargs)


def test_the_trace_catches_a_lookup(tmp_path):
    """The detector itself: a plain name lookup is caught."""
    trace = tmp_path / "lookup.trace"
    traced([sys.executable, "-c", "import socket\ntry: socket.getaddrinfo('example.org', 80)\nexcept OSError: pass"],
           trace, dict(os.environ), timeout=60)
    assert outside_calls(trace)


def test_import_and_first_embedding_with_both_backends_stay_on_the_machine(tmp_path):
    env = dict(os.environ, WORKBENCH_DATABASE_URL=f"sqlite:///{tmp_path / 'study.db'}",
               WORKBENCH_CACHE_DIR=str(tmp_path / "cache"))  # an empty cache: the ONNX export runs
    source = tmp_path / "amy.txt"
    source.write_text(TRANSCRIPT)
    workbench = str(Path(sys.executable).with_name("workbench"))
    for step, args in (("import", [workbench, "import", str(source)]),
                       ("torch", [workbench, "embed", "--backend", "torch"]),
                       ("onnx", [workbench, "embed", "--backend", "onnx"])):
        trace = tmp_path / f"{step}.trace"
        result = traced(args, trace, env, timeout=900)
        assert result.returncode == 0, (step, result.stderr[-2000:])
        assert outside_calls(trace) == [], step
    assert any((tmp_path / "cache").rglob("model-int8.onnx"))  # the export did run, traced


def test_an_app_session_and_a_foreign_origin_stay_on_the_machine(tmp_path, sample_study):
    import websockets

    from tests.test_browser import start_app

    trace = tmp_path / "app.trace"
    server, url = start_app(sample_study, (_strace(), "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace)))
    port = url.rsplit(":", 1)[1]
    try:
        headers = urllib.request.urlopen(url, timeout=10).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
        assert "img-src 'self' data: blob:" in headers["Content-Security-Policy"]  # no image from elsewhere

        async def session(origin: str) -> int:
            try:
                connection = await websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", origin=origin,
                                                      subprotocols=["streamlit"], open_timeout=20)
            except Exception:  # refused: the origin is not allowed
                return -1
            from streamlit.proto.BackMsg_pb2 import BackMsg

            rerun = BackMsg()
            rerun.rerun_script.query_string = ""  # what a browser sends first: run the app
            received = 0
            async with connection:
                await connection.send(rerun.SerializeToString())
                for _ in range(3):  # the app runs and the server sends its first messages
                    try:
                        await asyncio.wait_for(connection.recv(), timeout=20)
                    except (asyncio.TimeoutError, websockets.ConnectionClosed):
                        break
                    received += 1
            return received

        for origin in ("https://evil.example.org", "http://192.0.2.7:8501"):
            urllib.request.urlopen(urllib.request.Request(f"{url}/_stcore/health", headers={"Origin": origin}),
                                   timeout=10).read()
            assert asyncio.run(session(origin)) == -1, origin  # foreign origins are still refused
        assert asyncio.run(session(url)) >= 1  # a local session runs the app
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    assert outside_calls(trace) == []
