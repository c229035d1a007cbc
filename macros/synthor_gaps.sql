-- synthor_gaps(real_counts, synth_counts): the attributable discrepancy signal. Both arguments name
-- count tables with columns (unit, cell, n), as synthor_contingency returns them. For every cell seen on
-- either side: its real and synthetic counts and shares within its unit, and gap = real share - synthetic
-- share, largest gap first within each unit. An empty synthetic table is valid: every gap is the real share.
create or replace macro synthor_gaps(real_counts, synth_counts) as table
with r as (
    select unit, cell, sum(n) as n from query_table(real_counts) group by all
),
s as (
    select unit, cell, sum(n) as n from query_table(synth_counts) group by all
),
joined as (
    select
        coalesce(r.unit, s.unit) as unit,
        coalesce(r.cell, s.cell) as cell,
        coalesce(r.n, 0) as real_n,
        coalesce(s.n, 0) as synth_n
    from r
    full outer join s on r.unit = s.unit and r.cell is not distinct from s.cell
),
totals as (
    select unit, sum(real_n) as real_total, sum(synth_n) as synth_total from joined group by all
)
select
    unit,
    cell,
    real_n,
    synth_n,
    coalesce(real_n / nullif(real_total, 0), 0) as real_share,
    coalesce(synth_n / nullif(synth_total, 0), 0) as synth_share,
    coalesce(real_n / nullif(real_total, 0), 0) - coalesce(synth_n / nullif(synth_total, 0), 0) as gap
from joined
join totals using (unit)
order by unit, gap desc, cell;
