-- synthor_column_stats(tbl, col): what profiling needs to know of one column: rows, non-NULL values,
-- distinct non-NULL values, whether every numeric value is a whole number, and min and max as text.
create or replace macro synthor_column_stats(tbl, col) as table
with vals as (
    select columns(c -> c = col) as v
    from query_table(tbl)
)
select
    count(*) as n,
    count(v) as non_null,
    count(distinct v) as distinct_values,
    coalesce(bool_and(try_cast(v as double) = round(try_cast(v as double))), false) as integral,
    min(v)::varchar as min,
    max(v)::varchar as max
from vals;
