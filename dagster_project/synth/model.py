"""The district and its people: the entities a plan is made of, and the draws every plan shares.

A district's reference data (townships, villages, hospitals, service stations) and the records of each
agency (registrations, hospital births, checks, fee decisions and payments, court records, village
classes) are planned by :class:`~dagster_project.synth.generator.Planner` into a :class:`District`;
:class:`People` holds what every agency's plan draws from: the district's random stream, its years and
its people's identity numbers and names.
"""

from __future__ import annotations

import datetime as dt
import operator
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from dagster_project.synth.profile import Profile

OUTSIDE_DISTRICT = "331081"  # mothers living here gave birth in our hospitals; never a generated district
MIGRANT_REGIONS = ("330302", "330481", "511023", "522101", "360424", "410523", "341221")
# the first nine are the districts of the generator's first versions, in their order; then the other
# county-level divisions of Zhejiang, then of 黄山 (Anhui) (never OUTSIDE_DISTRICT, never a migrant region)
DISTRICT_CODES = tuple(
    c
    for c in (  # noqa: SIM905 - a block of codes reads better than a column of them
        "331003 331004 331022 331023 331024 331082 331083 330602 330603 331002 331021 331102 "
        "331121 331122 331123 331124 331125 331126 331127 331181 330102 330105 330106 330108 "
        "330109 330110 330111 330112 330113 330114 330122 330127 330182 330203 330205 330206 "
        "330211 330212 330213 330225 330226 330281 330282 330303 330304 330305 330324 330326 "
        "330327 330328 330329 330381 330382 330383 330402 330411 330421 330424 330482 330483 "
        "330502 330503 330521 330522 330523 330604 330624 330681 330683 330702 330703 330723 "
        "330726 330727 330781 330782 330783 330784 330802 330803 330822 330824 330825 330881 "
        "330902 330903 330921 330922 341002 341003 341004 341021 341022 341023 341024"
    ).split()
    if c != OUTSIDE_DISTRICT and c not in MIGRANT_REGIONS
)
CENT = Decimal("0.01")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余叶程苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金"
GIVEN = "秀英丽敏静燕芳娟霞玲婷雪琳慧颖洁萍红艳倩莉娜琴蓉梅莹巧佳瑶怡"
PLACE_A = "东西南北上下前后新里外山溪岙桥塘岭坑洋浦埠岩林湾屿沙石柏竹樟桃杨柳"
PLACE_B = "头岙桥塘岭坑洋浦埠岩林湾屿沙口园垟墩河田庄陈宅店"


def d2(x: Decimal | float | str) -> Decimal:
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


def days(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def rand_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    # rng.randint(0, n) is 0 + rng._randbelow(n + 1): the same draws, two calls fewer (a hot path)
    first = start.toordinal()
    return dt.date.fromordinal(first + rng._randbelow(max(0, end.toordinal() - first) + 1))


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643-1999
ID_CHECK = "10X98765432"
ID_DIGIT_BIAS = 48 * sum(ID_WEIGHTS)  # ASCII '0' times the weights


def id_number(first17: str) -> str:
    """``first17`` and its check character (``pii.check_char``, on the digits' ASCII codes)."""
    return first17 + ID_CHECK[(sum(map(operator.mul, first17.encode(), ID_WEIGHTS)) - ID_DIGIT_BIAS) % 11]


def month_of(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def split_amount(rng: random.Random, total: Decimal, pieces: int, minimum: Decimal) -> list[Decimal]:
    """``pieces`` positive amounts (cents) that sum exactly to ``total``."""
    cents = int(total * 100)
    floor = int(minimum * 100)
    free = cents - floor * pieces
    assert free >= 0
    cuts = sorted(rng.randint(0, free) for _ in range(pieces - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, free], strict=True)]
    return [Decimal(p + floor) / 100 for p in parts]


def rand_month_after(rng: random.Random, month: str, months: list[str]) -> str:
    later = [m for m in months if m > month]
    return rng.choice(later[:6]) if later else month


# ---------------------------------------------------------------------------- entities


@dataclass
class Village:
    code: str
    name: str
    township: str
    vtype: str
    pop: list[int] = field(default_factory=list)  # index 0: Dec of the year before the first; then 24 months
    women: list[int] = field(default_factory=list)
    deaths: list[int] = field(default_factory=list)  # 24 months


@dataclass
class Registration:
    rid: str
    village: str
    mother_id: str
    mother_name: str
    hukou: str
    birth: dt.date
    sex: str
    order: int
    policy: str
    registered: dt.date
    twin_of: int | None = None


@dataclass
class HospitalBirth:
    cert: str
    hospital: str
    mother_id: str
    village: str
    birth: dt.date
    sex: str
    weight: int
    weeks: int
    defect: bool


@dataclass
class District:
    code: str
    index: int
    court_abbr: str
    townships: list[tuple[str, str, str]]
    villages: list[Village]
    hospitals: list[tuple[str, str, str]]
    stations: list[dict]
    registrations: list[Registration] = field(default_factory=list)
    hospital_births: list[HospitalBirth] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    enforcement_records: list[dict] = field(default_factory=list)
    liangfei_records: list[dict] = field(default_factory=list)
    village_classes: list[dict] = field(default_factory=list)


class People:
    """What every agency's plan of one district shares: its random stream, years and people."""

    def __init__(self, code: str, index: int, seed: int, profile: Profile):
        self.rng = random.Random(f"{seed}-{code}")
        self.p = profile
        self.code = code
        self.index = index
        # the first and the last year (the same one for a single year)
        self.y1, self.y2 = profile.years[0], profile.years[-1]
        self.first = dt.date(self.y1, 1, 1)
        self.last = dt.date(self.y2, 12, 31)
        self.months = [f"{y}-{m:02d}" for y in profile.years for m in range(1, 13)]
        self.used_ids: set[str] = set()
        # people born 17 to 39 years before the first year (1972-1994 for the report's 2011)
        self.born_first = dt.date(self.y1 - 39, 1, 1).toordinal()
        self.born_days = dt.date(self.y1 - 17, 12, 31).toordinal() - self.born_first + 1

    # --------------------------------------------------------------- people
    def identity(self, region: str, female: bool = True) -> str:
        # the draws of rand_date(born first, born last), randint(0, 99) and choice(digits), inlined
        below = self.rng._randbelow
        last = (0, 2, 4, 6, 8) if female else (1, 3, 5, 7, 9)
        first, span = self.born_first, self.born_days
        while True:
            born = dt.date.fromordinal(first + below(span))
            seq = below(100) * 10 + last[below(5)]
            number = id_number(f"{region}{born.year}{born.month:02d}{born.day:02d}{seq:03d}")
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def name(self) -> str:
        # choice(SURNAMES), then choice((1, 2)) given characters, each a choice(GIVEN)
        below = self.rng._randbelow
        surname = SURNAMES[below(len(SURNAMES))]
        if below(2) == 0:
            return surname + GIVEN[below(len(GIVEN))]
        return surname + GIVEN[below(len(GIVEN))] + GIVEN[below(len(GIVEN))]
