"""The hospitals' records of a district: live births (with birth defects) and pre-pregnancy checks."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from dagster_project.synth.model import (
    MIGRANT_REGIONS,
    OUTSIDE_DISTRICT,
    District,
    HospitalBirth,
    People,
    rand_date,
)


class HospitalPlan(People):
    """Hospital births matched to the township's registrations, and the free pre-pregnancy checks."""

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
