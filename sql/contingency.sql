-- The contingency table (unit, cell, n) of a group of columns; numeric columns must already be binned.
select unit, cell, n from synthor_contingency($table, $columns);
