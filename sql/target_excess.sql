-- Per cell of one unit: how many synthetic rows it holds beyond its reference share of the final row
-- count; only cells with an excess. Whole-row quotas by cumulative rounding in cell order, so they add up
-- to the final row count and each is within one row of its share. The final fit removes exactly these
-- rows, so a target table's cells end at their target counts when the loop grew them all to at least that.
with r as (
    select
        cell,
        round(sum(n) over (order by cell rows unbounded preceding) / sum(n) over () * $final_rows)
        - round((sum(n) over (order by cell rows unbounded preceding) - n) / sum(n) over () * $final_rows)
            as quota
    from synthor_real_counts
    where unit = $unit
),
s as (
    select cell, n
    from synthor_synth_counts
    where unit = $unit
)
select s.cell, (s.n - coalesce(r.quota, 0))::bigint as excess
from s
left join r on r.cell is not distinct from s.cell
where s.n > coalesce(r.quota, 0)
order by s.cell;
