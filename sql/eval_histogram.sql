-- Histograms of one numeric column on both sides, for the report's charts: $bins equal-width bins over
-- the range of the values of both tables together, the last bin closed ([lo, hi) ... [lo, hi]). Every
-- bin appears, with its counts and its share of each side's non-NULL values. Tables: $real, $synth.
with real_values as (
    select v from (select columns(c -> c = $column)::double as v from query_table($real))
    where v is not null
),
synth_values as (
    select v from (select columns(c -> c = $column)::double as v from query_table($synth))
    where v is not null
),
range_ends as (
    select min(v) as lo, max(v) as hi
    from (select v from real_values union all select v from synth_values)
),
bins as (
    select
        b.range as bin,
        r.lo + (r.hi - r.lo) * b.range / $bins as lo,
        r.lo + (r.hi - r.lo) * (b.range + 1) / $bins as hi
    from range_ends as r, range(0, $bins) as b
    where r.lo is not null
),
assigned as (
    select
        case
            when r.hi = r.lo then 0
            else least($bins - 1, floor((x.v - r.lo) / (r.hi - r.lo) * $bins))::bigint
        end as bin,
        x.side
    from (
        select v, 'real' as side from real_values
        union all
        select v, 'synth' as side from synth_values
    ) as x, range_ends as r
),
counts as (
    select
        bin,
        count(*) filter (where side = 'real') as real_n,
        count(*) filter (where side = 'synth') as synth_n
    from assigned
    group by bin
)
select
    bins.bin,
    bins.lo,
    bins.hi,
    coalesce(counts.real_n, 0) as real_n,
    coalesce(counts.synth_n, 0) as synth_n,
    coalesce(counts.real_n / nullif((select count(*) from real_values), 0), 0) as real_share,
    coalesce(counts.synth_n / nullif((select count(*) from synth_values), 0), 0) as synth_share
from bins
left join counts using (bin)
order by bins.bin;
