-- Mutual information and Cramér's V of one pair of columns of a codes table (numeric columns binned).
select * from synthor_association($table, $column_a, $column_b);
