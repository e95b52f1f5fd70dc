"""Every extract kind of ``extracts.md``, described once.

Readers, pandera schemas, typed conversion, the lake's Parquet schemas and the
test-data generator all work from these declarations, so a column is named,
typed and constrained in exactly one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal[
    "text",  # free text key or label
    "township_code",  # 9 digits
    "village_code",  # 12 digits
    "identity",  # resident identity number -> person_key
    "date",  # calendar date
    "timestamp",  # ISO 8601 instant (Asia/Shanghai when no offset)
    "int",  # non-negative integer, optionally bounded
    "amount",  # yuan, two decimals
    "enum",  # one of `allowed`
    "bool",  # JSON true/false
    "measures",  # court enforcement measures (JSON list)
]


@dataclass(frozen=True)
class Field:
    name: str  # canonical name in the lake (identity fields: the *_person_key name)
    source: str  # header (CSV/xlsx) or field (JSON) as delivered
    kind: Kind
    required: bool = True
    allowed: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    positive: bool = False  # amounts: > 0 rather than >= 0
    zh: str = ""  # Chinese label for messages (defaults to the source header)

    @property
    def label(self) -> str:
        return f"{self.zh or self.source} ({self.name})"


@dataclass(frozen=True)
class ExtractSpec:
    name: str  # the asset and lake folder name
    agency: Literal["township", "hospital", "court", "finance"]
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # unique within a file and across the landing zone
    file_glob: str  # the file name inside <agency>/<YYYY-MM>/
    sheet: str | None = None  # township workbooks: the sheet's name
    sheet_required: bool = True
    date_forms: Literal["iso", "township"] = "iso"
    description: str = ""
    # cross-field rules: (rule name, message)
    row_rules: tuple[tuple[str, str], ...] = field(default=())
    # personal-name columns: never stored; only their keyed fingerprints, for the privacy scan before publishing
    name_sources: tuple[str, ...] = ()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


SEX = ("男", "女", "不详")

TOWNSHIP_BIRTHS = ExtractSpec(
    name="township_births",
    agency="township",
    sheet="出生登记",
    file_glob="*.xlsx",
    date_forms="township",
    key=("registration_id",),
    description="出生登记: births registered by the township in the month, one row a child.",
    fields=(
        Field("registration_id", "登记编号", "text"),
        Field("village_code", "村居代码", "village_code"),
        Field("mother_person_key", "母亲身份证号", "identity"),
        Field("mother_hukou", "母亲户籍", "enum", allowed=("本区", "外地")),
        Field("birth_date", "出生日期", "date"),
        Field("sex", "性别", "enum", allowed=SEX),
        Field("birth_order", "孩次", "int", min_value=1, max_value=9),
        Field("policy_status", "政策属性", "enum", allowed=("政策内", "政策外")),
        Field("registered_on", "登记日期", "date"),
    ),
    row_rules=(("registered_before_birth", "登记日期 (registered_on) is before 出生日期 (birth_date)"),),
    name_sources=("母亲姓名",),
)

TOWNSHIP_POPULATION = ExtractSpec(
    name="township_population",
    agency="township",
    sheet="人口变动",
    file_glob="*.xlsx",
    date_forms="township",
    key=("village_code",),
    description="人口变动: month-end population, deaths and women of childbearing age of every village.",
    fields=(
        Field("village_code", "村居代码", "village_code"),
        Field("registered_population", "月末户籍人口", "int", min_value=0),
        Field("deaths", "本月死亡", "int", min_value=0),
        Field("women_childbearing_age", "育龄妇女", "int", min_value=0),
    ),
)

TOWNSHIP_VILLAGE_CLASSES = ExtractSpec(
    name="township_village_classes",
    agency="township",
    sheet="村居分类",
    sheet_required=False,
    file_glob="*.xlsx",
    date_forms="township",
    key=("village_code", "year"),
    description="村居分类: the annual class of each village (示范, 合格 or 整治).",
    fields=(
        Field("village_code", "村居代码", "village_code"),
        Field("year", "年度", "int", min_value=1949, max_value=2100),
        Field("village_class", "分类", "enum", allowed=("示范", "合格", "整治")),
    ),
)

HOSPITAL_BIRTHS = ExtractSpec(
    name="hospital_births",
    agency="hospital",
    file_glob="*_births.csv",
    key=("birth_certificate_no",),
    description="Live births in a hospital in the month (出生医学证明).",
    fields=(
        Field("birth_certificate_no", "出生医学证明编号", "text"),
        Field("hospital_code", "医院代码", "text"),
        Field("mother_person_key", "母亲身份证号", "identity"),
        Field("village_code", "母亲现住村居代码", "village_code"),
        Field("birth_date", "出生日期", "date"),
        Field("sex", "性别", "enum", allowed=SEX),
        Field("birth_weight_g", "出生体重", "int", min_value=300, max_value=7000),
        Field("gestation_weeks", "孕周", "int", min_value=20, max_value=45),
        Field("birth_defect", "出生缺陷", "enum", allowed=("有", "无")),
    ),
    row_rules=(("hospital_mismatch", "医院代码 (hospital_code) is not the hospital the file is named for"),),
)

HOSPITAL_PREPREGNANCY = ExtractSpec(
    name="hospital_prepregnancy_checks",
    agency="hospital",
    file_glob="*_prepregnancy.csv",
    key=("check_id",),
    description="Free pre-pregnancy health checks (国家免费孕前优生健康检查).",
    name_sources=("女方姓名",),
    fields=(
        Field("check_id", "检查编号", "text"),
        Field("woman_person_key", "女方身份证号", "identity"),
        Field("village_code", "村居代码", "village_code"),
        Field("checked_on", "检查日期", "date"),
        Field("risk_level", "风险评估", "enum", allowed=("一般人群", "高风险人群")),
    ),
)

MEASURE_TYPES = ("冻结存款", "划拨存款", "司法拘留", "限制高消费")

COURT_ENFORCEMENT = ExtractSpec(
    name="court_enforcement_cases",
    agency="court",
    file_glob="enforcement_cases.jsonl",
    key=("case_no", "updated_at"),
    description="Applications to the court for compulsory enforcement of fee decisions (非诉执行), re-sent as they change.",
    name_sources=(
        "respondent_name",
    ),  # not in the contract; if a court system sends it, it is only fingerprinted
    fields=(
        Field("case_no", "case_no", "text", zh="案号"),
        Field("applied_on", "applied_on", "date", zh="申请日期"),
        Field("decision_no", "decision_no", "text", zh="决定书编号"),
        Field("respondent_person_key", "respondent_id_number", "identity", zh="被执行人身份证号"),
        Field("township_code", "township_code", "township_code", zh="乡镇代码"),
        Field("amount_applied", "amount_applied", "amount", positive=True, zh="申请执行金额"),
        Field(
            "status",
            "status",
            "enum",
            allowed=("立案", "执行中", "结案", "终结本次执行", "不予执行"),
            zh="状态",
        ),
        Field("measures", "measures", "measures", zh="执行措施"),
        Field("updated_at", "updated_at", "timestamp", zh="更新时间"),
    ),
)

COURT_LIANGFEI = ExtractSpec(
    name="court_liangfei_cases",
    agency="court",
    file_glob="liangfei_cases.jsonl",
    key=("case_no", "updated_at"),
    description='"两非" cases: non-medical fetal sex identification and sex-selective termination of pregnancy.',
    fields=(
        Field("case_no", "case_no", "text", zh="案号"),
        Field("opened_on", "opened_on", "date", zh="立案日期"),
        Field("township_code", "township_code", "township_code", zh="乡镇代码"),
        Field(
            "kind",
            "kind",
            "enum",
            allowed=("非医学需要胎儿性别鉴定", "非医学需要选择性别终止妊娠"),
            zh="案件类别",
        ),
        Field("den_destroyed", "den_destroyed", "bool", zh="捣毁窝点"),
        Field("admin_fine", "admin_fine", "amount", zh="行政罚款"),
        Field(
            "rebirth_permits_cancelled", "rebirth_permits_cancelled", "int", min_value=0, zh="收回再生育证"
        ),
        Field("criminal_detentions", "criminal_detentions", "int", min_value=0, zh="刑事拘留"),
        Field("sentenced", "sentenced", "int", min_value=0, zh="判刑"),
        Field("status", "status", "enum", allowed=("立案", "调查中", "结案"), zh="状态"),
        Field("updated_at", "updated_at", "timestamp", zh="更新时间"),
    ),
)

FEE_DECISIONS = ExtractSpec(
    name="finance_fee_decisions",
    agency="finance",
    file_glob="fee_decisions.csv",
    key=("decision_no",),
    description="Social maintenance fee decisions (征收决定书) issued in the month.",
    name_sources=("当事人姓名",),
    fields=(
        Field("decision_no", "决定书编号", "text"),
        Field("respondent_person_key", "当事人身份证号", "identity"),
        Field("township_code", "乡镇代码", "township_code"),
        Field("registration_id", "出生登记编号", "text"),
        Field("decided_on", "决定日期", "date"),
        Field("amount_assessed", "应征金额", "amount", positive=True),
        Field("amount_statutory", "法定标准金额", "amount", positive=True),
    ),
)

FEE_PAYMENTS = ExtractSpec(
    name="finance_fee_payments",
    agency="finance",
    file_glob="fee_payments.csv",
    key=("receipt_no",),
    description="Social maintenance fee payments received in the month.",
    fields=(
        Field("receipt_no", "缴款单号", "text"),
        Field("decision_no", "决定书编号", "text"),
        Field("paid_on", "缴款日期", "date"),
        Field("amount_paid", "缴款金额", "amount", positive=True),
        Field("channel", "缴款方式", "enum", allowed=("现金", "银行转账", "法院划拨")),
    ),
)

EXTRACTS: tuple[ExtractSpec, ...] = (
    TOWNSHIP_BIRTHS,
    TOWNSHIP_POPULATION,
    TOWNSHIP_VILLAGE_CLASSES,
    HOSPITAL_BIRTHS,
    HOSPITAL_PREPREGNANCY,
    COURT_ENFORCEMENT,
    COURT_LIANGFEI,
    FEE_DECISIONS,
    FEE_PAYMENTS,
)
EXTRACTS_BY_NAME = {e.name: e for e in EXTRACTS}
TOWNSHIP_EXTRACTS = (TOWNSHIP_BIRTHS, TOWNSHIP_POPULATION, TOWNSHIP_VILLAGE_CLASSES)
AGENCIES = ("township", "hospital", "court", "finance")
# Names are matched whole, with ``fullmatch`` only: ``$`` would also match before a trailing newline
# (a file named "331003001.xlsx\n" would pass for the workbook). ASCII digits only, never Unicode ones.
MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
HOSPITAL_FILE_RE = re.compile(r"(?P<code>[A-Za-z0-9]+)_(?P<kind>births|prepregnancy)\.csv")
TOWNSHIP_FILE_RE = re.compile(r"(?P<code>[0-9]{9})\.xlsx")

# reference/ (UTF-8 CSV, English headers): columns in contract order
REFERENCE_TABLES: dict[str, tuple[str, ...]] = {
    "townships": ("township_code", "township_name", "township_type"),
    "villages": ("village_code", "village_name", "township_code", "village_type"),
    "hospitals": ("hospital_code", "hospital_name", "township_code"),
    "service_stations": (
        "station_code",
        "station_name",
        "township_code",
        "level",
        "standardized",
        "sanyou_center",
        "opened_on",
        "closed_on",
    ),
}


def extract_for_file(agency: str, filename: str) -> tuple[ExtractSpec, ...]:
    """The extract kinds a landed file feeds (a township workbook feeds three); () if unknown."""
    if agency == "township":
        return TOWNSHIP_EXTRACTS if TOWNSHIP_FILE_RE.fullmatch(filename) else ()
    if agency == "hospital":
        m = HOSPITAL_FILE_RE.fullmatch(filename)
        if not m:
            return ()
        return (HOSPITAL_BIRTHS,) if m["kind"] == "births" else (HOSPITAL_PREPREGNANCY,)
    for spec in EXTRACTS:
        if spec.agency == agency and spec.file_glob == filename:
            return (spec,)
    return ()


# ---------------------------------------------------------------------------- the names, for writers of files
# (the generator and the tests' factories write every header, sheet and file name from these)

# township sheets: the village's name beside its code, as delivered; no extract reads it
VILLAGE_NAME = "村居名称"


def headers(spec: ExtractSpec, after: dict[str, str] | None = None) -> list[str]:
    """The header (CSV/xlsx) or JSON field of each of ``spec``'s fields, in contract order.

    ``after`` puts a column the contract does not read (a person's name, a village's name) right after
    the field it names: ``headers(FEE_DECISIONS, {"decision_no": FEE_DECISIONS.name_sources[0]})``.
    """
    extra = after or {}
    unknown = set(extra) - {f.name for f in spec.fields}
    if unknown:
        raise KeyError(f"{spec.name} has no field {sorted(unknown)}")
    out: list[str] = []
    for f in spec.fields:
        out.append(f.source)
        if f.name in extra:
            out.append(extra[f.name])
    return out


def file_name(spec: ExtractSpec, code: str = "") -> str:
    """The name of a file of ``spec``: its pattern, with ``code`` (a township's or hospital's) for ``*``."""
    return spec.file_glob.replace("*", code)
