"""The door of `make serve`: nginx, in the foreground, asking for HTTP basic auth in front of dagster-webserver.

Only the standard library: `make serve` runs it with the project's Python, systemd or a shell could run it
with any Python 3. Two commands:

  check  validate the settings (exit 2 with a message, before `make serve` starts anything)
  run    validate again, write the proxy's prefix (nginx.conf, htpasswd, logs/, temp/, nginx.pid) into
         --dir, then run nginx in the foreground until it exits or this process gets SIGTERM/SIGINT

Settings: --host/--port (where the proxy listens), --upstream (the webserver, on 127.0.0.1), --user, and
from the environment PFPW_UI_PASSWORD (never on a command line: it would show in `ps`), PFPW_UI_TLS_CERT
and PFPW_UI_TLS_KEY. Without PFPW_UI_PASSWORD a loopback proxy uses a random password kept in
DIR/ui-password (mode 0600, generated once); any other address is refused. The password is never
printed; nginx gets only its salted SHA-512 crypt hash (or {SSHA} where libcrypt is missing).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import ctypes.util
import grp
import hashlib
import ipaddress
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

EXIT_USAGE = 2
PROG = "make serve"
PASSWORD_FILE = "ui-password"
HTPASSWD = "htpasswd"
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class Refused(Exception):
    """A setting `make serve` must not start with: exit 2, nothing started."""


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name, an empty host (all addresses), ...


def listen_address(host: str, port: int) -> str:
    host = host.strip()
    if not host:
        return str(port)
    if host.lower() == "localhost":
        host = "127.0.0.1"  # nginx would resolve it to one address only, and maybe to ::1
    bare = host.strip("[]")
    if ":" in bare:
        return f"[{bare}]:{port}"
    return f"{host}:{port}"


def find_nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise Refused(
        "nginx is not installed (Debian: apt-get install nginx-light); the UI is not served without it"
    )


def settings(args: argparse.Namespace) -> dict:
    """Everything `run` needs, or Refused naming what is missing."""
    user = args.user
    if not user or any(c in user for c in ":\n\r"):
        raise Refused(f"PFPW_UI_USER {user!r} is not a valid user name (empty, or contains ':' or a newline)")
    password = os.environ.get("PFPW_UI_PASSWORD", "")
    if "\n" in password or "\r" in password:
        raise Refused("PFPW_UI_PASSWORD contains a newline")
    loopback = is_loopback(args.host)
    if not password and not loopback:
        raise Refused(
            f"UI_HOST={args.host!r} is not a loopback address: set PFPW_UI_PASSWORD (the password of user "
            f"{user!r} at the proxy) before serving the UI to the network"
        )
    cert = os.environ.get("PFPW_UI_TLS_CERT", "")
    key = os.environ.get("PFPW_UI_TLS_KEY", "")
    if bool(cert) != bool(key):
        raise Refused("set both PFPW_UI_TLS_CERT and PFPW_UI_TLS_KEY (or neither)")
    for name, path in (("PFPW_UI_TLS_CERT", cert), ("PFPW_UI_TLS_KEY", key)):
        if path and not Path(path).is_file():
            raise Refused(f"{name}={path}: no such file")
    upstream_host, _, upstream_port = args.upstream.rpartition(":")
    if not is_loopback(upstream_host):
        raise Refused(f"the webserver must listen on loopback only, not on {args.upstream}")
    return {
        "user": user,
        "password": password,
        "loopback": loopback,
        "tls": (str(Path(cert).resolve()), str(Path(key).resolve())) if cert else None,
        "listen": listen_address(args.host, args.port),
        "upstream": args.upstream,
        "dir": Path(args.dir).resolve(),
        "nginx": find_nginx(),
    }


# --- the password, hashed -------------------------------------------------------------------------------

_SALT_CHARS = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _libcrypt():
    name = ctypes.util.find_library("crypt")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
    return lib


def hash_password(password: str) -> str:
    """What nginx's auth_basic_user_file accepts: SHA-512 crypt through the libcrypt nginx itself verifies
    with, else {SSHA} (salted SHA-1, which nginx verifies by itself)."""
    lib = _libcrypt()
    if lib is not None:
        setting = "$6$" + "".join(secrets.choice(_SALT_CHARS) for _ in range(16))
        hashed = lib.crypt(password.encode(), setting.encode())
        if hashed and hashed.decode().startswith(setting + "$"):
            return hashed.decode()
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


# --- the prefix --------------------------------------------------------------------------------------------


def worker_identity() -> tuple[str, str, int, int] | None:
    """nginx started by root runs its workers as nobody (its group: nogroup on Debian); else as the caller."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    group = grp.getgrgid(entry.pw_gid)
    return entry.pw_name, group.gr_name, entry.pw_uid, entry.pw_gid


def reachable(path: Path, uid: int, gid: int) -> bool:
    """Whether a process of uid:gid (no supplementary groups) can search every directory above path."""
    for parent in path.parents:
        st = parent.stat()
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def write_private(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, mode)  # an existing file keeps its mode through O_CREAT


def the_password(conf: dict) -> str:
    if conf["password"]:
        return conf["password"]
    stored = conf["dir"] / PASSWORD_FILE
    if stored.exists():
        os.chmod(stored, 0o600)
        password = stored.read_text().strip()
        if password:
            print(
                f"{PROG}: no PFPW_UI_PASSWORD: the UI's password (user {conf['user']}) is in {stored}",
                flush=True,
            )
            return password
    password = secrets.token_urlsafe(24)
    write_private(stored, password + "\n", 0o600)
    print(
        f"{PROG}: no PFPW_UI_PASSWORD: generated a password for user {conf['user']} into {stored} (mode 0600)",
        flush=True,
    )
    return password


NGINX_CONF = """\
# generated by deploy/proxy/serve_proxy.py at each `make serve`: edits are overwritten
daemon off;
master_process on;
worker_processes 1;
{user_line}pid {dir}/nginx.pid;
error_log {dir}/logs/error.log warn;
error_log stderr crit;

events {{
    worker_connections 512;
}}

http {{
    access_log {dir}/logs/access.log;
    client_body_temp_path {dir}/temp/client_body;
    proxy_temp_path {dir}/temp/proxy;
    fastcgi_temp_path {dir}/temp/fastcgi;
    uwsgi_temp_path {dir}/temp/uwsgi;
    scgi_temp_path {dir}/temp/scgi;
    server_tokens off;

    # websockets (the UI's GraphQL subscriptions): pass the upgrade through, else close
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' close;
    }}

    server {{
        listen {listen}{ssl};
        server_name _;
{tls}
        auth_basic "pfpw";
        auth_basic_user_file {htpasswd};

        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Authorization "";
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            # neither request bodies nor responses go to temp files (workers may not reach this folder)
            proxy_request_buffering off;
            proxy_max_temp_file_size 0;
        }}
    }}
}}
"""

TLS_LINES = """\
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:pfpw_ui:1m;
"""


def prepare(conf: dict) -> tuple[Path, Path | None]:
    """Writes the prefix; returns nginx.conf and the runtime folder to remove afterwards (or None)."""
    root = conf["dir"]
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    (root / "logs").mkdir(exist_ok=True)
    for name in TEMP_DIRS:
        (root / "temp" / name).mkdir(parents=True, exist_ok=True)
    entry = f"{conf['user']}:{hash_password(the_password(conf))}\n"
    worker = worker_identity()
    htpasswd, runtime = root / HTPASSWD, None
    if worker is None:
        write_private(htpasswd, entry, 0o600)
        user_line = ""
    else:
        wuser, wgroup, wuid, wgid = worker
        user_line = f"user {wuser} {wgroup};\n"
        if not reachable(htpasswd, wuid, wgid):
            # e.g. a DAGSTER_HOME under /root or pytest's 0700 temp folder: the workers read the hash per
            # request, so it is served from a folder of its own while nginx runs
            runtime = Path(tempfile.mkdtemp(prefix="pfpw-ui-door-"))
            os.chown(runtime, 0, wgid)
            os.chmod(runtime, 0o750)
            print(
                f"{PROG}: {wuser} cannot reach {root}: the hashed password is in {runtime} while nginx runs"
            )
            htpasswd = runtime / HTPASSWD
        write_private(htpasswd, entry, 0o640)
        os.chown(htpasswd, 0, wgid)
        if runtime is not None:
            write_private(root / HTPASSWD, entry, 0o600)  # the copy the prefix keeps, for the record
    tls = conf["tls"]
    text = NGINX_CONF.format(
        user_line=user_line,
        dir=root,
        listen=conf["listen"],
        ssl=" ssl" if tls else "",
        tls=TLS_LINES.format(cert=tls[0], key=tls[1]) if tls else "",
        htpasswd=htpasswd,
        upstream=conf["upstream"],
    )
    nginx_conf = root / "nginx.conf"
    nginx_conf.write_text(text)
    return nginx_conf, runtime


def run(conf: dict) -> int:
    nginx_conf, runtime = prepare(conf)
    scheme = "https" if conf["tls"] else "http"
    print(
        f"{PROG}: the UI is at {scheme}://{conf['listen']} (nginx, basic auth as {conf['user']})", flush=True
    )
    if not conf["tls"] and not conf["loopback"]:
        print(
            f"{PROG}: warning: basic auth without TLS sends the password in clear: set PFPW_UI_TLS_CERT "
            "and PFPW_UI_TLS_KEY (docs/ui-door.md)",
            file=sys.stderr,
            flush=True,
        )
    children: list[subprocess.Popen] = []
    stopping: list[int] = []

    def forward(signum, _frame):
        stopping.append(signum)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)  # nginx's fast shutdown

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        children.append(
            subprocess.Popen(
                [conf["nginx"], "-p", f"{conf['dir']}/", "-c", str(nginx_conf), "-e", "stderr"],
                stdin=subprocess.DEVNULL,
            )
        )
        if stopping:
            children[0].send_signal(signal.SIGTERM)
        return children[0].wait()
    finally:
        if runtime is not None:
            shutil.rmtree(runtime, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("check", "run"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--upstream", default="127.0.0.1:3070")
    parser.add_argument("--user", default="pfpw")
    parser.add_argument("--dir", required=True, help="the proxy's prefix, e.g. $DAGSTER_HOME/proxy")
    args = parser.parse_args(argv)
    try:
        conf = settings(args)
    except Refused as refused:
        print(f"{PROG}: {refused}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "check":
        return 0
    return run(conf)


if __name__ == "__main__":
    sys.exit(main())
