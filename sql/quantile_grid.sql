-- The fine quantile grid (k + 1 quantiles) of one numeric column, which the sampler draws from.
select grid from synthor_quantile_grid($table, $column, $k);
