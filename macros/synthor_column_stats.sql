-- synthor_column_stats(tbl, col): what profiling needs to know of one column, in one pass: rows, non-NULL
-- values, distinct non-NULL values (approx_count_distinct: HyperLogLog, exact for small counts; take
-- synthor_distinct_count where an exact count decides), for numbers, booleans and dates (not text):
-- whether every value is a whole number, the decimal places the numbers are written with (0 to 6, NULL for more or for no
-- numbers), the mean and sample standard deviation of those numbers, and min and max as text.
create or replace macro synthor_column_stats(tbl, col) as table
with raw as (
    select columns(c -> c = col) as v
    from query_table(tbl)
),
vals as (
    -- Text is not read as numbers (typeof is constant, so the cast is skipped for text columns).
    select v, case when typeof(v) = 'VARCHAR' then null else try_cast(v as double) end as x
    from raw
),
-- Each number's decimal places (7 = more than 6), the first test that holds: most values stop early.
places as (
    select
        v,
        x,
        case
            when x is null then null
            when abs(x - round(x, 0)) <= 1e-9 * greatest(1, abs(x)) then 0
            when abs(x - round(x, 1)) <= 1e-9 * greatest(1, abs(x)) then 1
            when abs(x - round(x, 2)) <= 1e-9 * greatest(1, abs(x)) then 2
            when abs(x - round(x, 3)) <= 1e-9 * greatest(1, abs(x)) then 3
            when abs(x - round(x, 4)) <= 1e-9 * greatest(1, abs(x)) then 4
            when abs(x - round(x, 5)) <= 1e-9 * greatest(1, abs(x)) then 5
            when abs(x - round(x, 6)) <= 1e-9 * greatest(1, abs(x)) then 6
            else 7
        end as d
    from vals
)
select
    count(*) as n,
    count(v) as non_null,
    approx_count_distinct(v) as distinct_values,
    coalesce(bool_and(x = round(x)), false) as integral,
    case when max(d) <= 6 then max(d) end as decimals,
    avg(x) as mean,
    stddev_samp(x) as sd,
    min(v)::varchar as min,
    max(v)::varchar as max
from places;
