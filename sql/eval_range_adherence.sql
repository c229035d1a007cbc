-- Range adherence of the numeric or date column $column: how many synthetic rows ($synth) fall below the
-- real table's ($real) minimum or above its maximum. A synthesizer that samples within the real bins stays
-- inside; one that extrapolates (a Gaussian tail, a negative age) does not. Values compare in the
-- column's own type. Returns the real and synthetic minimum and maximum as text (for display), the
-- non-NULL synthetic values, those below and above the real range, and their share of the non-NULL values.
with real_range as (
    select min(columns(c -> c = $column)) as lo, max(columns(c -> c = $column)) as hi from query_table($real)
),
synth_values as (
    select columns(c -> c = $column) as v from query_table($synth)
),
counted as (
    select
        min(v) as synth_lo,
        max(v) as synth_hi,
        count(v) as n,
        count(*) filter (where v < real_range.lo) as below,
        count(*) filter (where v > real_range.hi) as above
    from synth_values, real_range
)
select
    real_range.lo::varchar as real_min,
    real_range.hi::varchar as real_max,
    counted.synth_lo::varchar as synth_min,
    counted.synth_hi::varchar as synth_max,
    counted.n as synth_values,
    counted.below,
    counted.above,
    (counted.below + counted.above) / nullif(counted.n, 0) as outside_share
from counted, real_range;
