-- NULLs of the column $column on each side: rows, NULL rows and their share, in the real table $real and
-- the synthetic table $synth. A synthesizer that drops NULLs (or invents them) shows here even when the
-- column's shares of values agree. Shares are NULL for an empty table.
with real_side as (
    select count(*) as rows, count(*) filter (where columns(c -> c = $column) is null) as nulls
    from query_table($real)
),
synth_side as (
    select count(*) as rows, count(*) filter (where columns(c -> c = $column) is null) as nulls
    from query_table($synth)
)
select
    real_side.rows as real_rows,
    real_side.nulls as real_nulls,
    real_side.nulls / nullif(real_side.rows, 0) as real_share,
    synth_side.rows as synth_rows,
    synth_side.nulls as synth_nulls,
    synth_side.nulls / nullif(synth_side.rows, 0) as synth_share
from real_side, synth_side;
