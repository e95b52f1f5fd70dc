"""`make bi`, for real: Superset installed from bi/constraints.txt, started on the sample's served marts.

The test runs the Makefile target itself (`make bi`, which installs .bi-venv through `make bi-install`
when it is missing or stale) on a free port, with its metadata in a temporary folder, against the
serving.duckdb of the session's `sample_run` (so it shares that xdist group and its one pipeline run).
It asks the chart-data API for the provisioned dashboard's charts and finds the founding report's
2012 figures, checks that DuckDB runs read-only inside Superset and that SQL Lab's queries reach no
file, other database or setting, provisions a second time and finds nothing duplicated, and takes a
screenshot of the dashboard (kept in $PFPW_TEST_ARTIFACTS, default tests/artifacts/). Superset is
stopped at the end, whatever happened. bi/run.sh's refusal of a non-loopback host with the default
password needs no Superset. Starting and querying Superset: tests/bi.py.
"""

import json
import os
import subprocess
import time

import duckdb
import pytest
import requests

from tests.bi import (
    ARTIFACTS,
    BI_PYTHON,
    PASSWORD,
    PROJECT,
    filtered,
    make_bi,
    provisioned_extra,
    supervision_charts,
    year_of,
)
from tests.chromium import CHROMIUM

pytestmark = pytest.mark.xdist_group("sample_run")

MARTS_CHARTS = 16
SUPERVISION_CHARTS = 6  # the 月督查 dashboard (bi/supervision_charts.py)
MARTS = 17  # 9 yearly, 6 monthly, target_attainment and target_scorecard
# metrics.md, "The golden year": the district's 2012 figures on the dashboard's big numbers
GOLDEN_2012 = {"出生人数": 6287, "出生人口性别比": 108.28, "社会抚养费立案率（%）": 97.34}


@pytest.fixture(scope="module")
def superset(sample_run, tmp_path_factory):
    assert sample_run["code"] == 0, "the sample run failed"
    with make_bi(sample_run["warehouse"], tmp_path_factory.mktemp("bi_home")) as running:
        yield running


def test_make_bi_prints_where_to_log_in(superset):
    log = superset["log"].read_text()
    assert f"{superset['url']}/superset/dashboard/pfpw-district/" in log
    assert f"{superset['url']}/superset/dashboard/pfpw-supervision/" in log
    assert f"password: {PASSWORD}" in log
    print(f"make bi ready in {superset['started_in']:.0f} s")


def test_the_served_file_is_registered_read_only(superset):
    api = superset["api"]
    (database,) = api.get("database/")["result"]
    connection = api.get(f"database/{database['id']}/connection")["result"]
    assert connection["sqlalchemy_uri"] == f"duckdb:///{superset['serving']}"
    connect_args = json.loads(connection["extra"])["engine_params"]["connect_args"]
    assert connect_args == provisioned_extra()["engine_params"]["connect_args"]
    assert connect_args == {
        "read_only": True,
        "config": {"enable_external_access": False, "lock_configuration": True},
    }
    assert not connection["allow_dml"]
    assert not connection["allow_file_upload"]
    # DuckDB itself, inside Superset, says the connection is read-only
    result = api.post(
        "sqllab/execute/",
        {
            "database_id": database["id"],
            "sql": "SELECT current_setting('access_mode') AS access_mode",
            "schema": "marts",
            "runAsync": False,
            "client_id": "pfpwtest01",
        },
    )
    assert result["data"] == [{"access_mode": "read_only"}]


def test_sql_lab_reaches_no_file_no_other_database_and_no_setting(superset, tmp_path):
    """Every statement reaches DuckDB (Superset lets SELECT, ATTACH, COPY and SET through), which refuses it."""
    api = superset["api"]
    (database,) = api.get("database/")["result"]
    warehouse = superset["serving"].parent
    team_file = warehouse / "data_team.duckdb"
    assert team_file.is_file() and list(warehouse.glob("lake/**/*.parquet"))  # there is something to read
    copied = tmp_path / "x.csv"
    refused_files = {
        "select * from read_text('/etc/passwd')": "/etc/passwd",
        f"select * from read_parquet('{warehouse}/lake/**/*.parquet')": f"{warehouse}/lake/**/*.parquet",
        f"ATTACH '{team_file}' AS dt": str(team_file),
        f"COPY (select 1) TO '{copied}'": str(copied),
    }
    for sql, path in refused_files.items():
        response = api.sql_lab(database["id"], sql)
        assert response.status_code >= 400, (sql, response.text[:1000])
        (error,) = response.json()["errors"]
        assert error["message"].startswith(
            f'duckdb error: Permission Error: Cannot access file "{path}" - file system operations are '
            "disabled by configuration"
        ), (sql, error)
    assert not copied.exists()
    for setting in ("enable_external_access = true", "lock_configuration = false"):
        response = api.sql_lab(database["id"], f"SET {setting}")
        assert response.status_code >= 400, (setting, response.text[:1000])
        (error,) = response.json()["errors"]
        name = setting.split()[0]
        assert error["message"] == (
            f'duckdb error: Invalid Input Error: Cannot change configuration option "{name}" - the '
            "configuration has been locked"
        ), error
    # the connection still reads the marts, with its settings as opened
    with duckdb.connect(str(superset["serving"]), read_only=True) as con:
        (births_rows,) = con.execute("select count(*) from marts.population_indicators").fetchone()
    response = api.sql_lab(
        database["id"],
        "select count(*) as n, current_setting('enable_external_access') as external_access, "
        "current_setting('lock_configuration') as locked from marts.population_indicators",
    )
    assert response.status_code == 200, response.text[:1000]
    assert response.json()["data"] == [{"n": births_rows, "external_access": False, "locked": True}]


def test_there_is_a_dataset_for_every_mart(superset):
    with duckdb.connect(str(superset["serving"]), read_only=True) as con:
        marts = {
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        }
    datasets = superset["api"].get("dataset/", params={"q": "(page_size:100)"})["result"]
    assert {d["table_name"] for d in datasets} == marts
    assert {d["schema"] for d in datasets} == {"marts"}
    assert len(marts) == MARTS


def test_the_dashboard_charts_give_the_2012_golden_figures(superset):
    api = superset["api"]
    charts = api.get("dashboard/pfpw-district/charts")["result"]
    assert len(charts) == MARTS_CHARTS
    data = {}
    for chart in charts:
        result = api.get(f"chart/{chart['id']}/data/")["result"]
        assert all(q["rowcount"] > 0 and not q.get("error") for q in result), chart["slice_name"]
        data[chart["slice_name"]] = result
    for name, expected in GOLDEN_2012.items():
        (query,) = data[name]
        year_column, value_column = query["colnames"]
        by_year = {year_of(row[year_column]): row[value_column] for row in query["data"]}
        assert round(by_year[2012], 2) == expected, (name, by_year)
    # the township charts add up to the district: births by township in the latest year
    births, sex_ratio = data["各乡镇（街道）出生人数与出生人口性别比（最新年度）"]
    assert len(births["data"]) == 19
    assert sum(row["出生人数"] for row in births["data"]) == 6287
    assert all(90 < row["出生人口性别比（女=100）"] < 150 for row in sex_ratio["data"])


def test_provisioning_again_duplicates_nothing_and_locks_an_older_registration(superset):
    api = superset["api"]
    before = api.counts()
    assert before == {
        "database": 1,
        "dataset": MARTS,
        "chart": MARTS_CHARTS + SUPERVISION_CHARTS,
        "dashboard": 2,
    }
    # the registration of an earlier bi/provision.py: read-only, files open to every query
    (database,) = api.get("database/")["result"]
    api.put(
        f"database/{database['id']}",
        {"extra": json.dumps({"engine_params": {"connect_args": {"read_only": True}}})},
    )
    response = api.sql_lab(database["id"], "select count(*) as n from read_text('/etc/passwd')")
    assert response.status_code == 200 and response.json()["data"] == [{"n": 1}], response.text[:1000]
    subprocess.run(
        [
            str(BI_PYTHON),
            str(PROJECT / "bi" / "provision.py"),
            "--url",
            superset["url"],
            "--serving",
            str(superset["serving"]),
            "--password",
            PASSWORD,
        ],
        check=True,
        timeout=120,
    )
    assert api.counts() == before
    extra = json.loads(api.get(f"database/{database['id']}/connection")["result"]["extra"])
    assert extra == provisioned_extra()
    response = api.sql_lab(database["id"], "select count(*) as n from read_text('/etc/passwd')")
    assert response.status_code >= 400 and "disabled by configuration" in response.text, response.text[:1000]


SCORECARD = "乡镇（街道）目标考核得分（所选月末）"
TARGETS = "乡镇（街道）各项目标完成情况（所选月末）"
DISTRICTS = "各区目标考核排名（市对区，所选月末）"
WHOLE_YEAR = ("各月出生人数", "各月末社会抚养费立案率（当年累计）", "各季度出生人口性别比")


def test_the_supervision_dashboard_has_a_year_and_a_month_filter(superset):
    api = superset["api"]
    dashboard = api.get("dashboard/pfpw-supervision")["result"]
    assert dashboard["dashboard_title"] == "pfpw：月督查（月度督查与目标考核）" and dashboard["published"]
    charts = {c["id"]: c["slice_name"] for c in api.get("dashboard/pfpw-supervision/charts")["result"]}
    assert len(charts) == SUPERVISION_CHARTS and {SCORECARD, TARGETS, DISTRICTS, *WHOLE_YEAR} == set(
        charts.values()
    )
    datasets = {
        d["id"]: d["table_name"] for d in api.get("dataset/", params={"q": "(page_size:100)"})["result"]
    }
    year, month = json.loads(dashboard["json_metadata"])["native_filter_configuration"]
    for native, name, column in ((year, "年度", "year"), (month, "月份", "month")):
        assert (native["name"], native["type"], native["filterType"]) == (
            name,
            "NATIVE_FILTER",
            "filter_select",
        )
        (target,) = native["targets"]
        assert target["column"] == {"name": column}
        assert datasets[target["datasetId"]] == "population_indicators_district_monthly"
        # one value, required, the first of the values sorted descending (the latest) when the dashboard opens
        values = native["controlValues"]
        assert values["enableEmptyFilter"] and not values["multiSelect"]
        assert values["defaultToFirstItem"] and values["sortAscending"] is False and native["requiredFirst"]
    assert year["scope"] == {"rootPath": ["ROOT_ID"], "excluded": []} and set(year["chartsInScope"]) == set(
        charts
    )
    assert month["cascadeParentIds"] == [year["id"]]  # the months of the chosen year
    # the month filter leaves the charts of a whole year alone
    assert {charts[i] for i in month["scope"]["excluded"]} == set(WHOLE_YEAR)
    assert {charts[i] for i in month["chartsInScope"]} == {SCORECARD, TARGETS, DISTRICTS}


def test_the_supervision_charts_give_the_marts_figures_of_a_chosen_month(superset):
    api = superset["api"]
    charts = supervision_charts(api)
    year, month = 2012, 6
    with duckdb.connect(str(superset["serving"]), read_only=True) as con:

        def rows(sql: str) -> list[tuple]:
            return [tuple(r) for r in con.execute(sql, [year, month]).fetchall()]

        cards = rows(
            "select s.rank, s.peers, p.township_name, s.score, s.targets_met, s.targets_total, s.points_earned, "
            "s.points_possible from marts.target_scorecard s join marts.population_indicators_monthly p "
            "on p.township_code = s.area_code and p.year = s.year and p.month = s.month "
            "where s.year = ? and s.month = ? and s.area_level = 'township' order by s.rank, s.area_code"
        )
        targets = rows(
            "select target, actual, case when met then '✓' when not met then '✗' else '—' end, points_earned, "
            "rank || ' / ' || peers from marts.target_attainment "
            "where year = ? and month = ? and area_level = 'township' order by all"
        )
        districts = rows(
            "select left(area_code, 4), rank, peers, area_code, score, targets_met, targets_total "
            "from marts.target_scorecard where year = ? and month = ? and area_level = 'district' "
            "order by rank, area_code"
        )
        months = con.execute(
            "select month, births, births_unplanned, boys, girls from marts.population_indicators_district_monthly "
            "where year = ? order by month",
            [year],
        ).fetchall()
        filing = dict(
            con.execute(
                "select month, filing_rate_ytd from marts.fee_collection_district_monthly where year = ?",
                [year],
            ).fetchall()
        )
    assert len(cards) == 19 and len(targets) > 19 and len(districts) == 1 and len(months) == 12

    (scorecard,) = filtered(api, charts[SCORECARD], year=year, month=month)
    assert {(r["年度"], r["月份"]) for r in scorecard["data"]} == {(year, month)}
    shown = [
        tuple(
            r[c]
            for c in ("名次", "参评数", "乡镇（街道）", "综合得分", "达标数", "目标数", "所得分值", "总分值")
        )
        for r in scorecard["data"]
    ]
    assert shown == cards  # the mart's rows, by rank, the scores unrounded
    (attainment,) = filtered(api, charts[TARGETS], year=year, month=month)
    assert (
        sorted(
            tuple(r[c] for c in ("目标", "实际（截至月末）", "达标", "所得分值", "名次"))
            for r in attainment["data"]
        )
        == targets
    )
    (ranking,) = filtered(api, charts[DISTRICTS], year=year, month=month)
    assert [
        tuple(r[c] for c in ("城市", "名次", "参评数", "区（区划代码）", "综合得分", "达标数", "目标数"))
        for r in ranking["data"]
    ] == districts

    # the charts of the whole year: the months of the chosen year
    (births,) = filtered(api, charts[WHOLE_YEAR[0]], year=year)
    assert [(r["月份"], r["year"], r["出生人数"], r["政策外出生人数"]) for r in births["data"]] == [
        (f"{m:02d}月", year, b, u) for m, b, u, _, _ in months
    ]
    (rates,) = filtered(api, charts[WHOLE_YEAR[1]], year=year)
    assert {int(r["月份"][:2]): r["立案率（%，截至月末）"] for r in rates["data"]} == pytest.approx(
        filing, rel=1e-12
    )
    # a quarter's sex ratio: 100 x the quarter's boys / its girls, summed over its three months
    (quarters,) = filtered(api, charts[WHOLE_YEAR[2]], year=year)
    expected = {
        f"第{q}季度": 100
        * sum(m[3] for m in months[3 * q - 3 : 3 * q])
        / sum(m[4] for m in months[3 * q - 3 : 3 * q])
        for q in (1, 2, 3, 4)
    }
    assert {r["季度"]: r["出生人口性别比（女=100）"] for r in quarters["data"]} == pytest.approx(
        expected, rel=1e-12
    )


def test_gunicorn_keeps_a_limit_on_request_lines_and_headers(superset):
    health = f"{superset['url']}/health"
    assert requests.get(f"{health}?pad={'a' * 5000}", timeout=30).status_code == 200
    assert requests.get(f"{health}?pad={'a' * 9000}", timeout=30).status_code == 414
    assert requests.get(health, headers={"X-Pad": "a" * 9000}, timeout=30).status_code == 431


@pytest.mark.parametrize("password", [None, "", "admin"])
def test_make_bi_refuses_a_non_loopback_host_with_the_default_password(password, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PFPW_BI_")}
    env |= {"PFPW_BI_HOST": "0.0.0.0", "PFPW_BI_VENV": str(tmp_path / "no-venv")}  # the check comes first
    if password is not None:
        env["PFPW_BI_PASSWORD"] = password
    started = time.monotonic()
    result = subprocess.run(
        [str(PROJECT / "bi" / "run.sh")], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "PFPW_BI_HOST=0.0.0.0 is not a loopback address" in result.stderr
    assert "set PFPW_BI_PASSWORD" in result.stderr
    assert time.monotonic() - started < 5
    # a loopback address with the default password, or any host with a password of one's own, passes
    # the check (and stops at the next one here: no Superset environment)
    for host, own in (
        ("127.0.0.1", password),
        ("localhost", password),
        ("::1", password),
        ("0.0.0.0", "s3cret"),
    ):
        env2 = {**env, "PFPW_BI_HOST": host}
        if own is not None:
            env2["PFPW_BI_PASSWORD"] = own
        result = subprocess.run(
            [str(PROJECT / "bi" / "run.sh")], env=env2, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 2 and "no Superset environment" in result.stderr, (host, result.stderr)


@pytest.mark.skipif(
    not CHROMIUM,
    reason="chromium is not installed here (CI installs it: apt-get install chromium)",
)
def test_the_dashboard_draws_every_chart_in_a_browser(superset):
    """Both dashboards: the 月督查 once its year and month filters have their first values."""
    for slug, charts, name in (
        ("pfpw-district", MARTS_CHARTS, "superset_dashboard.png"),
        ("pfpw-supervision", SUPERVISION_CHARTS, "superset_supervision.png"),
    ):
        shot = ARTIFACTS / name
        result = subprocess.run(
            [
                str(BI_PYTHON),
                str(PROJECT / "bi" / "screenshot.py"),
                "--url",
                superset["url"],
                "--password",
                PASSWORD,
                "--dashboard",
                slug,
                "--charts",
                str(charts),
                "--out",
                str(shot),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"{charts} of {charts} charts drawn" in result.stdout
        assert shot.stat().st_size > 50_000
