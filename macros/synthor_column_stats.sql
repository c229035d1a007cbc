-- synthor_column_stats(tbl, col): what profiling needs to know of one column, in one pass: rows, non-NULL
-- values, distinct non-NULL values (approx_count_distinct: HyperLogLog, exact for small counts; take
-- synthor_distinct_count where an exact count decides), for numbers, booleans and dates (not text):
-- whether every value is a whole number, the decimal places the numbers are written with (0 to 6, NULL for more or for no
-- numbers), the mean and sample standard deviation of those numbers, and min and max as text. NaN, Infinity
-- and -Infinity (DOUBLE and FLOAT) are counted apart (nan, pos_inf, neg_inf) and left out of the number
-- statistics and of min and max, as NULLs are: they are cells of their own beside the finite values.
create or replace macro synthor_column_stats(tbl, col) as table
with raw as (
    select columns(c -> c = col) as v
    from query_table(tbl)
),
vals as (
    -- Text is not read as numbers (typeof is constant, so the cast is skipped for text columns).
    select v, case when typeof(v) = 'VARCHAR' then null else try_cast(v as double) end as x0
    from raw
),
finite as (
    select v, x0, case when isfinite(x0) then x0 end as x
    from vals
),
-- Each number's decimal places (7 = more than 6), the first test that holds: most values stop early.
places as (
    select
        v,
        x0,
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
    from finite
)
select
    count(*) as n,
    count(v) as non_null,
    approx_count_distinct(v) as distinct_values,
    coalesce(bool_and(x = round(x)), false) as integral,
    case when max(d) <= 6 then max(d) end as decimals,
    avg(x) as mean,
    stddev_samp(x) as sd,
    coalesce((min(v) filter (where x0 is null or isfinite(x0)))::varchar, min(v)::varchar) as min,
    coalesce((max(v) filter (where x0 is null or isfinite(x0)))::varchar, max(v)::varchar) as max,
    count(*) filter (where isnan(x0)) as nan,
    count(*) filter (where isinf(x0) and x0 > 0) as pos_inf,
    count(*) filter (where isinf(x0) and x0 < 0) as neg_inf
from places;
