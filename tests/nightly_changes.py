"""The kinds of change a night brings to the landing zone, for the random nights of ``tests/nightly.py``.

``World`` holds one sequence's landing zone, the deliveries held back, the PII key and the day the nights run
on; each of its changes (``World.CHANGES``: a late month, a withdrawn month or file, a correction, a reference
change, a changed ``targets.csv``, a new key, days passing, nothing) edits the zone and says what it did.
``start_world`` holds some deliveries back at first.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import random
import shutil
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from dagster_project.schemas.targets import DISTRICT_DIGITS, INDICATORS, TARGETS_FILE

AGENCIES = ("township", "hospital", "court", "finance")
KEYS = ("nightly-key-one", "nightly-key-two")


@dataclass
class World:
    """The landing zone and what is held back (not yet delivered) or was withdrawn, for one sequence."""

    zone: Path
    pool: Path  # deliveries not yet in the landing zone
    rng: random.Random
    key: str = KEYS[0]
    # the day the nights run on (PFPW_AS_OF): the sample's last months are not yet due at first
    as_of: dt.date = dt.date(2012, 11, 20)
    kinds: list[str] = field(default_factory=list)  # the changes made so far (names of CHANGES)

    def months(self, agency: str, where: Path | None = None) -> list[str]:
        folder = (where or self.zone) / agency
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    # -- each change returns a description, or None when it does not apply tonight
    def late_month(self) -> str | None:
        choices = [(a, m) for a in AGENCIES for m in self.months(a, self.pool)]
        if not choices:
            return None
        agency, month = self.rng.choice(choices)
        shutil.move(self.pool / agency / month, self.zone / agency / month)
        return f"{agency}/{month} arrives"

    def withdraw_month(self) -> str | None:
        choices = [(a, m) for a in AGENCIES for m in self.months(a)]
        if len(choices) < 8:
            return None
        agency, month = self.rng.choice(choices)
        (self.pool / agency).mkdir(parents=True, exist_ok=True)
        shutil.move(self.zone / agency / month, self.pool / agency / month)  # it may come back later
        return f"{agency}/{month} withdrawn"

    def withdraw_file(self) -> str | None:
        files = [
            p for a in ("hospital", "finance", "court") for p in (self.zone / a).glob("*/*") if p.is_file()
        ]
        if not files:
            return None
        victim = self.rng.choice(sorted(files))
        victim.unlink()
        return f"{victim.relative_to(self.zone)} withdrawn"

    def correction(self) -> str | None:
        files = sorted(
            p
            for pattern in ("finance/*/fee_payments.csv", "hospital/*/*_births.csv")
            for p in self.zone.glob(pattern)
        )
        if not files:
            return None
        path = self.rng.choice(files)
        encoding = "gbk" if path.parent.parent.name == "hospital" else "utf-8-sig"
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))
        if len(rows) < 2:
            return None
        i = self.rng.randrange(1, len(rows))
        cells = rows[i]
        if path.name == "fee_payments.csv":
            cells[3] = f"{float(cells[3].replace(',', '')) + 1:.2f}"  # a corrected amount
        elif self.rng.random() < 0.5:
            cells[6] = str(int(cells[6]) + 10)  # a corrected birth weight
        else:
            cells[2] = cells[2][:17] + (
                "0" if cells[2][17] != "0" else "1"
            )  # a bad check character: quarantined
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        path.write_bytes(out.getvalue().encode(encoding))
        return f"{path.relative_to(self.zone)} corrected (line {i + 1})"

    def reference_change(self) -> str | None:
        path = self.zone / "reference" / "service_stations.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        i = self.rng.randrange(1, len(lines))
        cells = lines[i].split(",")
        cells[-1] = "" if cells[-1] else "2012-07-01"  # a station closes mid-2012, or reopens
        lines[i] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return f"reference/service_stations.csv: station {cells[0]} closed_on={cells[-1] or 'empty'}"

    def targets_change(self) -> str | None:
        """``reference/targets.csv`` changes: a target's value, a row added, a row made invalid (quarantined), or
        the file withdrawn; a withdrawn file is delivered again, as it was, the next time."""
        path, held = self.zone / "reference" / TARGETS_FILE, self.pool / "reference" / TARGETS_FILE
        if held.exists():
            shutil.move(held, path)
            return f"reference/{TARGETS_FILE} delivered again"
        if not path.exists():
            return None
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [line.split(",") for line in lines[1:]]
        how = self.rng.choice(("value", "added", "invalid", "withdrawn") if rows else ("added",))
        if how == "withdrawn":
            held.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, held)
            return f"reference/{TARGETS_FILE} withdrawn"
        if how == "added":
            row = self._new_target(rows)
            rows.append(row)
            what = f"a target added: {','.join(row)}"
        else:
            i = self.rng.randrange(len(rows))
            row = rows[i]
            if how == "value":  # raised or lowered by a tenth: a target met may be missed, or the reverse
                factor = Decimal(self.rng.choice(("0.9", "1.1")))
                with contextlib.suppress(InvalidOperation):  # a target made invalid before gets a number
                    row[4] = f"{Decimal(row[4]) * factor:.1f}"
                if not row[4].lstrip("-").replace(".", "", 1).isdigit():
                    row[4] = "100"
            else:  # a fault extracts.md names: the row is quarantined and the file's other targets count
                column, value = self.rng.choice(
                    ((3, "between"), (4, "n/a"), (5, "0"), (2, "abortions"), (0, "12"))
                )
                row[column] = value
            what = f"line {i + 2} {'changed' if how == 'value' else 'made invalid'}: {','.join(row)}"
        path.write_text("\n".join([lines[0], *map(",".join, rows)]) + "\n", encoding="utf-8")
        return f"reference/{TARGETS_FILE}: {what}"

    def _new_target(self, rows: list[list[str]]) -> list[str]:
        """A target the file does not set yet (year, area, indicator), or, when it sets them all, a repeated row."""
        areas = sorted({r[1] for r in rows}) or [self.zone_district()]
        years = sorted({r[0] for r in rows}) or ["2012"]
        have = {(r[0], r[1], r[2]) for r in rows}
        free = [(y, a, i) for y in years for a in areas for i in INDICATORS if (y, a, i) not in have]
        if not free:
            return list(self.rng.choice(rows))  # a repeated (year, area, indicator): the first row counts
        year, area, indicator = self.rng.choice(free)
        # the bound and a plausible target: the same indicator's, at the same level (district or township) if set
        same = [r for r in rows if r[2] == indicator]
        like = [r for r in same if len(r[1]) == len(area)] or same
        bound, target = (like[0][3], like[0][4]) if like else ("min", "50")
        return [year, area, indicator, bound, target, str(self.rng.choice((5, 10, 15)))]

    def zone_district(self) -> str:
        towns = (self.zone / "reference" / "townships.csv").read_text(encoding="utf-8").splitlines()
        return towns[1].split(",")[0][:DISTRICT_DIGITS]

    def new_key(self) -> str | None:
        self.key = KEYS[1] if self.key == KEYS[0] else KEYS[0]
        return "new PII key"

    def time_passes(self) -> str | None:
        """Days pass: a due date may pass, and a missing month turn overdue, with no delivery at all."""
        self.as_of += dt.timedelta(days=self.rng.randint(5, 40))
        return f"time passes: as of {self.as_of}"

    def unchanged(self) -> str | None:
        return "nothing changes"

    CHANGES = (
        "late_month",
        "withdraw_month",
        "withdraw_file",
        "correction",
        "reference_change",
        "targets_change",
        "new_key",
        "time_passes",
        "unchanged",
    )

    def night(self) -> list[str]:
        done = []
        for _ in range(self.rng.choice((1, 1, 2))):
            while True:
                kind = self.rng.choice(self.CHANGES)
                what = getattr(self, kind)()
                if what:
                    done.append(what)
                    self.kinds.append(kind)
                    break
        return done


def start_world(base: Path, root: Path, rng: random.Random) -> World:
    """The base zone with some deliveries held back: months of each agency (early, middle, late) and a whole agency."""
    zone, pool = root / "zone", root / "pool"
    shutil.copytree(base, zone)
    pool.mkdir()
    world = World(zone, pool, rng)
    late_agency = rng.choice(("court", "finance"))
    shutil.move(zone / late_agency, pool / late_agency)  # a new agency folder, later
    for agency in AGENCIES:
        months = world.months(agency)
        for month in rng.sample(months, k=min(3, max(0, len(months) - 12))):
            (pool / agency).mkdir(parents=True, exist_ok=True)
            shutil.move(zone / agency / month, pool / agency / month)
    return world
