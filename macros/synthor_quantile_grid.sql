-- synthor_quantile_grid(tbl, col, k): the real distribution of a numeric column as k + 1 quantiles at
-- 0, 1/k, ..., 1, interpolated like quantile_cont. The sampler draws within a range from this grid,
-- piecewise-linearly, so draws follow the real shape inside a bin instead of being uniform; tied values (a
-- point mass) stay exact. NULLs are left out: NULL is proposed separately. Computed from one sort and a
-- join on ranks, because quantile_cont with a list of k + 1 fractions costs k passes.
create or replace macro synthor_quantile_grid(tbl, col, k) as table
with sorted as (
    select v, row_number() over (order by v) - 1 as i
    from (select columns(c -> c = col)::double as v from query_table(tbl))
    where v is not null
),
positions as (
    select p.range as p, p.range * (n.n - 1) / k as x
    from range(0, k + 1) as p, (select count(*) as n from sorted) as n
    where n.n > 0
),
picked as (
    select positions.p, positions.x, lo.v as lo, hi.v as hi
    from positions
    join sorted as lo on lo.i = floor(positions.x)
    join sorted as hi on hi.i = ceil(positions.x)
)
select list(lo + (x - floor(x)) * (hi - lo) order by p) as grid
from picked;
