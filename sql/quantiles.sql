-- The sampler's quantile grid (k + 1 quantiles) and the main bins' edges of one numeric column, from one sort.
select grid, edges from synthor_quantiles($table, $column, $k, $bins);
