-- synthor_quantile_grid(tbl, col, k): the real distribution of a numeric column as k + 1 quantiles at
-- 0, 1/k, ..., 1 (quantile_cont). The sampler draws within a range from this grid, piecewise-linearly,
-- so draws follow the real shape inside a bin instead of being uniform; tied values (a point mass) stay
-- exact. NULLs are left out: NULL is proposed separately.
create or replace macro synthor_quantile_grid(tbl, col, k) as table
with vals as (
    select columns(c -> c = col)::double as v
    from query_table(tbl)
)
select quantile_cont(v, list_transform(range(0, k + 1), i -> i / k)) as grid
from vals;
