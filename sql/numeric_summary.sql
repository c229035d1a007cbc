-- Moments and quantiles of one numeric column.
select * from synthor_numeric_summary($table, $column);
