-- The Wasserstein-1 distance between the real and the synthetic values of one numeric column, in the
-- column's units: the area between the two empirical CDFs, sum over consecutive distinct values v < w
-- of |F_real(v) - F_synth(v)| * (w - v), exact from the sorted union of both samples. NULLs are left
-- out (their share is compared elsewhere); NULL when either side has no value. Tables: $real, $synth.
with real_values as (
    select v from (select columns(c -> c = $column)::double as v from query_table($real))
    where v is not null
),
synth_values as (
    select v from (select columns(c -> c = $column)::double as v from query_table($synth))
    where v is not null
),
totals as (
    select
        (select count(*) from real_values) as real_total,
        (select count(*) from synth_values) as synth_total
),
points as (
    select v, count(*) as real_n, 0 as synth_n from real_values group by v
    union all
    select v, 0 as real_n, count(*) as synth_n from synth_values group by v
),
merged as (
    select v, sum(real_n) as real_n, sum(synth_n) as synth_n from points group by v
),
cdf as (
    select
        v,
        lead(v) over (order by v) as next_v,
        sum(real_n) over (order by v rows between unbounded preceding and current row) as real_cum,
        sum(synth_n) over (order by v rows between unbounded preceding and current row) as synth_cum
    from merged
)
select
    case
        when any_value(t.real_total) = 0 or any_value(t.synth_total) = 0 then null
        else coalesce(sum(abs(cdf.real_cum / t.real_total - cdf.synth_cum / t.synth_total) * (cdf.next_v - cdf.v)), 0)
    end as w1
from cdf, totals as t;
