-- synthor_tvd(real_counts, synth_counts): total variation distance per unit (0 = identical, 1 = disjoint).
-- Arguments as for synthor_gaps. Computed as the sum of the positive gaps, which equals half the L1
-- distance between two share tables, and is 1 (not 0.5) against an empty synthetic table: nothing matches.
-- 1 - tvd is what SDMetrics calls TVComplement (one column) or ContingencySimilarity (a group).
create or replace macro synthor_tvd(real_counts, synth_counts) as table
select unit, sum(greatest(gap, 0)) as tvd
from synthor_gaps(real_counts, synth_counts)
group by unit
order by unit;
