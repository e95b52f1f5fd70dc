{#- service_station_coverage (metrics.md): the stations counted at either grain, {column: contract type}. -#}
{% macro station_counts() -%}
    {{ return({
        'stations_central': 'bigint',
        'stations_level1': 'bigint',
        'stations_level2': 'bigint',
        'stations_total': 'bigint',
        'stations_standardized': 'bigint',
        'sanyou_centers_provincial': 'bigint',
        'sanyou_centers_district': 'bigint',
    }) }}
{%- endmacro %}

{#- Select list, from a `counts` CTE aliased `c` keyed by (year, area_key): the grain, the station counts, the
    women of childbearing age (December) and the women per station. -#}
{% macro station_coverage_columns(area_key) -%}
    {{ grain_columns('c', area_key) }},
    {{ typed_columns('c', station_counts()) }},
    c.women_childbearing_age::bigint as women_childbearing_age,
    {{ station_rates() }}
{%- endmacro %}
