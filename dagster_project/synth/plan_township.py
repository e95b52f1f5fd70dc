"""The township's records of a district: births registered, village populations and village classes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from dagster_project.synth.model import MIGRANT_REGIONS, District, People, Registration, rand_date


class TownshipPlan(People):
    """Registrations (births by sex and policy, twins, late registrations), populations and classes."""

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
