-- synthor_quantile_grid(tbl, col, k): the real distribution of a numeric column as k + 1 quantiles at
-- 0, 1/k, ..., 1, interpolated like quantile_cont. The sampler draws within a range from this grid,
-- piecewise-linearly, so draws follow the real shape inside a bin instead of being uniform; tied values
-- (a point mass) stay exact. NULLs are left out: NULL is proposed separately. See synthor_quantiles.
create or replace macro synthor_quantile_grid(tbl, col, k) as table
select grid from synthor_quantiles(tbl, col, k, 2);
