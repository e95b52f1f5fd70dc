"""Prepare Superset's metadata database in SUPERSET_HOME, in one process (run with .bi-venv's Python).

The same as `superset db upgrade`, `superset init` and `superset fab create-admin` (or
`fab reset-password`), which take ~45 s as three commands that each load the app: here the app
loads once, and the upgrade and the roles are skipped when SUPERSET_HOME was prepared by this
version of Superset already. The admin's password is set to $PFPW_BI_PASSWORD at every start.
"""

import os
import sys
import time
from pathlib import Path

ADMIN = "admin"


def main() -> int:
    started = time.monotonic()
    home = Path(os.environ["SUPERSET_HOME"])
    password = os.environ.get("PFPW_BI_PASSWORD") or "admin"

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade
        from superset import appbuilder, db, security_manager
        from superset.utils.version import get_version_metadata

        version = get_version_metadata().get("version_string", "?")
        stamp = home / ".initialized"
        if not stamp.exists() or stamp.read_text().strip() != version:
            upgrade()  # superset db upgrade
            appbuilder.add_permissions(update_perms=True)  # superset init
            security_manager.sync_role_definitions()
            db.session.commit()
            stamp.write_text(version + "\n")
            print(f"bi: metadata database {home / 'superset.db'} prepared for Superset {version}")

        sm = security_manager
        user = sm.find_user(username=ADMIN)
        if user is None:
            role = sm.find_role(sm.auth_role_admin)
            if not sm.add_user(ADMIN, "Superset", "Admin", "admin@localhost", role, password):
                print("bi: the admin user could not be created", file=sys.stderr)
                return 1
        else:
            sm.reset_password(user.id, password)
        db.session.commit()
    print(f"bi: Superset {version} ready to start ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
