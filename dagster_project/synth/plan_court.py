"""The court's records of a district: enforcement cases of unpaid fees and "两非" cases, re-sent as they change."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from dagster_project.synth.model import District, People, month_of, rand_date, rand_month_after, split_amount


class CourtPlan(People):
    """Enforcement cases (from the fee plan's unpaid balances) and 两非 cases, one record per change."""

    balances: list[tuple[dict, Decimal]]  # the fee plan's unpaid decisions (set by FeePlan.fees)

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
