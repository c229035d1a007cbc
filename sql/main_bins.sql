-- The main bins of one numeric column: range, count and share of all rows.
select * from synthor_main_bins($table, $column, $bins);
