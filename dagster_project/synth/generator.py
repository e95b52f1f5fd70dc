"""A deterministic synthetic landing zone, built so that the marts reproduce the founding report.

``writer.generate(out, seed, districts, years, start_year)`` plans every entity of every district with exact
counts (births by sex and policy, fee cases filed and compliant, court measures,
...) from a :class:`~dagster_project.synth.profile.Profile`, then writes the
files in every form the contract allows (title rows and 合计 rows, Excel date
cells and Chinese dates, GBK, BOM, thousands separators, court cases re-sent as
they change). The same seed always gives byte-identical files.

With the profile's own years every district follows the founding report (``GOLDEN``); with other
years (or ``varied=True``) each district gets a :func:`~dagster_project.synth.profile.varied` profile:
its own layout, rates and counts, for any run of years.

:class:`Planner` plans the district's reference data here and each agency's records in a module of its
own (``plan_township``, ``plan_hospital``, ``plan_finance``, ``plan_court``), on the people and entities
of ``model``; ``writer`` writes the plan as files.
"""

from __future__ import annotations

import datetime as dt

from dagster_project.synth.model import (
    DISTRICT_CODES,
    OUTSIDE_DISTRICT,
    PLACE_A,
    PLACE_B,
    District,
    Village,
    id_number,
    month_of,
    rand_date,
)
from dagster_project.synth.plan_court import CourtPlan
from dagster_project.synth.plan_finance import FeePlan
from dagster_project.synth.plan_hospital import HospitalPlan
from dagster_project.synth.plan_township import TownshipPlan
from dagster_project.synth.profile import TOWNSHIPS_331003

__all__ = ["DISTRICT_CODES", "OUTSIDE_DISTRICT", "District", "Planner", "id_number", "month_of"]


class Planner(TownshipPlan, HospitalPlan, FeePlan, CourtPlan):
    """Plans one district's entities with the exact counts of the profile."""

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
