"""Superset's REST API, as bi/provision.py uses it: a logged-in client, and waiting for the server to answer.

Run with .bi-venv's Python (a sibling of provision.py, imported from the script's folder).
"""

from __future__ import annotations

import os
import time

import prison
import requests


class ApiError(RuntimeError):
    pass


class Superset:
    """A logged-in REST client: a JWT for the API, the session cookie and CSRF token for writes."""

    def __init__(self, url: str, username: str, password: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Referer"] = self.url
        token = self.request(
            "POST",
            "security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
        )["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.headers["X-CSRFToken"] = self.request("GET", "security/csrf_token/")["result"]

    def request(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, f"{self.url}/api/v1/{path}", timeout=120, **kwargs)
        if response.status_code >= 400:
            raise ApiError(f"{method} /api/v1/{path}: {response.status_code} {response.text[:2000]}")
        return response.json() if response.content else {}

    def find(self, resource: str, columns: list[str] | None = None, **equal) -> list[dict]:
        query = {
            "filters": [{"col": col, "opr": "eq", "value": value} for col, value in equal.items()],
            "page_size": 100,
        }
        if columns:
            query["columns"] = columns
        return self.request("GET", f"{resource}/", params={"q": prison.dumps(query)})["result"]


def wait_until_up(url: str, server_pid: int | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server_pid is not None:
            try:
                os.kill(server_pid, 0)
            except ProcessLookupError:
                raise SystemExit("bi: Superset stopped before it answered (its log is above)") from None
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or its worker still loading the app
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"bi: Superset did not answer on {url} within {timeout:.0f} s")
        time.sleep(0.5)
