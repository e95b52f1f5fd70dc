"""Writing planned districts as a landing zone, in exactly the contract's formats."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import xlsxwriter

from dagster_project.synth.generator import District, Planner

HOSPITAL_BIRTH_HEADER = (
    "出生医学证明编号",
    "医院代码",
    "母亲身份证号",
    "母亲现住村居代码",
    "出生日期",
    "性别",
    "出生体重",
    "孕周",
    "出生缺陷",
)
PREPREGNANCY_HEADER = ("检查编号", "女方姓名", "女方身份证号", "村居代码", "检查日期", "风险评估")
DECISION_HEADER = (
    "决定书编号",
    "当事人姓名",
    "当事人身份证号",
    "乡镇代码",
    "出生登记编号",
    "决定日期",
    "应征金额",
    "法定标准金额",
)
PAYMENT_HEADER = ("缴款单号", "决定书编号", "缴款日期", "缴款金额", "缴款方式")
BIRTH_HEADER = (
    "登记编号",
    "村居代码",
    "母亲姓名",
    "母亲身份证号",
    "母亲户籍",
    "出生日期",
    "性别",
    "孩次",
    "政策属性",
    "登记日期",
)
POPULATION_HEADER = ("村居代码", "村居名称", "月末户籍人口", "本月死亡", "育龄妇女")
CLASS_HEADER = ("村居代码", "村居名称", "年度", "分类")


def _csv_text(header: tuple[str, ...], rows: list[tuple]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def yuan(x: Decimal, rng: random.Random) -> str:
    """Two decimals, sometimes with thousands separators (finance writes both)."""
    return f"{x:,.2f}" if x >= 1000 and rng.random() < 0.5 else f"{x:.2f}"


def write_reference(out: Path, districts: list[District]) -> None:
    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    tables = {
        "townships.csv": (
            ("township_code", "township_name", "township_type"),
            [t for d in districts for t in d.townships],
        ),
        "villages.csv": (
            ("village_code", "village_name", "township_code", "village_type"),
            [(v.code, v.name, v.township, v.vtype) for d in districts for v in d.villages],
        ),
        "hospitals.csv": (
            ("hospital_code", "hospital_name", "township_code"),
            [h for d in districts for h in d.hospitals],
        ),
        "service_stations.csv": (
            (
                "station_code",
                "station_name",
                "township_code",
                "level",
                "standardized",
                "sanyou_center",
                "opened_on",
                "closed_on",
            ),
            [tuple(s.values()) for d in districts for s in d.stations],
        ),
    }
    for name, (header, rows) in tables.items():
        (ref / name).write_text(_csv_text(header, rows), encoding="utf-8", newline="")


def write_township_workbooks(
    out: Path, d: District, months: list[str], rng: random.Random, names: dict
) -> None:
    tname = {code: name for code, name, _ in d.townships}
    vname = {v.code: v.name for v in d.villages}
    regs = defaultdict(list)
    for r in d.registrations:
        regs[(r.village[:9], f"{r.registered:%Y-%m}")].append(r)
    classes = defaultdict(list)
    for c in d.village_classes:
        classes[(c["village_code"][:9], c["month"])].append(c)
    villages_of = defaultdict(list)
    for v in d.villages:
        villages_of[v.township].append(v)
    for mi, month in enumerate(months):
        y, m = (int(x) for x in month.split("-"))
        folder = out / "township" / month
        folder.mkdir(parents=True, exist_ok=True)
        for tcode, _, _ in d.townships:
            wb = xlsxwriter.Workbook(str(folder / f"{tcode}.xlsx"))
            wb.set_properties({"created": dt.datetime(y, m, 28, 9, 0, 0)})  # byte-identical output per seed
            date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
            sheets = ["出生登记", "人口变动"] + (["村居分类"] if classes.get((tcode, month)) else [])
            if rng.random() < 0.15:
                sheets.append("填表说明")
            rng.shuffle(sheets)
            for sheet in sheets:
                ws = wb.add_worksheet(sheet)
                if sheet == "填表说明":
                    ws.write(0, 0, "本表由乡镇计生办于次月5日前报送。")
                    continue
                ws.write(0, 0, f"{tname[tcode]}{y}年{m}月{sheet}表")
                row = 2  # a blank row under the title
                if sheet == "出生登记":
                    ws.write_row(row, 0, BIRTH_HEADER)
                    items = sorted(regs.get((tcode, month), []), key=lambda r: r.rid)
                    for r in items:
                        row += 1
                        ws.write_string(row, 0, r.rid)
                        ws.write_string(row, 1, r.village)
                        ws.write_string(row, 2, r.mother_name)
                        ws.write_string(row, 3, r.mother_id)  # identity numbers are text cells
                        ws.write_string(row, 4, r.hukou)
                        for col, value in ((5, r.birth), (9, r.registered)):
                            form = rng.random()
                            if form < 0.4:
                                ws.write_datetime(
                                    row, col, dt.datetime(value.year, value.month, value.day), date_fmt
                                )
                            elif form < 0.6:
                                ws.write_string(row, col, value.isoformat())
                            elif form < 0.8:
                                ws.write_string(row, col, f"{value.year}/{value.month}/{value.day}")
                            else:
                                ws.write_string(row, col, f"{value.year}年{value.month}月{value.day}日")
                        ws.write_string(row, 6, r.sex)
                        ws.write_number(row, 7, r.order)
                        ws.write_string(row, 8, r.policy)
                    ws.write_row(row + 1, 0, ("合计", f"{len(items)}人"))
                elif sheet == "人口变动":
                    ws.write_row(row, 0, POPULATION_HEADER)
                    vs = villages_of[tcode]
                    for v in vs:
                        row += 1
                        ws.write_string(row, 0, v.code)
                        ws.write_string(row, 1, v.name)
                        ws.write_row(row, 2, (v.pop[mi + 1], v.deaths[mi], v.women[mi + 1]))
                    row += 1
                    ws.write_row(
                        row,
                        0,
                        (
                            "合计",
                            "",
                            sum(v.pop[mi + 1] for v in vs),
                            sum(v.deaths[mi] for v in vs),
                            sum(v.women[mi + 1] for v in vs),
                        ),
                    )
                else:
                    ws.write_row(row, 0, CLASS_HEADER)
                    for c in classes[(tcode, month)]:
                        row += 1
                        ws.write_row(
                            row, 0, (c["village_code"], vname[c["village_code"]], c["year"], c["class"])
                        )
            wb.close()


def write_hospital(out: Path, d: District, months: list[str], names: dict) -> None:
    births = defaultdict(list)
    for h in d.hospital_births:
        births[(h.hospital, f"{h.birth:%Y-%m}")].append(h)
    checks = defaultdict(list)
    for c in d.checks:
        checks[(c["hospital"], f"{c['checked_on']:%Y-%m}")].append(c)
    for month in months:
        folder = out / "hospital" / month
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
            (folder / f"{code}_births.csv").write_bytes(_csv_text(HOSPITAL_BIRTH_HEADER, rows).encode("gbk"))
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
            (folder / f"{code}_prepregnancy.csv").write_bytes(
                _csv_text(PREPREGNANCY_HEADER, rows).encode("gbk")
            )


def _json_amount(x: Decimal | None) -> float | None:
    return None if x is None else float(x)


def write_court_and_finance(
    out: Path, districts: list[District], months: list[str], rng: random.Random, names: dict
) -> None:
    enf, lf, dec, pay = (defaultdict(list) for _ in range(4))
    for d in districts:
        for r in d.enforcement_records:
            enf[r["delivered"]].append(r)
        for r in d.liangfei_records:
            lf[r["delivered"]].append(r)
        for r in d.decisions:
            dec[r["delivered"]].append(r)
        for r in d.payments:
            pay[r["delivered"]].append(r)
    for month in months:
        court = out / "court" / month
        court.mkdir(parents=True, exist_ok=True)
        lines = []
        for r in sorted(enf[month], key=lambda r: (r["updated_at"][:10], r["case_no"])):
            lines.append(
                json.dumps(
                    {
                        "case_no": r["case_no"],
                        "applied_on": r["applied_on"].isoformat(),
                        "decision_no": r["decision_no"],
                        "respondent_id_number": r["respondent_id"],
                        "respondent_name": names[r["respondent_id"]],
                        "township_code": r["township_code"],
                        "amount_applied": _json_amount(r["amount_applied"]),
                        "status": r["status"],
                        "measures": [
                            {
                                "type": m["type"],
                                "on": m["on"].isoformat(),
                                "amount": _json_amount(m["amount"]),
                                "days": m["days"],
                            }
                            for m in r["measures"]
                        ],
                        "updated_at": r["updated_at"],
                    },
                    ensure_ascii=False,
                )
            )
        (court / "enforcement_cases.jsonl").write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        lines = []
        for r in sorted(lf[month], key=lambda r: (r["updated_at"][:10], r["case_no"])):
            lines.append(
                json.dumps(
                    {
                        "case_no": r["case_no"],
                        "opened_on": r["opened_on"].isoformat(),
                        "township_code": r["township_code"],
                        "kind": r["kind"],
                        "den_destroyed": r["den_destroyed"],
                        "admin_fine": _json_amount(r["admin_fine"]),
                        "rebirth_permits_cancelled": r["rebirth_permits_cancelled"],
                        "criminal_detentions": r["criminal_detentions"],
                        "sentenced": r["sentenced"],
                        "status": r["status"],
                        "updated_at": r["updated_at"],
                    },
                    ensure_ascii=False,
                )
            )
        (court / "liangfei_cases.jsonl").write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        fin = out / "finance" / month
        fin.mkdir(parents=True, exist_ok=True)
        rows = [
            (
                r["decision_no"],
                names[r["respondent_id"]],
                r["respondent_id"],
                r["township_code"],
                r["registration_id"],
                r["decided_on"].isoformat(),
                yuan(r["assessed"], rng),
                yuan(r["statutory"], rng),
            )
            for r in sorted(dec[month], key=lambda r: (r["decided_on"], r["decision_no"]))
        ]
        (fin / "fee_decisions.csv").write_bytes(_csv_text(DECISION_HEADER, rows).encode("utf-8-sig"))
        rows = [
            (
                r["receipt_no"],
                r["decision_no"],
                r["paid_on"].isoformat(),
                yuan(r["amount"], rng),
                r["channel"],
            )
            for r in sorted(pay[month], key=lambda r: (r["paid_on"], r["receipt_no"]))
        ]
        (fin / "fee_payments.csv").write_bytes(_csv_text(PAYMENT_HEADER, rows).encode("utf-8-sig"))


def generate(out: Path, seed: int = 2012, districts: int = 1) -> list[District]:
    """Write a landing zone of ``districts`` districts like the sample into ``out``."""
    from dagster_project.synth.generator import DISTRICT_CODES

    if not 1 <= districts <= len(DISTRICT_CODES):
        raise ValueError(f"--districts must be between 1 and {len(DISTRICT_CODES)}")
    planners = [Planner(code, i, seed, GOLDEN_PROFILE()) for i, code in enumerate(DISTRICT_CODES[:districts])]
    planned = [p.plan() for p in planners]
    months = planners[0].months
    rng = random.Random(f"{seed}-writer")
    names: dict[str, str] = {}
    for p in planners:  # every identity number gets one stable name
        for number in sorted(p.used_ids):
            names[number] = p.name()
    for d in planned:
        for r in d.registrations:
            names[r.mother_id] = r.mother_name
    out.mkdir(parents=True, exist_ok=True)
    write_reference(out, planned)
    for d in planned:
        write_township_workbooks(out, d, months, rng, names)
        write_hospital(out, d, months, names)
    write_court_and_finance(out, planned, months, rng, names)
    return planned


def GOLDEN_PROFILE():  # noqa: N802 - a factory kept beside generate() for the CLI's --profile later
    from dagster_project.synth.profile import GOLDEN

    return GOLDEN
