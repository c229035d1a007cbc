-- For every cell of every unit: how many synthetic rows it holds beyond its real share of the final row
-- count, relative to that share (0 where it holds no more). The final trim removes rows whose cells are
-- most over-represented.
with r as (
    select unit, cell, n, sum(n) over (partition by unit) as total
    from synthor_real_counts
    where unit in (select unnest($units))
),
s as (
    select unit, cell, n
    from synthor_synth_counts
    where unit in (select unnest($units))
)
select
    s.unit,
    s.cell,
    greatest(s.n - coalesce(r.n / r.total, 0) * $final_rows, 0)
        / greatest(coalesce(r.n / r.total, 0) * $final_rows, 1) as surplus
from s
left join r on r.unit = s.unit and r.cell is not distinct from s.cell
order by s.unit, s.cell;
