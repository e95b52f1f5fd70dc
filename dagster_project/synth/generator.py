"""A deterministic synthetic landing zone, built so that the marts reproduce the founding report.

``generate(out, seed, districts, years, start_year)`` plans every entity of every district with exact
counts (births by sex and policy, fee cases filed and compliant, court measures,
...) from a :class:`~dagster_project.synth.profile.Profile`, then writes the
files in every form the contract allows (title rows and 合计 rows, Excel date
cells and Chinese dates, GBK, BOM, thousands separators, court cases re-sent as
they change). The same seed always gives byte-identical files.

With the profile's own years every district follows the founding report (``GOLDEN``); with other
years (or ``varied=True``) each district gets a :func:`~dagster_project.synth.profile.varied` profile:
its own layout, rates and counts, for any run of years.
"""

from __future__ import annotations

import datetime as dt
import operator
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from dagster_project.synth.profile import TOWNSHIPS_331003, Profile

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


class Planner:
    """Plans one district's entities with the exact counts of the profile."""

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

    # --------------------------------------------------------------- reference
    def reference(self) -> District:
        rng = self.rng
        townships = [(f"{self.code}{sfx}", name, ttype) for sfx, name, ttype in self.p.townships]
        villages: list[Village] = []
        names_used: set[str] = set()
        for (tcode, _tname, ttype), count in zip(townships, self.p.village_counts, strict=True):
            n_ju = {"街道": count * 2 // 3, "镇": 2, "乡": 0}[ttype]
            for i in range(count):
                vtype = "居" if i < n_ju else "村"
                tries = 0
                while True:
                    stem = rng.choice(PLACE_A) + rng.choice(PLACE_B)
                    if tries > 40:  # a large district has used most two-character names
                        stem += rng.choice(PLACE_B)
                    vname = stem + ("社区" if vtype == "居" else "村")
                    if vname not in names_used:
                        names_used.add(vname)
                        break
                    tries += 1
                serial = (i + 1) if vtype == "居" else 200 + (i - n_ju) + 1
                villages.append(Village(f"{tcode}{serial:03d}", vname, tcode, vtype))
        abbr = "台黄" if self.code == "331003" else f"台{self.index + 1}"
        if self.p.townships != TOWNSHIPS_331003:
            hospitals, stations = self.generic_services(townships)
            return District(self.code, self.index, abbr, townships, villages, hospitals, stations)
        by_name = {name: code for code, name, _ in townships}
        h = lambda i: f"H{self.index * 10 + i:02d}"  # noqa: E731
        hospitals = [
            (h(1), "区第一人民医院", by_name["东城街道"]),
            (h(2), "区中医院", by_name["西城街道"]),
            (h(3), "区妇幼保健院", by_name["北城街道"]),
            (h(4), "院桥中心卫生院", by_name["院桥镇"]),
            (h(5), "宁溪中心卫生院", by_name["宁溪镇"]),
        ]
        y2 = self.y2
        st = [
            ("东城街道", "中心站", "是", "省级", f"{y2}-06-18", ""),
            ("院桥镇", "中心站", "是", "区级", "2004-03-01", ""),
            ("宁溪镇", "中心站", "是", "无", "2006-09-01", ""),
            ("新前街道", "一级站", "是", "区级", "2008-05-01", ""),
            ("西城街道", "二级站", "是", "无", "2005-04-01", ""),
            ("南城街道", "二级站", "是", "无", "2006-07-15", ""),
            ("北城街道", "二级站", "否", "无", "2007-01-10", ""),
            ("江口街道", "二级站", "是", "无", "2009-10-01", ""),
            ("澄江街道", "二级站", "是", "无", "2010-05-20", ""),
            ("高桥街道", "二级站", "否", "无", "2011-03-01", ""),
            ("沙埠镇", "二级站", "是", "无", "2008-08-08", ""),
            ("头陀镇", "二级站", "否", "无", "2009-04-01", ""),
            ("北洋镇", "二级站", "是", "无", f"{y2}-03-01", ""),
            ("屿头乡", "二级站", "否", "无", "2007-06-01", f"{y2}-06-30"),
            ("平田乡", "二级站", "否", "无", f"{y2 + 1}-02-01", ""),
            ("上垟乡", "一级站", "否", "无", "2009-02-01", f"{self.y1}-08-31"),
        ]
        stations = [
            {
                "station_code": f"S{self.code}{i + 1:02d}",
                "station_name": f"{tname}计划生育服务站",
                "township_code": by_name[tname],
                "level": level,
                "standardized": std,
                "sanyou_center": sanyou,
                "opened_on": opened,
                "closed_on": closed,
            }
            for i, (tname, level, std, sanyou, opened, closed) in enumerate(st)
        ]
        return District(self.code, self.index, abbr, townships, villages, hospitals, stations)

    def generic_services(self, townships: list[tuple[str, str, str]]) -> tuple[list, list]:
        """Hospitals (3 in the district's centre, a health centre in up to 4 towns) and service stations."""
        rng = self.rng
        h = lambda i: f"H{self.index * 10 + i:02d}"  # noqa: E731
        centre = [t[0] for t in townships[:3]]
        hospitals = [
            (h(1), "区第一人民医院", centre[0]),
            (h(2), "区中医院", centre[1]),
            (h(3), "区妇幼保健院", centre[2]),
        ]
        towns = [t for t in townships[3:] if t[2] == "镇"][: rng.randint(1, 4)]
        for i, (code, name, _) in enumerate(towns):
            hospitals.append((h(4 + i), f"{name[:-1]}中心卫生院", code))
        stations = []
        for tcode, tname, ttype in townships:
            if rng.random() < 0.2:
                continue
            first = not stations
            level = (
                "中心站"
                if first or (ttype == "镇" and rng.random() < 0.3)
                else rng.choice(("一级站", "二级站"))
            )
            opened = rand_date(rng, dt.date(2003, 1, 1), dt.date(self.y2, 10, 31))
            closed = ""
            if rng.random() < 0.06 and opened < dt.date(self.y2, 6, 1):
                closed = rand_date(rng, opened + dt.timedelta(days=60), dt.date(self.y2, 12, 31)).isoformat()
            stations.append(
                {
                    "station_code": f"S{self.code}{len(stations) + 1:02d}",
                    "station_name": f"{tname}计划生育服务站",
                    "township_code": tcode,
                    "level": level,
                    "standardized": "是" if rng.random() < 0.7 else "否",
                    "sanyou_center": ("省级" if first else rng.choice(("无", "无", "无", "区级"))),
                    "opened_on": opened.isoformat(),
                    "closed_on": closed,
                }
            )
        return hospitals, stations

    # --------------------------------------------------------------- population
    def population(self, d: District, births_by_village: dict[str, int]) -> None:
        rng = self.rng
        for v in d.villages:
            base = rng.randint(1000, 2600) if v.vtype == "居" else rng.randint(400, 1300)
            share = rng.uniform(0.22, 0.28)
            v.pop = [base]
            for _ in range(12 * len(self.p.years)):
                v.pop.append(v.pop[-1] + rng.randint(-4, 6))
            v.women = [round(p * share) + rng.randint(-3, 3) for p in v.pop]
            v.deaths = [0] * (12 * len(self.p.years))
        # deaths: the last year's total is set so that its natural growth rate is the profile's
        months = 12 * len(self.p.years)
        p_start = sum(v.pop[months - 12] for v in d.villages)
        p_end = sum(v.pop[months] for v in d.villages)
        births2 = self.p.births[self.y2]
        avg = (p_start + p_end) / 2
        target = self.p.natural_growth_permille
        deaths2 = min(range(1, births2), key=lambda x: abs(1000 * (births2 - x) / avg - target))
        earlier = [round(deaths2 * rng.uniform(0.95, 1.03)) for _ in self.p.years[1:]]
        weights = [v.pop[1] for v in d.villages]
        for year_index, total in enumerate([*earlier, deaths2]):
            for vi in rng.choices(range(len(d.villages)), weights=weights, k=total):
                d.villages[vi].deaths[year_index * 12 + rng.randrange(12)] += 1

    # --------------------------------------------------------------- births
    def births(self, d: District) -> None:
        rng, p = self.rng, self.p
        weights = {v.code: (v.pop[0] if v.pop else 1000) for v in d.villages}
        codes = [v.code for v in d.villages]
        regs: list[Registration] = []
        local = self.code

        def new_reg(
            village: str, birth: dt.date, policy: str, hukou: str, sex: str, order: int
        ) -> Registration:
            region = local if hukou == "本区" else rng.choice(MIGRANT_REGIONS)
            return Registration(
                "", village, self.identity(region), self.name(), hukou, birth, sex, order, policy, birth
            )

        for y in p.years:
            n, u, um = p.births[y], p.unplanned[y], p.unplanned_migrant[y]
            boys, girls, unknown = p.sexes[y]
            assert boys + girls + unknown == n
            sexes = ["男"] * boys + ["女"] * girls + ["不详"] * unknown
            rng.shuffle(sexes)
            vset = rng.sample(codes, p.villages_with_unplanned[y])  # villages with unplanned births
            unplanned_villages = vset + rng.choices(vset, weights=[weights[c] for c in vset], k=u - len(vset))
            planned_villages = rng.choices(codes, weights=[weights[c] for c in codes], k=n - u)
            year_start, year_end = dt.date(y, 1, 1), dt.date(y, 12, 31)
            year_regs = []
            for i, village in enumerate(unplanned_villages):
                hukou = "外地" if i < um else "本区"
                order = rng.choice((2, 2, 2, 3, 3, 4))
                year_regs.append(
                    new_reg(village, rand_date(rng, year_start, year_end), "政策外", hukou, "", order)
                )
            for village in planned_villages:
                hukou = "外地" if rng.random() < 0.12 else "本区"
                order = 1 if rng.random() < 0.7 else 2
                year_regs.append(
                    new_reg(village, rand_date(rng, year_start, year_end), "政策内", hukou, "", order)
                )
            for r, s in zip(year_regs, sexes, strict=True):
                r.sex = s
            # twins: pairs of planned births in one village share mother and birth date
            planned = sorted((r for r in year_regs if r.policy == "政策内"), key=lambda r: r.village)
            pairs = [
                (a, b) for a, b in zip(planned[::2], planned[1::2], strict=False) if a.village == b.village
            ]
            for a, b in rng.sample(pairs, min(35, len(pairs))):
                b.twin_of = 1
                b.mother_id, b.mother_name, b.hukou, b.birth, a.order, b.order = (
                    a.mother_id,
                    a.mother_name,
                    a.hukou,
                    a.birth,
                    1,
                    2,
                )
            # registration dates
            local_unplanned = [r for r in year_regs if r.policy == "政策外" and r.hukou == "本区"]
            carried = set()
            if y == self.y1:
                carried = {id(r) for r in rng.sample(local_unplanned, p.unplanned_local_carried)}
            for r in year_regs:
                lag = 3 + min(int(rng.expovariate(1 / 30)), 150)
                if id(r) in carried:
                    r.birth = rand_date(rng, dt.date(y, 11, 1), year_end)
                    r.registered = rand_date(rng, dt.date(y + 1, 1, 3), dt.date(y + 1, 2, 25))
                elif r.policy == "政策外" or y == self.y2:
                    r.registered = min(r.birth + dt.timedelta(days=lag), year_end)
                else:
                    r.registered = r.birth + dt.timedelta(days=lag)  # may fall in the next year
            regs.extend(year_regs)
        # twins registered together
        by_mother_date: dict[tuple, list[Registration]] = defaultdict(list)
        for r in regs:
            by_mother_date[(r.mother_id, r.birth)].append(r)
        for group in by_mother_date.values():
            for r in group[1:]:
                r.registered = group[0].registered
        # births of the year before the first, registered in the first year
        prior = self.y1 - 1
        for i in range(p.prior_year_unplanned_local + p.prior_year_planned):
            policy = "政策外" if i < p.prior_year_unplanned_local else "政策内"
            hukou = "本区" if policy == "政策外" or rng.random() > 0.12 else "外地"
            village = rng.choices(codes, weights=[weights[c] for c in codes])[0]
            birth = rand_date(rng, dt.date(prior, 10, 15), dt.date(prior, 12, 31))
            r = new_reg(
                village, birth, policy, hukou, rng.choice(("男", "女")), 2 if policy == "政策外" else 1
            )
            r.registered = rand_date(rng, dt.date(self.y1, 1, 3), dt.date(self.y1, 3, 31))
            regs.append(r)
        # registration ids: per township and registration year, in order of registration
        regs.sort(key=lambda r: (r.registered, r.village, r.birth))
        serial: dict[tuple[str, int], int] = defaultdict(int)
        for r in regs:
            key = (r.village[:9], r.registered.year)
            serial[key] += 1
            r.rid = f"{r.village[:9]}-{r.registered.year}-{serial[key]:04d}"
        d.registrations = regs

    # --------------------------------------------------------------- hospitals
    def hospital(self, d: District) -> None:
        rng, p = self.rng, self.p
        hosp_by_township = {tc: code for code, _, tc in d.hospitals}
        city = [code for code, _, _ in d.hospitals[:3]]
        serials: dict[str, int] = defaultdict(int)
        records: list[HospitalBirth] = []

        def cert(hospital: str, birth: dt.date) -> str:
            serials[hospital] += 1
            return f"P{hospital[1:]}{birth.year % 100:02d}{serials[hospital]:05d}"

        def pick_hospital(village: str) -> str:
            own = hosp_by_township.get(village[:9])
            return own if own and rng.random() < 0.7 else rng.choice(city)

        def record(mother: str, village: str, birth: dt.date, sex: str) -> HospitalBirth:
            h = pick_hospital(village)
            return HospitalBirth(
                cert(h, birth),
                h,
                mother,
                village,
                birth,
                sex,
                int(rng.gauss(3250, 420)) // 10 * 10,
                rng.choice((37, 38, 38, 39, 39, 40, 40, 41)),
                False,
            )

        for r in d.registrations:
            if not (self.first <= r.birth <= self.last) or rng.random() < 0.012:
                continue  # born elsewhere or at home: no record in the district's hospitals
            hb = record(r.mother_id, r.village, r.birth, r.sex)
            if rng.random() < 0.015 and r.twin_of is None:
                shifted = r.birth + dt.timedelta(days=rng.choice((-2, -1, 1, 2)))
                if self.first <= shifted <= self.last:
                    hb.birth = shifted  # a clerical difference: the match allows 3 days
            records.append(hb)
        codes = [v.code for v in d.villages]
        for y in p.years:
            for _ in range(9):  # hospital births never registered
                b = rand_date(rng, dt.date(y, 1, 1), dt.date(y, 12, 31))
                records.append(
                    record(self.identity(self.code), rng.choice(codes), b, rng.choice(("男", "女")))
                )
            for _ in range(14):  # mothers living in another district
                b = rand_date(rng, dt.date(y, 1, 1), dt.date(y, 12, 31))
                village = f"{OUTSIDE_DISTRICT}{rng.randint(1, 12):03d}{rng.randint(200, 230):03d}"
                records.append(record(self.identity(OUTSIDE_DISTRICT), village, b, rng.choice(("男", "女"))))
        # birth defects: counts chosen so that the rate changes by the report's figure
        resident = set(codes)
        by_year = {y: [h for h in records if h.birth.year == y and h.village in resident] for y in p.years}
        if p.defect_permille is None:  # the report's two years
            n1, n2 = len(by_year[self.y1]), len(by_year[self.y2])
            best = None
            for k1 in range(int(n1 * 0.011), int(n1 * 0.015)):
                for k2 in range(0, k1):
                    diff = 1000 * k2 / n2 - 1000 * k1 / n1
                    err = abs(diff - p.birth_defect_rate_yoy)
                    if err < 0.003 and (best is None or err < best[0]):
                        best = (err, k1, k2)
            assert best, "no defect counts reproduce the rate change"
            ks = best[1:]
        else:
            ks = [round(len(by_year[y]) * p.defect_permille[y] / 1000) for y in p.years]
        for y, k in zip(p.years, ks, strict=True):
            for h in rng.sample(by_year[y], k):
                h.defect = True
        for h in records:
            if h.village not in resident and rng.random() < 0.01:
                h.defect = True
        d.hospital_births = records
        # pre-pregnancy checks
        seq = 0
        for y in p.years:
            for _ in range(p.prepregnancy_checks[y]):
                seq += 1
                h = rng.choice(d.hospitals)[0]
                d.checks.append(
                    {
                        "check_id": f"YQ{self.code}{seq:06d}",
                        "hospital": h,
                        "woman_id": self.identity(
                            self.code if rng.random() < 0.9 else rng.choice(MIGRANT_REGIONS)
                        ),
                        "village": rng.choice(codes),
                        "checked_on": rand_date(rng, dt.date(y, 1, 1), dt.date(y, 12, 31)),
                        "risk": "高风险人群" if rng.random() < 0.085 else "一般人群",
                    }
                )

    # --------------------------------------------------------------- fee decisions and payments
    def fees(self, d: District) -> None:
        rng, p = self.rng, self.p
        dec_serial: dict[int, int] = defaultdict(int)
        pay_serial = [0]

        def decision(
            r_id: str, respondent: str, township: str, on: dt.date, assessed: Decimal, statutory: Decimal
        ) -> dict:
            dec_serial[on.year] += 1
            dec = {
                "decision_no": f"{d.court_abbr}计征〔{on.year}〕{dec_serial[on.year]:04d}号",
                "respondent_id": respondent,
                "township_code": township,
                "registration_id": r_id,
                "decided_on": on,
                "assessed": assessed,
                "statutory": statutory,
                "delivered": month_of(on),
            }
            d.decisions.append(dec)
            return dec

        def pay(dec_no: str, on: dt.date, amount: Decimal) -> None:
            pay_serial[0] += 1
            channel = rng.choices(("现金", "银行转账", "法院划拨"), weights=(3, 6, 1))[0]
            delivered = month_of(on)
            if on.month == 12 and on.day >= 30 and on.year < self.y2 and rng.random() < 0.5:
                delivered = f"{on.year + 1}-01"  # a payment of 30 December in the January file
            d.payments.append(
                {
                    "receipt_no": f"JK{self.code}{pay_serial[0]:06d}",
                    "decision_no": dec_no,
                    "paid_on": on,
                    "amount": amount,
                    "channel": channel,
                    "delivered": delivered,
                }
            )
            self.payments_of[dec_no].append(d.payments[-1])

        def statutory_amount() -> Decimal:
            return Decimal(rng.randrange(180, 1500) * 100) + rng.choice((Decimal("0"), Decimal("0.50")))

        cases_by_year = {
            y: [
                r
                for r in d.registrations
                if r.policy == "政策外" and r.hukou == "本区" and r.registered.year == y
            ]
            for y in p.years
        }
        self.balances: list[tuple[dict, Decimal]] = []
        self.payments_of: dict[str, list[dict]] = defaultdict(list)
        for y in p.years:
            t = p.fee[y]
            cases = sorted(cases_by_year[y], key=lambda r: r.rid)
            assert len(cases) == t.due, (y, len(cases), t.due)
            rng.shuffle(cases)
            filed, unfiled = cases[: t.filed], cases[t.filed :]
            year_end = dt.date(y, 12, 31)
            decisions = []
            for i, r in enumerate(filed):
                on = min(r.registered + dt.timedelta(days=rng.randint(10, 100)), year_end)
                statutory = statutory_amount()
                assessed = (
                    statutory if i < t.compliant else d2(statutory * Decimal(str(rng.uniform(0.5, 0.93))))
                )
                decisions.append(decision(r.rid, r.mother_id, r.village[:9], on, assessed, statutory))
            for r in unfiled[: len(unfiled) // 2]:
                if y < self.y2:  # filed late, in the next year
                    on = rand_date(rng, dt.date(y + 1, 1, 5), dt.date(y + 1, 3, 31))
                    s = statutory_amount()
                    decision(r.rid, r.mother_id, r.village[:9], on, s, s)
            # payments by 31 December: exactly the collection rate of the assessed total
            total = sum(dc["assessed"] for dc in decisions)
            remaining = d2(total * Decimal(str(t.collection_rate)) / 100)
            order = sorted(decisions, key=lambda dc: dc["decided_on"] + dt.timedelta(days=rng.randint(0, 60)))
            for dc in order:
                amount = min(dc["assessed"], remaining)
                if dc["decided_on"] == year_end and amount < dc["assessed"]:
                    amount = Decimal(0)
                if amount > 0:
                    instalments = rng.choice((1, 1, 2, 3)) if amount > 3000 else 1
                    parts = (
                        split_amount(rng, amount, instalments, Decimal("500.00"))
                        if instalments > 1
                        else [amount]
                    )
                    dates = sorted(rand_date(rng, dc["decided_on"], year_end) for _ in parts)
                    for on, part in zip(dates, parts, strict=True):
                        pay(dc["decision_no"], on, part)
                    remaining -= amount
                balance = dc["assessed"] - amount
                if balance > 0:
                    self.balances.append((dc, balance))
                    if y < self.y2 and rng.random() < 0.45:  # paid after the year's end: counts for no year
                        pay(
                            dc["decision_no"],
                            rand_date(rng, dt.date(y + 1, 1, 2), dt.date(y + 1, 11, 30)),
                            balance,
                        )
            if remaining > 0:  # the rest fell on decisions of 31 December (never in the report's years)
                remaining = self.pay_year_end_rest(decisions, year_end, remaining, pay)
            assert remaining == 0, (y, remaining)
        d.payments = [x for x in d.payments if x["amount"] > 0]  # a balance paid on 31 December after all
        # a revised (second) decision for one case: the earliest decision counts
        dc = rng.choice(
            [x for x in d.decisions if x["decided_on"].year == self.y2 and x["decided_on"].month < 11]
        )
        decision(
            dc["registration_id"],
            dc["respondent_id"],
            dc["township_code"],
            dc["decided_on"] + dt.timedelta(days=20),
            dc["assessed"] * 2,
            dc["statutory"],
        )
        # decisions for births registered before the landing zone begins (their registration is unknown)
        for i in range(4):
            tc = rng.choice(d.townships)[0]
            on = rand_date(rng, self.first, dt.date(self.y2, 10, 31))
            s = statutory_amount()
            dc = decision(f"{tc}-{self.y1 - 3}-{9000 + i:04d}", self.identity(self.code), tc, on, s, s)
            pay(dc["decision_no"], on + dt.timedelta(days=15), d2(s / 2))
        # payments to decisions issued before the landing zone begins
        for i in range(3):
            on = rand_date(rng, self.first, self.last)
            pay(
                f"{d.court_abbr}计征〔{self.y1 - 2}〕{800 + i:04d}号",
                on,
                Decimal(rng.randrange(50, 300) * 100),
            )
        # two decisions reach finance's file a month late (their payment may come first)
        late = [x for x in d.decisions if x["decided_on"].month < 12 and x["decided_on"].day > 20]
        for dc in rng.sample(late, 2):
            nxt = dc["decided_on"].replace(day=1) + dt.timedelta(days=32)
            dc["delivered"] = month_of(nxt)

    def pay_year_end_rest(self, decisions: list[dict], year_end: dt.date, remaining: Decimal, pay) -> Decimal:
        """Pay what the collection rate still needs on 31 December, from decisions of that day.

        Their balances shrink by as much, and so does a payment of the balance after the year's end.
        """
        mine = {id(dc) for dc in decisions if dc["decided_on"] == year_end}
        for k, (dc, balance) in enumerate(self.balances):
            if remaining == 0:
                break
            if id(dc) not in mine:
                continue
            part = min(balance, remaining)
            pay(dc["decision_no"], year_end, part)
            remaining -= part
            self.balances[k] = (dc, balance - part)
            for later in self.payments_of.get(dc["decision_no"], []):
                if later["paid_on"] > year_end:
                    later["amount"] -= part
        self.balances = [(dc, b) for dc, b in self.balances if b > 0]
        return remaining

    # --------------------------------------------------------------- court: enforcement
    def enforcement(self, d: District) -> None:
        rng, p = self.rng, self.p
        cases: list[dict] = []
        serial: dict[int, int] = defaultdict(int)
        unpaid = [(dc, bal) for dc, bal in self.balances if dc["decided_on"] < dt.date(self.y2, 9, 1)]
        rng.shuffle(unpaid)
        for y in p.years:
            n = p.court_applications[y]
            linked = [u for u in unpaid if u[0]["decided_on"] < dt.date(y, 9, 1)][: n // 8]
            for u in linked:
                unpaid.remove(u)
            for i in range(n):
                serial[y] += 1
                if i < len(linked):
                    dc, bal = linked[i]
                    applied = rand_date(
                        rng,
                        max(dt.date(y, 1, 1), dc["decided_on"] + dt.timedelta(days=60)),
                        dt.date(y, 12, 31),
                    )
                    dec_no, respondent, township, amount = (
                        dc["decision_no"],
                        dc["respondent_id"],
                        dc["township_code"],
                        bal,
                    )
                else:  # decisions issued before the landing zone begins
                    applied = rand_date(rng, dt.date(y, 1, 1), dt.date(y, 12, 31))
                    old = rng.randint(min(y - 7, self.y1 - 1), self.y1 - 1)  # (any span of years)
                    dec_no = f"{d.court_abbr}计征〔{old}〕{rng.randint(1, 450):04d}号"
                    respondent, township = self.identity(self.code), rng.choice(d.townships)[0]
                    amount = Decimal(rng.randrange(150, 1400) * 100)
                cases.append(
                    {
                        "case_no": f"({y}){d.court_abbr}执字第{serial[y]:05d}号",
                        "applied_on": applied,
                        "decision_no": dec_no,
                        "respondent_id": respondent,
                        "township_code": township,
                        "amount_applied": amount,
                        "measures": [],
                        "final": None,
                    }
                )
        # rejections: cases applied before November of their year
        for y in p.years:
            pool = [c for c in cases if c["applied_on"].year == y and c["applied_on"].month < 11]
            for c in rng.sample(pool, p.court_rejections[y]):
                c["final"] = ("不予执行", c["applied_on"] + dt.timedelta(days=rng.randint(20, 55)))
        active = [c for c in cases if c["final"] is None]
        # measures dated in each year: deposits summing to the report's amount, detentions by count
        for y in p.years:
            start, end = dt.date(y, 1, 1), dt.date(y, 12, 31)
            eligible = [
                c for c in active if c["applied_on"] <= dt.date(y, 12, 20) and c["applied_on"].year >= y - 1
            ]

            def when(
                c: dict, after: dt.date | None = None, start: dt.date = start, end: dt.date = end
            ) -> dt.date:
                lo = max(start, c["applied_on"] + dt.timedelta(days=3), after or start)
                return rand_date(rng, lo, end)

            target = Decimal(p.deposits[y])
            pieces = split_amount(rng, target, 6 if y == self.y1 else 38, Decimal("800.00"))
            for amount in pieces:
                c = rng.choice(eligible)
                cents = int(amount * 100)
                if cents % 2 == 0 and rng.random() < 0.35:  # frozen, then the same money transferred
                    half = Decimal(cents // 2) / 100
                    on1 = when(c, end - dt.timedelta(days=200))
                    on1 = min(on1, end - dt.timedelta(days=8))
                    on1 = max(on1, c["applied_on"] + dt.timedelta(days=3))
                    if on1 + dt.timedelta(days=7) <= end:
                        c["measures"].append({"type": "冻结存款", "on": on1, "amount": half, "days": None})
                        c["measures"].append(
                            {
                                "type": "划拨存款",
                                "on": rand_date(rng, on1 + dt.timedelta(days=7), end),
                                "amount": half,
                                "days": None,
                            }
                        )
                        continue
                kind = rng.choice(("冻结存款", "划拨存款"))
                c["measures"].append({"type": kind, "on": when(c), "amount": amount, "days": None})
            for _ in range(p.detentions[y]):
                c = rng.choice(eligible)
                c["measures"].append(
                    {"type": "司法拘留", "on": when(c), "amount": None, "days": rng.randint(5, 15)}
                )
            for _ in range(rng.randint(10, 25)):
                c = rng.choice(eligible)
                c["measures"].append({"type": "限制高消费", "on": when(c), "amount": None, "days": None})
        for c in active:
            if c["measures"] and rng.random() < 0.5:
                last = max(m["on"] for m in c["measures"]) + dt.timedelta(days=rng.randint(10, 90))
                if last <= self.last:
                    c["final"] = (rng.choice(("结案", "结案", "终结本次执行")), last)
        # the records: one at application, one on each day something changed
        for c in cases:
            dates = sorted(
                {c["applied_on"], *(m["on"] for m in c["measures"])}
                | ({c["final"][1]} if c["final"] else set())
            )
            for on in dates:
                measures = sorted(
                    (m for m in c["measures"] if m["on"] <= on), key=lambda m: (m["on"], m["type"])
                )
                status = "立案" if not measures else "执行中"
                if c["final"] and on >= c["final"][1]:
                    status = c["final"][0]
                d.enforcement_records.append(
                    {
                        "case_no": c["case_no"],
                        "applied_on": c["applied_on"],
                        "decision_no": c["decision_no"],
                        "respondent_id": c["respondent_id"],
                        "township_code": c["township_code"],
                        "amount_applied": c["amount_applied"],
                        "status": status,
                        "measures": measures,
                        "updated_at": self.instant(on),
                        "delivered": month_of(on),
                    }
                )
        # an old record re-sent late, unchanged (the same key in a later file: superseded, not doubled)
        for rec in rng.sample([r for r in d.enforcement_records if r["delivered"] < f"{self.y2}-06"], 3):
            d.enforcement_records.append(
                {**rec, "delivered": rand_month_after(rng, rec["delivered"], self.months)}
            )

    def instant(self, on: dt.date) -> str:
        """updated_at in one of the forms the contract allows (all between 08:00 and 18:59 Shanghai time)."""
        t = dt.datetime(
            on.year,
            on.month,
            on.day,
            self.rng.randint(8, 18),
            self.rng.randint(0, 59),
            self.rng.randint(0, 59),
        )
        form = self.rng.random()
        if form < 0.5:
            return t.isoformat()  # no offset: Asia/Shanghai
        if form < 0.8:
            return t.isoformat() + "+08:00"
        return (t - dt.timedelta(hours=8)).isoformat() + "Z"

    # --------------------------------------------------------------- court: 两非
    def liangfei(self, d: District) -> None:
        rng, p = self.rng, self.p
        for y in p.years:
            t = p.liangfei[y]
            opened = sorted(rand_date(rng, dt.date(y, 1, 1), dt.date(y, 12, 31)) for _ in range(t.cases))
            cases = [
                {
                    "case_no": f"({y}){d.court_abbr}卫两非字第{i + 1:03d}号",
                    "opened_on": on,
                    "township_code": rng.choice(d.townships)[0],
                    "kind": rng.choices(
                        ("非医学需要胎儿性别鉴定", "非医学需要选择性别终止妊娠"), weights=(3, 1)
                    )[0],
                    "den": False,
                    "fine": Decimal(0),
                    "permits": 0,
                    "detentions": 0,
                    "sentenced": 0,
                }
                for i, on in enumerate(opened)
            ]
            early = [c for c in cases if c["opened_on"] <= dt.date(y, 10, 31)]
            for c in rng.sample(early, t.dens):
                c["den"] = True
            for attr, total in (
                ("permits", t.permits),
                ("detentions", t.detentions),
                ("sentenced", t.sentenced),
            ):
                for c in rng.choices(early, k=total):
                    c[attr] += 1
            fined = rng.sample(early, min(len(early), 24))
            for c, amount in zip(
                fined, split_amount(rng, Decimal(t.fines), len(fined), Decimal("1000")), strict=True
            ):
                c["fine"] = Decimal(int(amount) // 100 * 100)
            drift = Decimal(t.fines) - sum(c["fine"] for c in fined)
            fined[0]["fine"] += drift
            for c in cases:
                touched = c in early and (
                    c["den"] or c["fine"] or c["permits"] or c["detentions"] or c["sentenced"]
                )
                base = {
                    "case_no": c["case_no"],
                    "opened_on": c["opened_on"],
                    "township_code": c["township_code"],
                    "kind": c["kind"],
                }
                first = {
                    **base,
                    "den_destroyed": False,
                    "admin_fine": Decimal(0),
                    "rebirth_permits_cancelled": 0,
                    "criminal_detentions": 0,
                    "sentenced": 0,
                    "status": "立案",
                }
                d.liangfei_records.append(
                    {
                        **first,
                        "updated_at": self.instant(c["opened_on"]),
                        "delivered": month_of(c["opened_on"]),
                    }
                )
                if touched:
                    mid = c["opened_on"] + dt.timedelta(days=rng.randint(5, 25))
                    d.liangfei_records.append(
                        {
                            **first,
                            "status": "调查中",
                            "updated_at": self.instant(mid),
                            "delivered": month_of(mid),
                        }
                    )
                    end = min(mid + dt.timedelta(days=rng.randint(20, 60)), self.last)
                    d.liangfei_records.append(
                        {
                            **base,
                            "den_destroyed": c["den"],
                            "admin_fine": c["fine"],
                            "rebirth_permits_cancelled": c["permits"],
                            "criminal_detentions": c["detentions"],
                            "sentenced": c["sentenced"],
                            "status": "结案",
                            "updated_at": self.instant(end),
                            "delivered": month_of(end),
                        }
                    )

    # --------------------------------------------------------------- village classes
    def classes(self, d: District) -> None:
        rng = self.rng
        for y in self.p.years:
            for v in d.villages:
                cls = rng.choices(("示范", "合格", "整治"), weights=(15, 70, 15))[0]
                d.village_classes.append(
                    {"village_code": v.code, "year": y, "class": cls, "month": f"{y}-12"}
                )
        # one township reports the second year's classes in November too; December (the latest) wins
        tcode = d.townships[2][0]
        rows = [r for r in d.village_classes if r["year"] == self.y2 and r["village_code"].startswith(tcode)]
        for i, row in enumerate(rows):
            early = {**row, "month": f"{self.y2}-11"}
            if i == 0 or rng.random() < 0.2:
                early["class"] = "整治" if row["class"] != "整治" else "合格"
            d.village_classes.append(early)

    def plan(self) -> District:
        d = self.reference()
        for v in d.villages:  # provisional weights for the births: Dec base population
            v.pop = [self.rng.randint(1500, 4200) if v.vtype == "居" else self.rng.randint(550, 1900)]
        self.births(d)
        self.population(d, {})
        self.hospital(d)
        self.fees(d)
        self.enforcement(d)
        self.liangfei(d)
        self.classes(d)
        return d


def rand_month_after(rng: random.Random, month: str, months: list[str]) -> str:
    later = [m for m in months if m > month]
    return rng.choice(later[:6]) if later else month
