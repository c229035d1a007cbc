-- How close a table came to one target: per named cell, its target share and its share in the table;
-- then one row with a NULL cell for all the cells the target does not name. Half the sum of the
-- absolute differences is the TVD between target and table over that partition.
with shares as (
    select cell, n / sum(n) over () as share
    from synthor_contingency($table, $columns)
),
named as (
    select cell, target_share
    from synthor_target_cells
    where target = $target
),
fit as (
    select n.cell, n.target_share, coalesce(s.share, 0) as synth_share
    from named as n
    left join shares as s on s.cell is not distinct from n.cell
),
rest as (
    -- Rounded so that named shares summing to 1 leave exactly 0, not a float remainder like 1e-16.
    select
        null::varchar[] as cell,
        round(greatest(1 - sum(target_share), 0), 12) as target_share,
        round(greatest(1 - sum(synth_share), 0), 12) as synth_share
    from fit
)
select cell, target_share, synth_share from fit
union all
select cell, target_share, synth_share from rest
order by cell nulls last;
