-- The mean and sample standard deviation of one numeric column with every value clipped to [$lo, $hi]
-- (winsorized): a summary file pulls its quantile grid's ends in to $lo and $hi, and its moments must not
-- give back what that hides (mean + sd * sqrt(n - 1) is a lone outlier, almost exactly). NULLs are left
-- out before clipping (least and greatest skip a NULL argument).
with vals as (
    select columns(c -> c = $column)::double as v
    from query_table($table)
),
clipped as (
    select least($hi::double, greatest($lo::double, v)) as v
    from vals
    where v is not null
)
select avg(v) as mean, stddev_samp(v) as sd
from clipped;
