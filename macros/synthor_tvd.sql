-- synthor_tvd(real_counts, synth_counts): total variation distance per unit (0 = identical, 1 = disjoint).
-- Arguments as for synthor_gaps. It is the sum of the positive gaps, which equals half the L1 distance
-- between the two share tables, and is 1 (not 0.5) against an empty synthetic table: nothing matches.
-- The sum runs over whole numbers (real_n * synth_total - synth_n * real_total) and divides once, so the
-- result does not depend on the order DuckDB's threads add the cells in: same input, same bits.
-- 1 - tvd is what SDMetrics calls TVComplement (one column) or ContingencySimilarity (a group).
create or replace macro synthor_tvd(real_counts, synth_counts) as table
with g as (
    select unit, real_n, synth_n from synthor_gaps(real_counts, synth_counts)
),
totals as (
    select unit, sum(real_n)::hugeint as real_total, sum(synth_n)::hugeint as synth_total
    from g
    group by unit
)
select
    g.unit,
    case
        when any_value(t.synth_total) = 0 or any_value(t.real_total) = 0 then 1.0
        else (sum(greatest(g.real_n * t.synth_total - g.synth_n * t.real_total, 0))
              / (any_value(t.real_total) * any_value(t.synth_total)))::double
    end as tvd
from g
join totals as t using (unit)
group by g.unit
order by g.unit;
