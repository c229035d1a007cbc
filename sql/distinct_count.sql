-- The exact number of distinct non-NULL values of one column.
select distinct_values from synthor_distinct_count($table, $column);
