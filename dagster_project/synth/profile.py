"""What a generated district must contain: the founding report's figures (metrics.md, "The golden year").

These are *generator targets*: the generator builds row-level data that has these
properties; the marts never read them and compute everything from the files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

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
    """Targets per year (dicts keyed by year) and the district's layout.

    The default is the founding report's district (``GOLDEN``): two years, 19 townships, 569 villages,
    and the exact figures of metrics.md. :func:`varied` builds a plausible district of any size for any
    run of years, with its own layout and rates.
    """

    years: tuple[int, ...] = (2011, 2012)
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
    townships: tuple = TOWNSHIPS_331003  # (code suffix, name, type)
    village_counts: tuple = VILLAGE_COUNTS
    prior_year_planned: int = 170  # planned births of the year before, registered in the first
    # birth defects per 1000 hospital births by year; None: chosen so that the rate changes by birth_defect_rate_yoy
    defect_permille: dict | None = None


GOLDEN = Profile()


# ---------------------------------------------------------------------------- varied districts

PLACE_A = "东西南北上下前后新里外山溪桥塘岭坑洋浦埠岩林湾屿沙石柏竹樟桃杨柳金银龙凤"
PLACE_B = "头岙桥塘岭坑洋浦埠岩林湾屿沙口园垟墩河田庄陈宅店"


def _layout(rng: random.Random) -> tuple[tuple, tuple]:
    """Townships (8–25: 街道, 镇 and 乡 with unique names) and village counts (about 130–700 villages)."""
    kinds = (
        [("街道", f"{i + 1:03d}") for i in range(rng.randint(1, 8))]
        + [("镇", f"{100 + i:03d}") for i in range(rng.randint(3, 10))]
        + [("乡", f"{200 + i:03d}") for i in range(rng.randint(0, 8))]
    )
    while len(kinds) < 8:
        kinds.append(("乡", f"{200 + sum(k == '乡' for k, _ in kinds):03d}"))
    names: set[str] = set()
    townships = []
    for ttype, suffix in kinds:
        while True:
            stem = rng.choice(PLACE_A) + rng.choice(PLACE_B)
            if stem not in names and stem[0] != stem[1]:
                names.add(stem)
                break
        townships.append((suffix, stem + ttype, ttype))
    bounds = {"街道": (8, 35), "镇": (15, 60), "乡": (10, 32)}
    counts = [rng.randint(*bounds[ttype]) for _, _, ttype in townships]
    while sum(counts) > 700:
        counts = [max(8, c * 9 // 10) for c in counts]
    return tuple(townships), tuple(counts)


def varied(seed: int, index: int, years: tuple[int, ...]) -> Profile:
    """A plausible district of its own: layout and rates drawn from (seed, index), targets for ``years``.

    The first district keeps the sample district's townships and villages (黄岩区's real layout) and
    draws only its rates; every other district draws its layout as well. Counts scale with the number
    of villages, so a small district has fewer births, fee cases and court cases.
    """
    rng = random.Random(f"{seed}-profile-{index}")
    townships, counts = (TOWNSHIPS_331003, VILLAGE_COUNTS) if index == 0 else _layout(rng)
    size = sum(counts) / sum(VILLAGE_COUNTS)
    birth_level = rng.uniform(0.8, 1.2)  # births per village against the sample district's
    trend = rng.uniform(-0.04, 0.04)  # a year's change
    unplanned_share = rng.uniform(0.025, 0.075)
    migrant_share = rng.uniform(0.07, 0.16)
    sex_ratio = rng.uniform(103.0, 118.0)
    filed_share, compliant_share = rng.uniform(0.85, 0.99), rng.uniform(0.6, 0.8)
    court_level, deposit_level = rng.uniform(0.25, 1.4), rng.uniform(900.0, 2600.0)
    liangfei_level = rng.uniform(0.6, 1.4)
    births, sexes, unplanned, migrant, with_unplanned = {}, {}, {}, {}, {}
    fee, apps, rejections, deposits, detentions, liangfei, checks, defects = ({} for _ in range(8))
    for i, y in enumerate(years):
        wobble = rng.uniform(0.96, 1.04)
        n = max(400, round(6196 * size * birth_level * (1 + trend) ** i * wobble))
        births[y] = n
        unknown = rng.randint(0, 2)
        boys = round((n - unknown) * sex_ratio / (100 + sex_ratio))
        sexes[y] = (boys, n - unknown - boys, unknown)
        u = max(12, round(n * unplanned_share * rng.uniform(0.9, 1.1)))
        unplanned[y] = u
        migrant[y] = max(1, round(u * migrant_share))
        with_unplanned[y] = min(sum(counts), round(u * rng.uniform(0.55, 0.75)))
        apps[y] = max(24, round(415 * size * court_level * rng.uniform(0.8, 1.2)))
        rejections[y] = round(apps[y] * rng.uniform(0.03, 0.06))
        pieces = 6 if i == 0 else 38  # the planner splits a year's deposits into this many measures
        deposits[y] = f"{max(pieces * 1600, round(apps[y] * deposit_level * rng.uniform(0.8, 1.2))):.2f}"
        detentions[y] = max(1, round(apps[y] * rng.uniform(0.05, 0.1)))
        cases = max(12, round(50 * size * liangfei_level * rng.uniform(0.8, 1.2)))
        detained = rng.randint(0, 4)
        fines = round(min(cases, 24) * rng.uniform(2500, 6000), -2)
        liangfei[y] = LiangfeiTarget(
            cases, rng.randint(0, 3), rng.randint(0, 3), detained, rng.randint(0, detained), f"{fines:.2f}"
        )
        checks[y] = round(n * rng.uniform(0.4, 0.52))
        defects[y] = rng.uniform(9.0, 16.0)
    first_local = unplanned[years[0]] - migrant[years[0]]
    carried = max(1, round(first_local * 0.03)) if len(years) > 1 else 0
    prior = round(first_local * rng.uniform(0.1, 0.2))
    for i, y in enumerate(years):
        # fee cases: the district's own (本区) unplanned births registered in the year
        due = unplanned[y] - migrant[y] + (prior - carried if i == 0 else 0) + (carried if i == 1 else 0)
        filed = round(due * filed_share * rng.uniform(0.97, 1.0))
        fee[y] = FeeTarget(due, filed, round(filed * compliant_share), round(rng.uniform(78.0, 96.0), 2))
    return replace(
        GOLDEN,
        years=tuple(years),
        births=births,
        sexes=sexes,
        unplanned=unplanned,
        unplanned_migrant=migrant,
        villages_with_unplanned=with_unplanned,
        unplanned_local_carried=carried,
        prior_year_unplanned_local=prior,
        fee=fee,
        court_applications=apps,
        court_rejections=rejections,
        deposits=deposits,
        detentions=detentions,
        liangfei=liangfei,
        natural_growth_permille=round(rng.uniform(1.0, 6.5), 2),
        birth_defect_rate_yoy=0.0,
        prepregnancy_checks=checks,
        townships=townships,
        village_counts=counts,
        prior_year_planned=round(170 * size),
        defect_permille=defects,
    )
