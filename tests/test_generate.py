"""The committed sample is exactly what `pfpw generate` writes with the default seed; issue 8's sizes."""

import csv
import hashlib
import random

import pytest
from python_calamine import CalamineWorkbook

from dagster_project.cli import main
from dagster_project.pii import check_char
from dagster_project.synth.generator import DISTRICT_CODES, OUTSIDE_DISTRICT, Planner, id_number
from dagster_project.synth.profile import GOLDEN, varied
from dagster_project.synth.writer import district_profile, generate
from tests.conftest import SAMPLE


def digest(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_generator_reproduces_the_committed_sample(tmp_path):
    assert main(["generate", "--out", str(tmp_path / "gen")]) == 0
    assert digest(tmp_path / "gen") == digest(SAMPLE)


def test_generate_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("keep")
    assert main(["generate", "--out", str(tmp_path / "x")]) == 2


# ---------------------------------------------------------------------------- issue 8: size, determinism, variety


def reference(root, name):
    with (root / "reference" / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_generator_size_districts_times_years(tmp_path):
    out = tmp_path / "zone"
    assert (
        main(["generate", "--out", str(out), "--districts", "2", "--years", "3", "--start-year", "2015"]) == 0
    )
    months = [f"{y}-{m:02d}" for y in (2015, 2016, 2017) for m in range(1, 13)]
    townships = reference(out, "townships.csv")
    hospitals = reference(out, "hospitals.csv")
    assert sorted({t["township_code"][:6] for t in townships}) == sorted(DISTRICT_CODES[:2])
    assert all(t["township_code"].isdigit() and len(t["township_code"]) == 9 for t in townships)
    villages = reference(out, "villages.csv")
    codes = {t["township_code"] for t in townships}
    assert all(v["village_code"][:9] == v["township_code"] and v["township_code"] in codes for v in villages)
    assert len({v["village_code"] for v in villages}) == len(villages)
    for agency in ("township", "hospital", "court", "finance"):
        assert sorted(p.name for p in (out / agency).iterdir()) == months, agency
    for month in months:
        assert {p.stem for p in (out / "township" / month).glob("*.xlsx")} == codes
        assert len(list((out / "hospital" / month).glob("*.csv"))) == 2 * len(hospitals)
        assert (out / "finance" / month / "fee_decisions.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    # every year's events are there: births registered, decisions, court cases in each year
    for year in (2015, 2016, 2017):
        decisions = sum(
            len(
                (out / "finance" / f"{year}-{m:02d}" / "fee_decisions.csv")
                .read_text("utf-8-sig")
                .splitlines()
            )
            - 1
            for m in range(1, 13)
        )
        cases = sum(
            len(
                (out / "court" / f"{year}-{m:02d}" / "enforcement_cases.jsonl")
                .read_text("utf-8")
                .splitlines()
            )
            for m in range(1, 13)
        )
        assert decisions > 20 and cases > 20, year
    wb = CalamineWorkbook.from_path(
        str(out / "township" / "2017-12" / f"{townships[-1]['township_code']}.xlsx")
    )
    assert {"出生登记", "人口变动"} <= set(wb.sheet_names)
    rows = wb.get_sheet_by_name("人口变动").to_python()
    assert rows[2][0] == "村居代码" and rows[-1][0] == "合计"
    text = (
        (out / "hospital" / "2016-06" / f"{hospitals[0]['hospital_code']}_births.csv")
        .read_bytes()
        .decode("gbk")
    )
    assert text.startswith("出生医学证明编号,") and len(text.splitlines()) > 10


def test_generator_one_year(tmp_path):
    done = generate(tmp_path / "one", seed=3, districts=1, years=1, start_year=2020, workers=1)
    assert done.months == [f"2020-{m:02d}" for m in range(1, 13)]
    assert sorted(p.name for p in (tmp_path / "one" / "township").iterdir()) == done.months
    assert done.rows > 10_000


def test_generator_ten_years(tmp_path):
    """A province's span: court cases of the later years cite decisions from before the landing zone."""
    done = generate(tmp_path / "ten", seed=2012, districts=1, years=10, workers=1)
    assert len(done.months) == 120 and done.months[0] == "2011-01" and done.months[-1] == "2020-12"
    assert len(list((tmp_path / "ten" / "court").glob("*/enforcement_cases.jsonl"))) == 120


def digest_generated(root, **kwargs):
    generate(root, **kwargs)
    return digest(root)


def test_generator_is_deterministic_whatever_the_workers(tmp_path):
    args = {"districts": 3, "years": 1, "start_year": 2013}
    one = digest_generated(tmp_path / "a", seed=11, workers=1, **args)
    two = digest_generated(tmp_path / "b", seed=11, workers=2, **args)
    assert one == two
    other = digest_generated(tmp_path / "c", seed=12, workers=2, **args)
    assert other != one  # other layouts too: other file names


def test_districts_differ_within_plausible_bounds():
    years = (2014, 2015, 2016)
    profiles = [varied(2012, i, years) for i in range(8)]
    townships = [len(p.townships) for p in profiles]
    villages = [sum(p.village_counts) for p in profiles]
    assert len(set(townships)) > 2 and len(set(villages)) > 4
    assert all(8 <= n <= 25 for n in townships) and all(100 <= n <= 800 for n in villages)
    birth_rates = [p.births[2015] / sum(p.village_counts) for p in profiles]
    assert len({round(r, 2) for r in birth_rates}) > 4
    for p in profiles:
        assert len({name for _, name, _ in p.townships}) == len(p.townships)
        for y in years:
            n, u = p.births[y], p.unplanned[y]
            assert sum(p.sexes[y]) == n and 100 < 100 * p.sexes[y][0] / p.sexes[y][1] < 125
            assert 0.02 < u / n < 0.09 and p.unplanned_migrant[y] < u
            fee = p.fee[y]
            assert fee.compliant <= fee.filed <= fee.due and 70 <= fee.collection_rate <= 100
    assert varied(2012, 3, years) == profiles[3]  # deterministic
    assert varied(2013, 3, years) != profiles[3]
    assert profiles[0].townships == GOLDEN.townships  # the sample district keeps its real townships


def test_district_codes_are_distinct_and_never_the_outside_district():
    assert len(DISTRICT_CODES) >= 90 and len(set(DISTRICT_CODES)) == len(DISTRICT_CODES)
    assert DISTRICT_CODES[:3] == ("331003", "331004", "331022")
    assert OUTSIDE_DISTRICT not in DISTRICT_CODES
    assert all(len(c) == 6 and c.isdigit() for c in DISTRICT_CODES)


def test_identity_check_character_matches_pii():
    rng = random.Random(1)
    for _ in range(2000):
        first17 = "".join(str(rng.randrange(10)) for _ in range(17))
        assert id_number(first17) == first17 + check_char(first17)


def test_generate_rejects_bad_sizes(tmp_path):
    assert main(["generate", "--out", str(tmp_path / "a"), "--districts", "0"]) == 2
    assert main(["generate", "--out", str(tmp_path / "b"), "--years", "0"]) == 2
    with pytest.raises(ValueError):
        generate(tmp_path / "c", years=3, vary=False)


def test_the_report_years_keep_the_report_figures_in_every_district():
    """Without other years (nor --vary) every district still reproduces the founding report's counts."""
    for index in (0, 1):
        d = Planner(DISTRICT_CODES[index], index, 7, GOLDEN).plan()
        births_2012 = [r for r in d.registrations if r.birth.year == 2012]
        assert len(births_2012) == GOLDEN.births[2012]
        assert sum(r.policy == "政策外" for r in births_2012) == GOLDEN.unplanned[2012]
        assert len(d.townships) == 19 and len(d.villages) == 569
    assert district_profile(7, 1, GOLDEN.years, vary=False) is GOLDEN
    assert district_profile(7, 1, GOLDEN.years, vary=True).townships != GOLDEN.townships
