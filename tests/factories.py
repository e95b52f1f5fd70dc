"""Small landing zones written by hand for tests, in the contract's formats."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import xlsxwriter

from dagster_project.pii import check_char

T1, T2 = "331003001", "331003002"  # two townships of the test district
V1, V2, V3 = "331003001001", "331003001201", "331003002201"  # V1, V2 in T1; V3 in T2
OUTSIDE_VILLAGE = "331081001201"  # a well-formed village of another district


def ident(first17: str = "33100319880101002") -> str:
    return first17 + check_char(first17)


MOTHER = ident("33100319880101002")
MOTHER2 = ident("33100319900202004")
BAD_CHECK = MOTHER[:-1] + ("1" if MOTHER[-1] != "1" else "2")
NAMES = ("王秀英", "李丽娟", "张敏")


def write_reference(src: Path) -> None:
    ref = src / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    (ref / "townships.csv").write_text(
        f"township_code,township_name,township_type\n{T1},东城街道,街道\n{T2},院桥镇,镇\n", encoding="utf-8"
    )
    (ref / "villages.csv").write_text(
        "village_code,village_name,township_code,village_type\n"
        f"{V1},东山社区,{T1},居\n{V2},西溪村,{T1},村\n{V3},南塘村,{T2},村\n",
        encoding="utf-8",
    )
    (ref / "hospitals.csv").write_text(
        f"hospital_code,hospital_name,township_code\nH01,区第一人民医院,{T1}\n", encoding="utf-8"
    )
    (ref / "service_stations.csv").write_text(
        "station_code,station_name,township_code,level,standardized,sanyou_center,opened_on,closed_on\n"
        f"S1,东城站,{T1},中心站,是,省级,2010-01-01,\n",
        encoding="utf-8",
    )


BIRTH_HEADER = [
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
]
POP_HEADER = ["村居代码", "村居名称", "月末户籍人口", "本月死亡", "育龄妇女"]


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
    sheets: tuple[str, ...] = ("出生登记", "人口变动"),
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
        if sheet == "出生登记":
            rows, header = births if births is not None else [birth_row()], birth_header or BIRTH_HEADER
        elif sheet == "人口变动":
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


HOSPITAL_BIRTH_HEADER = [
    "出生医学证明编号",
    "医院代码",
    "母亲身份证号",
    "母亲现住村居代码",
    "出生日期",
    "性别",
    "出生体重",
    "孕周",
    "出生缺陷",
]


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


def csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_hospital_births(
    path: Path, rows: list[list], encoding: str = "gbk", header: list[str] | None = None
):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(header or HOSPITAL_BIRTH_HEADER, rows).encode(encoding))


DECISION_HEADER = [
    "决定书编号",
    "当事人姓名",
    "当事人身份证号",
    "乡镇代码",
    "出生登记编号",
    "决定日期",
    "应征金额",
    "法定标准金额",
]
PAYMENT_HEADER = ["缴款单号", "决定书编号", "缴款日期", "缴款金额", "缴款方式"]


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
