"""Small landing zones written by hand for tests, in the contract's formats."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import xlsxwriter

from dagster_project.pii import check_char
from dagster_project.schemas.contract import (
    FEE_DECISIONS,
    FEE_PAYMENTS,
    HOSPITAL_BIRTHS,
    REFERENCE_TABLES,
    TOWNSHIP_BIRTHS,
    TOWNSHIP_POPULATION,
    VILLAGE_NAME,
    headers,
)
from dagster_project.synth.extracts import csv_text  # the generator's CSV dialect: CRLF, minimal quoting

T1, T2 = "331003001", "331003002"  # two townships of the test district
V1, V2, V3 = "331003001001", "331003001201", "331003002201"  # V1, V2 in T1; V3 in T2
OUTSIDE_VILLAGE = "331081001201"  # a well-formed village of another district


def ident(first17: str = "33100319880101002") -> str:
    return first17 + check_char(first17)


MOTHER = ident("33100319880101002")
MOTHER2 = ident("33100319900202004")
BAD_CHECK = MOTHER[:-1] + ("1" if MOTHER[-1] != "1" else "2")
NAMES = ("王秀英", "李丽娟", "张敏")


REFERENCE_ROWS = {
    "townships": [f"{T1},东城街道,街道", f"{T2},院桥镇,镇"],
    "villages": [f"{V1},东山社区,{T1},居", f"{V2},西溪村,{T1},村", f"{V3},南塘村,{T2},村"],
    "hospitals": [f"H01,区第一人民医院,{T1}"],
    "service_stations": [f"S1,东城站,{T1},中心站,是,省级,2010-01-01,"],
}


def write_reference(src: Path) -> None:
    ref = src / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    for name, columns in REFERENCE_TABLES.items():
        lines = [",".join(columns), *REFERENCE_ROWS[name]]
        (ref / f"{name}.csv").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


# the headers as the agencies deliver them: the contract's, with the names it never reads beside them
BIRTH_SHEET, POP_SHEET = TOWNSHIP_BIRTHS.sheet, TOWNSHIP_POPULATION.sheet
BIRTH_HEADER = headers(TOWNSHIP_BIRTHS, {"village_code": TOWNSHIP_BIRTHS.name_sources[0]})
POP_HEADER = headers(TOWNSHIP_POPULATION, {"village_code": VILLAGE_NAME})
HOSPITAL_BIRTH_HEADER = headers(HOSPITAL_BIRTHS)
DECISION_HEADER = headers(FEE_DECISIONS, {"decision_no": FEE_DECISIONS.name_sources[0]})
PAYMENT_HEADER = headers(FEE_PAYMENTS)


def birth_row(
    rid: str = "331003001-2012-0001",
    village: str = V1,
    mother: object = MOTHER,
    birth: object = "2012-03-05",
    registered: object = "2012-03-10",
    sex: str = "女",
    policy: str = "政策内",
    hukou: str = "本区",
    order: object = 1,
) -> list:
    return [rid, village, NAMES[0], mother, hukou, birth, sex, order, policy, registered]


def write_workbook(
    path: Path,
    births: list[list] | None = None,
    population: list[list] | None = None,
    sheets: tuple[str | None, ...] = (BIRTH_SHEET, POP_SHEET),
    title: bool = True,
    total: bool = True,
    birth_header: list[str] | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet)
        r = 0
        if title:
            ws.write(0, 0, f"东城街道2012年3月{sheet}表")
            r = 2
        if sheet == BIRTH_SHEET:
            rows, header = births if births is not None else [birth_row()], birth_header or BIRTH_HEADER
        elif sheet == POP_SHEET:
            rows = (
                population
                if population is not None
                else [[V1, "东山社区", 1200, 1, 300], [V2, "西溪村", 800, 0, 200]]
            )
            header = POP_HEADER
        else:
            rows, header = [], ["说明"]
        ws.write_row(r, 0, header)
        for row in rows:
            r += 1
            for c, v in enumerate(row):
                if isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
                elif isinstance(v, int | float):
                    ws.write_number(r, c, v)
                elif v is None:
                    pass
                else:
                    ws.write_string(r, c, str(v))
        if total and rows:
            ws.write_row(r + 1, 0, ["合计", len(rows)])
    wb.close()


def hospital_row(
    cert: str = "P011200001",
    hospital: str = "H01",
    mother: str = MOTHER,
    village: str = V1,
    birth: str = "2012-03-05",
    sex: str = "女",
    weight: object = 3200,
    weeks: object = 39,
    defect: str = "无",
) -> list:
    return [cert, hospital, mother, village, birth, sex, weight, weeks, defect]


def write_hospital_births(
    path: Path, rows: list[list], encoding: str = "gbk", header: list[str] | None = None
):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(header or HOSPITAL_BIRTH_HEADER, rows).encode(encoding))


def decision_row(
    no: str = "D1",
    township: str = T1,
    rid: str = "331003001-2012-0001",
    on: str = "2012-03-20",
    assessed: str = "12,345.60",
    statutory: str = "12345.60",
    respondent: str = MOTHER,
) -> list:
    return [no, NAMES[1], respondent, township, rid, on, assessed, statutory]


def write_finance(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8-sig") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(header, rows).encode(encoding))


def enforcement_record(
    case_no: str = "(2012)台黄执字第00001号",
    updated_at: str = "2012-03-15T10:00:00",
    measures: list | None = None,
    status: str = "执行中",
    **kw,
) -> dict:
    rec = {
        "case_no": case_no,
        "applied_on": "2012-03-01",
        "decision_no": "D1",
        "respondent_id_number": MOTHER,
        "respondent_name": NAMES[2],
        "township_code": T1,
        "amount_applied": 12345.6,
        "status": status,
        "measures": measures
        if measures is not None
        else [{"type": "冻结存款", "on": "2012-03-10", "amount": 5000.0, "days": None}],
        "updated_at": updated_at,
    }
    rec.update(kw)
    return rec


def write_jsonl(path: Path, records: list[dict | str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
