-- Category adherence of the column $column: the synthetic rows ($synth) whose value no row of the real
-- table ($real) has. A synthesizer should only draw values it saw; a new one is invented (or, worse,
-- copied from somewhere else). Values are compared as text, so a number read as text on one side still
-- matches; NULL is not a category here (eval_null_shares.sql compares NULLs). Returns the synthetic rows,
-- the rows with a new value, their share, how many distinct new values, and up to 5 of them, the most
-- frequent first (ties by value).
with real_values as (
    select distinct columns(c -> c = $column)::varchar as v from query_table($real)
),
synth_values as (
    select columns(c -> c = $column)::varchar as v from query_table($synth)
),
novel as (
    select v, count(*) as n
    from synth_values
    where v is not null and v not in (select v from real_values where v is not null)
    group by v
)
select
    (select count(*) from synth_values) as synth_rows,
    coalesce((select sum(n) from novel), 0)::bigint as novel_rows,
    coalesce((select sum(n) from novel), 0) / nullif((select count(*) from synth_values), 0) as novel_share,
    (select count(*) from novel) as novel_values,
    coalesce((select list(v order by n desc, v) from (select v, n from novel order by n desc, v limit 5)), [])
        as examples;
