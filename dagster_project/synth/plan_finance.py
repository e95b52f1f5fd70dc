"""Finance's records of a district: social maintenance fee decisions and the payments made on them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from dagster_project.synth.model import District, People, d2, month_of, rand_date, split_amount


class FeePlan(People):
    """Fee decisions and payments with the profile's exact counts and collection rate."""

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
