"""The basic-situation table of the founding report: which mart column each line is, named as metrics.md names it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    label: str
    column: str
    places: int = 0
    change: str | None = None  # the mart's own change column, never recomputed here
    change_kind: str = ""  # "pp" (percentage points), "permille" (‰ points) or "pct" (growth in %)


@dataclass(frozen=True)
class Section:
    title: str
    mart: str  # the district grain; the township grain is the same name without "_district"
    lines: tuple[Line, ...]


BASIC_SITUATION = (
    Section(
        "一、人口出生与计划生育",
        "population_indicators_district",
        (
            Line("出生人数", "births"),
            Line("政策外出生人数", "births_unplanned"),
            Line("计划生育率（%）", "planned_birth_rate", 2),
            Line("男婴", "boys"),
            Line("女婴", "girls"),
            Line("出生人口性别比（女=100）", "sex_ratio_at_birth", 2),
            Line("死亡人数", "deaths"),
            Line("年末户籍人口", "population_end"),
            Line("人口自然增长率（‰）", "natural_growth_rate_permille", 2),
            Line("村（居）总数", "villages_total"),
            Line("有政策外出生的村（居）数", "villages_with_unplanned"),
            Line("有政策外出生的村（居）占比（%）", "villages_with_unplanned_share", 2),
            Line("住院分娩出生数（出生医学证明）", "hospital_births"),
            Line("出生登记率（%）", "registration_coverage", 2),
            Line("出生缺陷数", "birth_defects"),
            Line(
                "出生缺陷发生率（‰）",
                "birth_defect_rate_permille",
                2,
                "birth_defect_rate_permille_yoy",
                "permille",
            ),
            Line("孕前优生健康检查人数", "prepregnancy_checks"),
            Line("孕前检查高风险人群占比（%）", "prepregnancy_high_risk_share", 2),
        ),
    ),
    Section(
        "二、社会抚养费征收",
        "fee_collection_district",
        (
            Line("应立案数（件）", "cases_due"),
            Line("已立案数（件）", "cases_filed"),
            Line("立案符合规定数（件）", "cases_compliant"),
            Line("立案率（%）", "filing_rate", 2, "filing_rate_yoy_pp", "pp"),
            Line("应征金额（元）", "amount_assessed", 2),
            Line("实征金额（元）", "amount_collected", 2),
            Line("征收率（%）", "collection_rate", 2, "collection_rate_yoy_pp", "pp"),
            Line("符合率（%）", "compliance_rate", 2, "compliance_rate_yoy_pp", "pp"),
        ),
    ),
    Section(
        "三、依法行政与“两非”查处",
        "enforcement_outcomes_district",
        (
            Line("申请法院强制执行（件）", "court_applications", 0, "court_applications_yoy_pct", "pct"),
            Line("法院不予执行（件）", "court_rejections"),
            Line("冻结银行存款（元）", "deposits_frozen_amount", 2),
            Line("划拨银行存款（元）", "deposits_transferred_amount", 2),
            Line("冻结划拨银行存款（元）", "deposits_amount", 2, "deposits_amount_yoy_pct", "pct"),
            Line("司法拘留（人）", "judicial_detentions", 0, "judicial_detentions_yoy_pct", "pct"),
            Line("查处“两非”案件（件）", "liangfei_cases"),
            Line("捣毁“两非”窝点（个）", "liangfei_dens_destroyed"),
            Line("“两非”行政罚款（元）", "liangfei_admin_fines", 2),
            Line("收回再生育证（本）", "liangfei_permits_cancelled"),
            Line("刑事拘留（人）", "liangfei_criminal_detentions"),
            Line("判刑（人）", "liangfei_sentenced"),
        ),
    ),
    Section(
        "四、计划生育服务站（12月31日在用）",
        "service_station_coverage_district",
        (
            Line("乡镇（街道）总数", "townships_total"),
            Line("有服务站的乡镇（街道）数", "townships_with_station"),
            Line("服务站乡镇覆盖率（%）", "township_coverage", 2),
            Line("中心站", "stations_central"),
            Line("一级站", "stations_level1"),
            Line("二级站", "stations_level2"),
            Line("服务站合计", "stations_total"),
            Line("规范化服务站", "stations_standardized"),
            Line("省级“三优”指导中心", "sanyou_centers_provincial"),
            Line("区级“三优”指导中心", "sanyou_centers_district"),
            Line("育龄妇女人数（12月）", "women_childbearing_age"),
            Line("每站服务育龄妇女", "women_per_station", 2),
        ),
    ),
)

CHANGE_UNITS = {"pp": " 个百分点", "permille": " 个千分点", "pct": "%"}

# the delivery statuses of audit.delivery_status, as the grid shows them
DELIVERY_STATUS = {
    "on_time": ("按时", "✓"),
    "late": ("迟交", "迟"),
    "rejected": ("被拒", "拒"),
    "overdue": ("逾期未交", "缺"),
    "not_yet_due": ("未到期", "·"),
}
AGENCIES = {"township": "乡镇（街道）", "hospital": "医院", "court": "法院", "finance": "财政"}
