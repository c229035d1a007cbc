-- The interior edges of the equal-frequency main bins of one numeric column.
select edges from synthor_quantile_edges($table, $column, $bins);
