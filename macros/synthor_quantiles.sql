-- synthor_quantiles(tbl, col, k, bins): both quantile summaries of a numeric column from one sort:
-- `grid`, the k + 1 quantiles at 0, 1/k, ..., 1 interpolated like quantile_cont (what the sampler draws
-- from), and `edges`, the interior edges of `bins` equal-frequency bins taken like quantile_disc (observed
-- values at rank ceil(n * j / bins)), repeats collapsed and an edge equal to the maximum dropped (the bin
-- above it would be empty). NULLs, NaN and the infinities are left out: they are cells of their own. One sort and a join on ranks, because quantile_cont and
-- quantile_disc with lists of fractions cost a pass per fraction.
create or replace macro synthor_quantiles(tbl, col, k, bins) as table
with sorted as (
    select v, row_number() over (order by v) - 1 as i
    from (select columns(c -> c = col)::double as v from query_table(tbl))
    where isfinite(v)
),
n as (
    select count(*) as n, max(v) as top from sorted
),
grid_positions as (
    select p.range as p, p.range * (n.n - 1) / k as x
    from range(0, k + 1) as p, n
    where n.n > 0
),
grid as (
    select list(lo.v + (g.x - floor(g.x)) * (hi.v - lo.v) order by g.p) as grid
    from grid_positions as g
    join sorted as lo on lo.i = floor(g.x)
    join sorted as hi on hi.i = ceil(g.x)
),
edge_positions as (
    select ceil(n.n * (j.range / bins)) - 1 as i
    from range(1, bins) as j, n
    where n.n > 0
),
edges as (
    select list_sort(list_distinct(list(s.v))) as edges
    from edge_positions as e
    join sorted as s on s.i = e.i
    where s.v < (select top from n)
)
select grid.grid, coalesce(edges.edges, []::double[]) as edges
from grid, edges;
