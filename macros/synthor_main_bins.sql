-- synthor_main_bins(tbl, col, k): the k equal-frequency main bins of a numeric column (Appendix C.1 of
-- the paper: 6 by default), one row per bin with its range (lo, hi], its row count and its share of all
-- rows (NULLs, NaN and the infinities included in the denominator, so shares plus their shares add up to 1;
-- they are in no bin, and min and max are the finite values').
create or replace macro synthor_main_bins(tbl, col, k) as table
with vals as (
    select columns(c -> c = col)::double as v
    from query_table(tbl)
),
edges as (
    select edges from synthor_quantile_edges(tbl, col, k)
),
bounds as (
    select
        b.range as bin,
        case when b.range = 0 then (select min(v) from vals where isfinite(v)) else edges[b.range] end as lo,
        case when b.range = len(edges) then (select max(v) from vals where isfinite(v)) else edges[b.range + 1] end as hi
    from edges, range(0, len(edges) + 1) as b
),
counts as (
    select synthor_bin(v, (select edges from edges)) as bin, count(*) as n
    from vals
    where isfinite(v)
    group by all
)
select
    bounds.bin,
    bounds.lo,
    bounds.hi,
    coalesce(counts.n, 0) as n,
    coalesce(counts.n, 0) / (select count(*) from vals) as share
from bounds
left join counts using (bin)
order by bounds.bin;
