"""What a generated district must contain: the founding report's figures (metrics.md, "The golden year").

These are *generator targets*: the generator builds row-level data that has these
properties; the marts never read them and compute everything from the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TOWNSHIPS_331003 = (
    # (code suffix, name, type) — 黄岩区's 19 townships with their statistical division codes
    ("001", "东城街道", "街道"),
    ("002", "西城街道", "街道"),
    ("003", "南城街道", "街道"),
    ("004", "北城街道", "街道"),
    ("005", "江口街道", "街道"),
    ("006", "新前街道", "街道"),
    ("007", "澄江街道", "街道"),
    ("008", "高桥街道", "街道"),
    ("100", "院桥镇", "镇"),
    ("101", "沙埠镇", "镇"),
    ("102", "头陀镇", "镇"),
    ("103", "宁溪镇", "镇"),
    ("104", "北洋镇", "镇"),
    ("200", "上垟乡", "乡"),
    ("201", "屿头乡", "乡"),
    ("202", "富山乡", "乡"),
    ("203", "平田乡", "乡"),
    ("204", "上郑乡", "乡"),
    ("205", "茅畲乡", "乡"),
)

# villages per township (sums to 569)
VILLAGE_COUNTS = (22, 20, 18, 21, 30, 33, 34, 32, 61, 30, 36, 45, 29, 21, 22, 26, 31, 30, 28)


@dataclass(frozen=True)
class FeeTarget:
    due: int
    filed: int
    compliant: int
    collection_rate: float  # percent, by 31 December of the year


@dataclass(frozen=True)
class LiangfeiTarget:
    cases: int
    dens: int
    permits: int
    detentions: int
    sentenced: int
    fines: str  # yuan


@dataclass(frozen=True)
class Profile:
    years: tuple[int, int] = (2011, 2012)
    births: dict = field(default_factory=lambda: {2011: 6105, 2012: 6287})
    sexes: dict = field(
        default_factory=lambda: {2011: (3163, 2941, 1), 2012: (3268, 3018, 1)}
    )  # boys, girls, 不详
    unplanned: dict = field(default_factory=lambda: {2011: 326, 2012: 332})
    unplanned_migrant: dict = field(default_factory=lambda: {2011: 35, 2012: 40})
    villages_with_unplanned: dict = field(default_factory=lambda: {2011: 215, 2012: 215})
    unplanned_local_carried: int = 9  # 本区 unplanned births of the first year registered in the second
    prior_year_unplanned_local: int = 46  # 本区 unplanned births of the year before, registered in the first
    fee: dict = field(
        default_factory=lambda: {2011: FeeTarget(328, 294, 208, 85.96), 2012: FeeTarget(301, 293, 213, 91.00)}
    )
    court_applications: dict = field(default_factory=lambda: {2011: 119, 2012: 415})
    court_rejections: dict = field(default_factory=lambda: {2011: 6, 2012: 21})
    deposits: dict = field(default_factory=lambda: {2011: "100000.00", 2012: "1013170.00"})
    detentions: dict = field(default_factory=lambda: {2011: 8, 2012: 37})
    liangfei: dict = field(
        default_factory=lambda: {
            2011: LiangfeiTarget(41, 2, 1, 2, 1, "96500.00"),
            2012: LiangfeiTarget(58, 4, 2, 3, 2, "178900.00"),
        }
    )
    natural_growth_permille: float = 3.57  # of the second year
    birth_defect_rate_yoy: float = -3.42  # ‰ points, second year against the first
    prepregnancy_checks: dict = field(default_factory=lambda: {2011: 2870, 2012: 3015})


GOLDEN = Profile()
