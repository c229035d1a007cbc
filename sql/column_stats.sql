-- Profiling statistics of one column of a table: rows, non-NULL values, distinct values, whole-number
-- check, min and max.
select * from synthor_column_stats($table, $column);
