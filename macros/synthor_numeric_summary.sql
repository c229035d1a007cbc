-- synthor_numeric_summary(tbl, col): moments and quantiles of a numeric column: row count, NULL count,
-- mean, standard deviation, min, the 5/25/50/75/95 % quantiles and max.
create or replace macro synthor_numeric_summary(tbl, col) as table
with vals as (
    select columns(c -> c = col)::double as v
    from query_table(tbl)
)
select
    count(*) as n,
    count(*) - count(v) as nulls,
    avg(v) as mean,
    stddev_samp(v) as sd,
    min(v) as min,
    quantile_cont(v, 0.05) as p05,
    quantile_cont(v, 0.25) as p25,
    quantile_cont(v, 0.50) as p50,
    quantile_cont(v, 0.75) as p75,
    quantile_cont(v, 0.95) as p95,
    max(v) as max
from vals;
