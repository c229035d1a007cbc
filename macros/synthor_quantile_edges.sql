-- synthor_quantile_edges(tbl, col, k): the interior edges of k equal-frequency bins of a numeric column,
-- as one row with a sorted list. They are the 1/k ... (k-1)/k quantiles taken from the data (like
-- quantile_disc, so every edge is an observed value); repeated edges collapse, and an edge equal to the
-- maximum is dropped because the bin above it would always be empty. Fewer than k - 1 edges means ties
-- were collapsed. See synthor_quantiles.
create or replace macro synthor_quantile_edges(tbl, col, k) as table
select edges from synthor_quantiles(tbl, col, 2, k);
