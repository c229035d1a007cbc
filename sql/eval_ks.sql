-- The Kolmogorov-Smirnov statistic of one numeric column: the largest distance between the empirical
-- CDFs of the real and the synthetic values, max over values v of |F_real(v) - F_synth(v)|, in [0, 1].
-- It is what scipy.stats.ks_2samp returns and 1 - ks is SDMetrics' KSComplement. The distance is taken
-- in whole numbers (real_cum * synth_total - synth_cum * real_total) and divided once, so it is exact.
-- NULLs are left out; NULL when either side has no value. Tables: $real, $synth.
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
        (select count(*) from real_values)::hugeint as real_total,
        (select count(*) from synth_values)::hugeint as synth_total
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
        sum(real_n) over (order by v rows between unbounded preceding and current row) as real_cum,
        sum(synth_n) over (order by v rows between unbounded preceding and current row) as synth_cum
    from merged
)
select
    case
        when any_value(t.real_total) = 0 or any_value(t.synth_total) = 0 then null
        else (max(abs(cdf.real_cum * t.synth_total - cdf.synth_cum * t.real_total))
              / (any_value(t.real_total) * any_value(t.synth_total)))::double
    end as ks
from cdf, totals as t;
