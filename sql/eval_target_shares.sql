-- A target table's cells beside the synthetic table's shares of the same cells (`synthor eval
-- --target-table`). $target: the target's columns as text, then its weight column __synthor_weight (each
-- cell's count or share); $synth: the synthetic table's same columns as text, in the same order. Every
-- cell of either side appears: one the synthetic table lacks has synthetic share 0, one the target does
-- not name has target share 0. `within` shares divide by the cell's condition, every column but the last
-- (for time_bin, activity: the activity mix of each time bin); with one column the condition is [].
with target_cells as (
    select list_value(*columns(* exclude (__synthor_weight))) as cell, sum(__synthor_weight) as target_n
    from query_table($target)
    group by all
),
synth_cells as (
    select list_value(*columns(*)) as cell, count(*)::double as synth_n
    from query_table($synth)
    group by all
),
joined as (
    select
        coalesce(t.cell, s.cell) as cell,
        coalesce(t.target_n, 0)::double as target_n,
        coalesce(s.synth_n, 0)::double as synth_n
    from target_cells as t
    full outer join synth_cells as s on t.cell is not distinct from s.cell
),
shares as (
    select
        cell,
        list_slice(cell, 1, len(cell) - 1) as condition,
        target_n,
        synth_n,
        coalesce(target_n / nullif(sum(target_n) over (), 0), 0) as target_share,
        coalesce(synth_n / nullif(sum(synth_n) over (), 0), 0) as synth_share
    from joined
)
select
    cell,
    condition,
    target_n,
    synth_n,
    target_share,
    synth_share,
    coalesce(target_n / nullif(sum(target_n) over (partition by condition), 0), 0) as target_within,
    coalesce(synth_n / nullif(sum(synth_n) over (partition by condition), 0), 0) as synth_within
from shares
order by cell;
