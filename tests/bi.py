"""`make bi` as tests/test_bi.py drives it: Superset started on a warehouse's serving.duckdb and stopped with
everything it started, a client of its REST API, bi/provision.py's registration as .bi-venv reads it, and the
月督查 dashboard's charts queried as the dashboard runs them with its filters set."""

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import requests

from tests.processes import TERMINATE_THEN_KILL, free_port, live_members, start, stop_group, wait_until

PROJECT = Path(__file__).resolve().parents[1]
BI_PYTHON = PROJECT / ".bi-venv" / "bin" / "python"
ARTIFACTS = Path(os.environ.get("PFPW_TEST_ARTIFACTS") or PROJECT / "tests" / "artifacts")
PASSWORD = "test-bi-password"
READY = "Ctrl-C stops it."
START_TIMEOUT = 300  # install (cold: ~10 s), metadata database (~20-40 s), server, provisioning


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def make_bi(warehouse: Path, home: Path) -> Iterator[dict]:
    """`make bi` on a free port, its metadata in ``home``, on ``warehouse``'s serving.duckdb, for the block; then
    its process group stopped, its log kept in ARTIFACTS, and nothing of it left running or listening."""
    port = free_port()
    log_path = home / "make_bi.log"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")},
        "PFPW_WAREHOUSE_DIR": str(warehouse),
        "PFPW_BI_HOME": str(home),
        "PFPW_BI_PORT": str(port),
        "PFPW_BI_PASSWORD": PASSWORD,
    }

    def ready() -> bool:
        return READY in log_path.read_text()

    started = time.monotonic()
    process = start(["make", "--no-print-directory", "bi"], log_path, env=env)
    try:
        wait_until("make bi to be ready", ready, START_TIMEOUT, process, log=log_path, step=0.5)
        url = f"http://127.0.0.1:{port}"
        yield {
            "url": url,
            "api": Api(url, "admin", PASSWORD),
            "log": log_path,
            "env": env,
            "serving": warehouse / "serving.duckdb",
            "started_in": time.monotonic() - started,
        }
    finally:
        # SIGTERM to `make bi`'s process group (make, bi/run.sh, gunicorn and its worker), SIGKILL after 30 s
        stopped = stop_group(process, TERMINATE_THEN_KILL)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "make_bi.log").write_text(log_path.read_text())
    assert stopped is not None, f"processes of make bi still run: {live_members(process.pid)}"
    assert not listening(port), "Superset still listens after make bi was stopped"


class Api:
    def __init__(self, url: str, username: str, password: str):
        self.url = url
        self.http = requests.Session()
        response = self.http.post(
            f"{url}/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
            timeout=60,
        )
        response.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self.http.headers["X-CSRFToken"] = self.get("security/csrf_token/")["result"]
        self.http.headers["Referer"] = url

    def get(self, path: str, **kwargs) -> dict:
        response = self.http.get(f"{self.url}/api/v1/{path}", timeout=60, **kwargs)
        assert response.status_code == 200, (path, response.status_code, response.text[:1000])
        return response.json()

    def post(self, path: str, body: dict) -> dict:
        response = self.http.post(f"{self.url}/api/v1/{path}", json=body, timeout=60)
        assert response.status_code == 200, (path, response.status_code, response.text[:1000])
        return response.json()

    def put(self, path: str, body: dict) -> dict:
        response = self.http.put(f"{self.url}/api/v1/{path}", json=body, timeout=60)
        assert response.status_code == 200, (path, response.status_code, response.text[:1000])
        return response.json()

    def sql_lab(self, database_id: int, sql: str) -> requests.Response:
        """SQL Lab's synchronous execution (the database has allow_run_async off), as its editor runs it."""
        return self.http.post(
            f"{self.url}/api/v1/sqllab/execute/",
            json={
                "database_id": database_id,
                "sql": sql,
                "schema": "marts",
                "runAsync": False,
                "client_id": os.urandom(5).hex(),  # SQL Lab's client ids: 10 characters at most
            },
            timeout=60,
        )

    def counts(self) -> dict[str, int]:
        return {r: self.get(f"{r}/")["count"] for r in ("database", "dataset", "chart", "dashboard")}


def provisioned_extra() -> dict:
    """bi/provision.py's EXTRA (its CONNECT_ARGS), read by .bi-venv's Python: the test follows the code."""
    result = subprocess.run(
        [str(BI_PYTHON), "-c", "import json, provision; print(json.dumps(provision.EXTRA))"],
        cwd=PROJECT / "bi",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def year_of(epoch_ms: float) -> int:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).year


def supervision_charts(api: Api) -> dict[str, dict]:
    """The 月督查 dashboard's charts by name, each as the API gives it (with its saved query context)."""
    charts = api.get("dashboard/pfpw-supervision/charts")["result"]
    return {c["slice_name"]: api.get(f"chart/{c['id']}")["result"] for c in charts}


def filtered(api: Api, chart: dict, **equal) -> list[dict]:
    """The chart's saved queries as the dashboard runs them with its native filters set: a filter's
    value arrives as a filter `column IN (value)` of every query (its extra form data)."""
    context = json.loads(chart["query_context"])
    for q in context["queries"]:
        q["filters"] = q.get("filters", []) + [{"col": c, "op": "IN", "val": [v]} for c, v in equal.items()]
    result = api.post("chart/data", context)["result"]
    assert all(not q.get("error") for q in result), chart["slice_name"]
    return result
