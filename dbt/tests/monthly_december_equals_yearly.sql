-- Invariant (metrics.md, "Monthly supervision"): for every covered year, the December row of each monthly mart
-- equals its yearly mart, at both grains, bit for bit (`is distinct from`): every `_ytd` figure the yearly figure of
-- the same name without `_ytd` (births_ytd = births, filing_rate_ytd = filing_rate, filing_rate_ytd_yoy_pp =
-- filing_rate_yoy_pp, court_applications_ytd_yoy_pct = court_applications_yoy_pct, ...), and the stocks at the end
-- of December the yearly stocks. The figures compared are read from the marts' contracts: a `_ytd` figure without a
-- yearly namesake fails to compile. Returns one row per area and year whose December row is missing, has no yearly
-- row, or differs, with the figures that differ.
{%- set checks = [
    ('population_indicators_monthly', 'population_indicators', 'township_code',
        {'population_end': 'population_end',
         'birth_defect_rate_permille_ytd_yoy_pp': 'birth_defect_rate_permille_yoy'}),
    ('population_indicators_district_monthly', 'population_indicators_district', 'district_code',
        {'population_end': 'population_end',
         'birth_defect_rate_permille_ytd_yoy_pp': 'birth_defect_rate_permille_yoy'}),
    ('population_indicators_monthly', 'service_station_coverage', 'township_code',
        {'women_childbearing_age': 'women_childbearing_age'}),
    ('population_indicators_district_monthly', 'service_station_coverage_district', 'district_code',
        {'women_childbearing_age': 'women_childbearing_age'}),
    ('fee_collection_monthly', 'fee_collection', 'township_code', {}),
    ('fee_collection_district_monthly', 'fee_collection_district', 'district_code', {}),
    ('enforcement_outcomes_monthly', 'enforcement_outcomes', 'township_code', {}),
    ('enforcement_outcomes_district_monthly', 'enforcement_outcomes_district', 'district_code', {}),
] %}

{%- for monthly, yearly, area_key, stocks in checks %}
    {%- set pairs = [] %}
    {%- if execute %}
        {%- set yearly_columns = graph.nodes['model.pfpw.' ~ yearly].columns.keys() | list %}
        {%- set own = yearly == monthly.replace('_monthly', '') %}
        {%- for column in graph.nodes['model.pfpw.' ~ monthly].columns.keys() if own and '_ytd' in column %}
            {%- set namesake = column.replace('_ytd', '') %}
            {%- if namesake in yearly_columns %}
                {%- do pairs.append((column, namesake)) %}
            {%- elif column.endswith('_ytd') %}
                {{ exceptions.raise_compiler_error(monthly ~ '.' ~ column ~ ' has no namesake in ' ~ yearly) }}
            {%- endif %}
        {%- endfor %}
        {%- if own and not pairs %}
            {{ exceptions.raise_compiler_error(monthly ~ ' has no _ytd figure to compare with ' ~ yearly) }}
        {%- endif %}
        {%- for column, namesake in stocks.items() %}
            {%- if namesake not in yearly_columns %}
                {{ exceptions.raise_compiler_error(yearly ~ ' has no column ' ~ namesake) }}
            {%- endif %}
            {%- do pairs.append((column, namesake)) %}
        {%- endfor %}
    {%- endif %}
select
    '{{ monthly }}' as monthly_mart,
    '{{ yearly }}' as yearly_mart,
    coalesce(y.year, m.year) as year,
    coalesce(y.{{ area_key }}, m.{{ area_key }}) as area_code,
    case
        when m.year is null then 'no December row'
        when y.year is null then 'no yearly row'
        else concat_ws(
            ', '
            {%- for column, namesake in pairs %},
            case when m.{{ column }} is distinct from y.{{ namesake }} then '{{ column }}' end
            {%- endfor %}
        )
    end as figures_that_differ
from {{ ref(yearly) }} as y
full outer join (
    select * from {{ ref(monthly) }} where month = 12
) as m on y.year = m.year and y.{{ area_key }} = m.{{ area_key }}
where
    m.year is null
    or y.year is null
    {%- for column, namesake in pairs %}
    or m.{{ column }} is distinct from y.{{ namesake }}
    {%- endfor %}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
