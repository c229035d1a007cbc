-- synthor_inverse_cdf(grid, q): the value at probability q (clamped to [0, 1]) of the piecewise-linear
-- distribution whose quantiles at 0, 1/k, ..., 1 are the k + 1 sorted values in `grid`.
create or replace macro synthor_inverse_cdf(grid, q) as
    grid[floor(least(1, greatest(0, q)) * (len(grid) - 1))::bigint + 1]
    + (least(1, greatest(0, q)) * (len(grid) - 1) - floor(least(1, greatest(0, q)) * (len(grid) - 1)))
    * (
        grid[least(floor(least(1, greatest(0, q)) * (len(grid) - 1))::bigint + 2, len(grid))]
        - grid[floor(least(1, greatest(0, q)) * (len(grid) - 1))::bigint + 1]
    );
