"""Superset's configuration for `make bi` (read through SUPERSET_CONFIG_PATH, see bi/run.sh).

Everything Superset keeps (its SQLite metadata database, the secret key) lives in SUPERSET_HOME
(default .bi/, git-ignored). The served marts are registered by bi/provision.py, read-only.
"""

import logging
import os
import secrets
import warnings
from pathlib import Path

HOME = Path(os.environ["SUPERSET_HOME"])
HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SUPERSET_SECRET_KEY if set, else a random key made once and kept in SUPERSET_HOME."""
    if os.environ.get("SUPERSET_SECRET_KEY"):
        return os.environ["SUPERSET_SECRET_KEY"]
    path = HOME / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(42))
    return path.read_text().strip()


warnings.filterwarnings("ignore", message="duckdb-engine doesn't yet support reflection on indices")
warnings.filterwarnings("ignore", message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal objects")


class _NoSpinnerWarning(logging.Filter):
    """The wheel lacks the frontend source file Superset reads its default spinner from: a warning a page."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Could not load default spinner SVG" not in record.getMessage()


logging.getLogger("superset.views.base").addFilter(_NoSpinnerWarning())

SECRET_KEY = _secret_key()
LOG_LEVEL = os.environ.get("PFPW_BI_LOG_LEVEL", "WARNING")
SQLALCHEMY_DATABASE_URI = f"sqlite:///{HOME / 'superset.db'}?check_same_thread=false"

# A local trial: no rate limiter (its in-memory store only warns), no examples, no caches of data (every
# chart asks serving.duckdb, so a new publication shows at the next refresh)
RATELIMIT_ENABLED = False
AUTH_RATE_LIMITED = False
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# The township charts keep to the latest year of their mart with a filter
# `year = (select max(year) from marts.<mart>)`: Superset refuses subqueries in ad-hoc filters
# unless this flag is on.
FEATURE_FLAGS = {"ALLOW_ADHOC_SUBQUERY": True}

# Nothing leaves the machine: the default policy lets the page load a telemetry pixel
# (apachesuperset.gateway.scarf.sh), map tiles and web fonts; this one allows this server only.
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False

# the browser's language picks nothing: the UI is in English, the marts' names and the charts in Chinese
BABEL_DEFAULT_LOCALE = "en"

# Least privilege (bi/provision.py registers the one database; its connection cannot read files, attach
# databases, write or change its settings). Here: nothing is uploaded into a database (the upload forms'
# file types are emptied, besides the database's allow_file_upload=false), no cross-origin requests (the
# default allows two map-tile servers), no database URI that Superset deems unsafe (SQLite files), and no
# Jinja templating in SQL. SQL Lab stays, because the connection is locked: the analysts' ad-hoc queries
# run on a connection that can read the served marts only (allow_dml=false on the database is Superset's
# own check, which let `COPY ... TO` and `SET` through on 6.1; DuckDB refused both, and every file access).
CSV_EXTENSIONS: set[str] = set()
EXCEL_EXTENSIONS: set[str] = set()
COLUMNAR_EXTENSIONS: set[str] = set()
ALLOWED_EXTENSIONS: set[str] = set()
ENABLE_CORS = False
PREVENT_UNSAFE_DB_CONNECTIONS = True
FEATURE_FLAGS["ENABLE_TEMPLATE_PROCESSING"] = False
