-- The decimal places a numeric column is written with (NULL: more than 6, not rounded).
select decimals from synthor_decimals($table, $column);
