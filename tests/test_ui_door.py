"""`make serve`'s door: nginx asks for a password in front of a webserver that listens on 127.0.0.1 only.

`make serve` is started as a user starts it (its own process group, without the virtualenv on PATH), on a
Dagster instance in tmp_path and on free ports; the proxy listens on 127.0.0.2 so that its socket and the
webserver's (127.0.0.1) are told apart in /proc/net/tcp.
"""

import base64
import importlib.util
import json
import os
import shutil
import signal
import socket
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dagster_project.settings import PROJECT_DIR
from tests.processes import env_without_venv, free_port, log_tail, make, start, stop_group, wait_until

pytestmark = pytest.mark.xdist_group("ui_door")

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
STARTUP_TIMEOUT = 150  # the webserver alone takes 10-50 s on the 2-core machine, by its load
PII_KEY = "ui-door-test-key-not-the-sample"
PASSWORD = "door-test-password-7f3a"
PROXY_HOST = "127.0.0.2"


def serve_env(base: Path, **extra: str) -> dict:
    env = env_without_venv(base, free_port())
    for name in ("PFPW_UI_PASSWORD", "PFPW_UI_USER", "PFPW_UI_TLS_CERT", "PFPW_UI_TLS_KEY", "UI_HOST"):
        env.pop(name, None)
    env.update(PFPW_PII_KEY=PII_KEY, **extra)
    return env


def post_version(url: str, auth: tuple[str, str] | None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": "{ version }"}).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def listeners(port: int) -> set[str]:
    """The local addresses (hex, as the kernel writes them) of the TCP sockets listening on port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_off_loopback_without_a_password_make_serve_refuses_before_starting_anything(tmp_path):
    env = serve_env(tmp_path, UI_INTERNAL_PORT=str(free_port()))
    started = time.monotonic()
    run = make("serve", "UI_HOST=0.0.0.0", env=env, timeout=60)
    took = time.monotonic() - started
    assert run.returncode == 2, run.stdout + run.stderr
    assert "PFPW_UI_PASSWORD" in run.stderr, run.stderr
    assert took < 20, f"make serve took {took:.1f} s to refuse"
    # nothing started, nothing written: no instance folder, no proxy prefix, no listener
    assert not (tmp_path / "dagster_home").exists()
    assert "dagster-webserver" not in run.stdout and "nginx" not in run.stdout
    assert not listeners(int(env["UI_PORT"])) and not listeners(int(env["UI_INTERNAL_PORT"]))


def test_the_proxys_settings_on_loopback_and_off(tmp_path, monkeypatch):
    """Without PFPW_UI_PASSWORD on loopback: a generated password, mode 0600, and only its hash for nginx."""
    spec = importlib.util.spec_from_file_location(
        "serve_proxy", PROJECT_DIR / "deploy" / "proxy" / "serve_proxy.py"
    )
    proxy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(proxy)
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert proxy.is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "10.1.2.3", "example.org"):
        assert not proxy.is_loopback(host), host
    assert proxy.listen_address("::1", 3000) == "[::1]:3000"
    assert proxy.listen_address("", 3000) == "3000"

    monkeypatch.delenv("PFPW_UI_PASSWORD", raising=False)
    args = proxy.argparse.Namespace(host="127.0.0.1", port=3000, upstream="127.0.0.1:3070", user="pfpw")
    args.dir = str(tmp_path / "proxy")
    if NGINX is None:
        monkeypatch.setattr(proxy, "find_nginx", lambda: "/usr/sbin/nginx")
    conf = proxy.settings(args)
    nginx_conf, runtime = proxy.prepare(conf)
    stored = tmp_path / "proxy" / "ui-password"
    password = stored.read_text().strip()
    assert len(password) >= 24 and stat.S_IMODE(stored.stat().st_mode) == 0o600
    htpasswd = (runtime or tmp_path / "proxy") / "htpasswd"
    entry = htpasswd.read_text()
    assert entry.startswith("pfpw:") and password not in entry and password not in nginx_conf.read_text()
    assert f"auth_basic_user_file {htpasswd};" in nginx_conf.read_text()
    assert "listen 127.0.0.1:3000;" in nginx_conf.read_text()
    if runtime is not None:
        shutil.rmtree(runtime)
    # the same folder next time: the same password
    runtime = proxy.prepare(conf)[1]
    assert stored.read_text().strip() == password
    if runtime is not None:
        shutil.rmtree(runtime)

    args.host = "0.0.0.0"
    with pytest.raises(proxy.Refused, match="PFPW_UI_PASSWORD"):
        proxy.settings(args)


@pytest.mark.skipif(
    NGINX is None and not os.environ.get("CI"),
    reason="nginx is not installed here (CI installs it: apt-get install nginx-light)",
)
def test_make_serve_asks_for_the_password_and_keeps_the_webserver_on_loopback(tmp_path):
    assert NGINX, "CI must have nginx (apt-get install nginx-light)"
    (tmp_path / "dagster_home").mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.yaml", tmp_path / "dagster_home" / "dagster.yaml")
    internal = free_port()
    env = serve_env(tmp_path, UI_HOST=PROXY_HOST, UI_INTERNAL_PORT=str(internal), PFPW_UI_PASSWORD=PASSWORD)
    port = int(env["UI_PORT"])
    url = f"http://{PROXY_HOST}:{port}"
    log = tmp_path / "make_serve.log"

    def answers() -> bytes | None:
        code, body = post_version(url, ("pfpw", PASSWORD))
        return body if code == 200 else None

    started = time.monotonic()
    proc = start(["make", "serve"], log, env=env)
    stopped = None
    try:
        body = wait_until("a 200 through the proxy", answers, STARTUP_TIMEOUT, proc, log=log)
        print(f"`make serve` answered through the proxy after {time.monotonic() - started:.0f} s")
        assert json.loads(body)["data"]["version"]

        assert post_version(url, None)[0] == 401
        assert post_version(url, ("pfpw", "not-the-password"))[0] == 401
        assert post_version(url, ("someone", PASSWORD))[0] == 401
        assert post_version(url, ("pfpw", PASSWORD))[0] == 200

        # the UI's websocket (GraphQL subscriptions) is upgraded through the proxy
        key = base64.b64encode(os.urandom(16)).decode()
        creds = base64.b64encode(f"pfpw:{PASSWORD}".encode()).decode()
        with socket.create_connection((PROXY_HOST, port), timeout=10) as ws:
            ws.sendall(
                (
                    f"GET /graphql HTTP/1.1\r\nHost: {PROXY_HOST}:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                    f"Sec-WebSocket-Protocol: graphql-ws\r\nAuthorization: Basic {creds}\r\n\r\n"
                ).encode()
            )
            status = ws.recv(4096).split(b"\r\n", 1)[0]
        assert status.startswith(b"HTTP/1.1 101"), status

        # the webserver on 127.0.0.1 only, the proxy on the address UI_HOST names
        assert listeners(internal) == {"0100007F"}, listeners(internal)
        assert listeners(port) == {"0200007F"}, listeners(port)
        # nginx keeps its files in the instance's proxy/ folder; the password itself is nowhere there
        prefix = tmp_path / "dagster_home" / "proxy"
        assert (prefix / "nginx.conf").exists() and (prefix / "nginx.pid").exists()
        assert not (prefix / "ui-password").exists()
        for path in prefix.rglob("*"):
            if path.is_file():
                assert PASSWORD not in path.read_text(errors="replace"), path
        assert PASSWORD not in log.read_text(errors="replace")

        # SIGTERM to make alone: it passes it to the recipe's shell, whose trap stops the three
        proc.send_signal(signal.SIGTERM)
        stopped = stop_group(proc, steps=((0, 45),))
        assert stopped is not None, f"processes left after SIGTERM:\n{log_tail(log)}"
        print(f"`make serve` and all its processes ended {stopped:.1f} s after SIGTERM")
    finally:
        if stopped is None:
            stop_group(proc)
