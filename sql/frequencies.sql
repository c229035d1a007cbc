-- The frequency table of one column, most frequent value first.
select * from synthor_frequency($table, $column);
