"""The reference tables and the hospitals', court's and finance's files of planned districts."""

from __future__ import annotations

import csv
import io
import json
import os
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from dagster_project.schemas.contract import (
    COURT_ENFORCEMENT,
    COURT_LIANGFEI,
    FEE_DECISIONS,
    FEE_PAYMENTS,
    HOSPITAL_BIRTHS,
    HOSPITAL_PREPREGNANCY,
    REFERENCE_TABLES,
    file_name,
    headers,
)
from dagster_project.synth.model import District, month_of

# the columns (and JSON fields) as the agencies deliver them: the contract's, and the personal names it
# never reads (only fingerprints them) beside them
HOSPITAL_BIRTH_HEADER = tuple(headers(HOSPITAL_BIRTHS))
PREPREGNANCY_HEADER = tuple(
    headers(HOSPITAL_PREPREGNANCY, {"check_id": HOSPITAL_PREPREGNANCY.name_sources[0]})
)
DECISION_HEADER = tuple(headers(FEE_DECISIONS, {"decision_no": FEE_DECISIONS.name_sources[0]}))
PAYMENT_HEADER = tuple(headers(FEE_PAYMENTS))
ENFORCEMENT_FIELDS = tuple(
    headers(COURT_ENFORCEMENT, {"respondent_person_key": COURT_ENFORCEMENT.name_sources[0]})
)
LIANGFEI_FIELDS = tuple(headers(COURT_LIANGFEI))


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_file(path: Path, data: bytes) -> None:
    """``path.write_bytes(data)`` with fewer system calls (thousands of files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def yuan(x: Decimal, rng: random.Random) -> str:
    """Two decimals, sometimes with thousands separators (finance writes both)."""
    return f"{x:,.2f}" if x >= 1000 and rng.random() < 0.5 else f"{x:.2f}"


def write_reference(out: Path, districts: list[District]) -> None:
    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    rows = {
        "townships": [t for d in districts for t in d.townships],
        "villages": [(v.code, v.name, v.township, v.vtype) for d in districts for v in d.villages],
        "hospitals": [h for d in districts for h in d.hospitals],
        "service_stations": [tuple(s.values()) for d in districts for s in d.stations],
    }
    for name, header in REFERENCE_TABLES.items():
        (ref / f"{name}.csv").write_text(csv_text(header, rows[name]), encoding="utf-8", newline="")


def write_hospital(out: Path, d: District, months: list[str], names: dict) -> int:
    """Births and pre-pregnancy checks per hospital and month (GBK); returns the data rows written."""
    births = defaultdict(list)
    for h in d.hospital_births:
        births[(h.hospital, month_of(h.birth))].append(h)
    checks = defaultdict(list)
    for c in d.checks:
        checks[(c["hospital"], month_of(c["checked_on"]))].append(c)
    rows_written = 0
    for month in months:
        folder = out / HOSPITAL_BIRTHS.agency / month
        folder.mkdir(parents=True, exist_ok=True)
        for code, _, _ in d.hospitals:
            rows = [
                (
                    h.cert,
                    h.hospital,
                    h.mother_id,
                    h.village,
                    h.birth.isoformat(),
                    h.sex,
                    h.weight,
                    h.weeks,
                    "有" if h.defect else "无",
                )
                for h in sorted(births.get((code, month), []), key=lambda h: (h.birth, h.cert))
            ]
            write_file(
                folder / file_name(HOSPITAL_BIRTHS, code), csv_text(HOSPITAL_BIRTH_HEADER, rows).encode("gbk")
            )
            rows_written += len(rows)
            rows = [
                (
                    c["check_id"],
                    names[c["woman_id"]],
                    c["woman_id"],
                    c["village"],
                    c["checked_on"].isoformat(),
                    c["risk"],
                )
                for c in sorted(checks.get((code, month), []), key=lambda c: (c["checked_on"], c["check_id"]))
            ]
            write_file(
                folder / file_name(HOSPITAL_PREPREGNANCY, code),
                csv_text(PREPREGNANCY_HEADER, rows).encode("gbk"),
            )
            rows_written += len(rows)
    return rows_written


def _json_amount(x: Decimal | None) -> float | None:
    return None if x is None else float(x)


def _enforcement_line(r: dict, names: dict) -> str:
    values = (
        r["case_no"],
        r["applied_on"].isoformat(),
        r["decision_no"],
        r["respondent_id"],
        names[r["respondent_id"]],
        r["township_code"],
        _json_amount(r["amount_applied"]),
        r["status"],
        [
            {
                "type": m["type"],
                "on": m["on"].isoformat(),
                "amount": _json_amount(m["amount"]),
                "days": m["days"],
            }
            for m in r["measures"]
        ],
        r["updated_at"],
    )
    return json.dumps(dict(zip(ENFORCEMENT_FIELDS, values, strict=True)), ensure_ascii=False)


def _liangfei_line(r: dict) -> str:
    values = (
        r["case_no"],
        r["opened_on"].isoformat(),
        r["township_code"],
        r["kind"],
        r["den_destroyed"],
        _json_amount(r["admin_fine"]),
        r["rebirth_permits_cancelled"],
        r["criminal_detentions"],
        r["sentenced"],
        r["status"],
        r["updated_at"],
    )
    return json.dumps(dict(zip(LIANGFEI_FIELDS, values, strict=True)), ensure_ascii=False)


def court_and_finance_rows(d: District, months: list[str], rng: random.Random, names: dict) -> dict:
    """The district's court lines and finance rows by month, each with its sort key, in file order.

    Files of several districts merge these lists with a stable sort on the key, in district order,
    which is the order one sort of all districts' rows gives.
    """
    enf, lf, dec, pay = (defaultdict(list) for _ in range(4))
    for r in d.enforcement_records:
        enf[r["delivered"]].append(r)
    for r in d.liangfei_records:
        lf[r["delivered"]].append(r)
    for r in d.decisions:
        dec[r["delivered"]].append(r)
    for r in d.payments:
        pay[r["delivered"]].append(r)
    result: dict[str, dict[str, list]] = {"enforcement": {}, "liangfei": {}, "decisions": {}, "payments": {}}
    for month in months:
        result["enforcement"][month] = [
            ((r["updated_at"][:10], r["case_no"]), _enforcement_line(r, names))
            for r in sorted(enf[month], key=lambda r: (r["updated_at"][:10], r["case_no"]))
        ]
        result["liangfei"][month] = [
            ((r["updated_at"][:10], r["case_no"]), _liangfei_line(r))
            for r in sorted(lf[month], key=lambda r: (r["updated_at"][:10], r["case_no"]))
        ]
        result["decisions"][month] = [
            (
                (r["decided_on"], r["decision_no"]),
                (
                    r["decision_no"],
                    names[r["respondent_id"]],
                    r["respondent_id"],
                    r["township_code"],
                    r["registration_id"],
                    r["decided_on"].isoformat(),
                    yuan(r["assessed"], rng),
                    yuan(r["statutory"], rng),
                ),
            )
            for r in sorted(dec[month], key=lambda r: (r["decided_on"], r["decision_no"]))
        ]
        result["payments"][month] = [
            (
                (r["paid_on"], r["receipt_no"]),
                (
                    r["receipt_no"],
                    r["decision_no"],
                    r["paid_on"].isoformat(),
                    yuan(r["amount"], rng),
                    r["channel"],
                ),
            )
            for r in sorted(pay[month], key=lambda r: (r["paid_on"], r["receipt_no"]))
        ]
    return result


def write_court_and_finance(out: Path, parts: list[dict], months: list[str]) -> int:
    """The court and finance files of every month from the districts' rows; returns the data rows."""

    def merged(kind: str, month: str) -> list:
        return [row for _, row in sorted((x for p in parts for x in p[kind][month]), key=lambda x: x[0])]

    rows_written = 0
    for month in months:
        for kind, spec in (("enforcement", COURT_ENFORCEMENT), ("liangfei", COURT_LIANGFEI)):
            folder = out / spec.agency / month
            folder.mkdir(parents=True, exist_ok=True)
            lines = merged(kind, month)
            (folder / file_name(spec)).write_text("".join(x + "\n" for x in lines), encoding="utf-8")
            rows_written += len(lines)
        for kind, spec, header in (
            ("decisions", FEE_DECISIONS, DECISION_HEADER),
            ("payments", FEE_PAYMENTS, PAYMENT_HEADER),
        ):
            folder = out / spec.agency / month
            folder.mkdir(parents=True, exist_ok=True)
            rows = merged(kind, month)
            (folder / file_name(spec)).write_bytes(csv_text(header, rows).encode("utf-8-sig"))
            rows_written += len(rows)
    return rows_written
