-- How many rows of $synth are identical to some row of $real in every column (NULL equal to NULL): the
-- rows a synthetic table may have copied. Both tables must have the same columns in the same order
-- (compare them in model space, identifiers left out). Returns the rows of $synth, the matching rows and
-- their share (NULL when $synth is empty).
with synth_rows as (
    select s as k from query_table($synth) as s
),
real_rows as (
    select distinct r as k from query_table($real) as r
),
matched as (
    select count(*) as n
    from synth_rows
    semi join real_rows on synth_rows.k is not distinct from real_rows.k
)
select
    (select count(*) from synth_rows) as rows,
    matched.n as matches,
    matched.n / nullif((select count(*) from synth_rows), 0) as share
from matched;
