-- The interior edges of $bins equal-frequency bins of one numeric column of the real table (deciles for
-- $bins = 10), the bins that group metrics and detection features cut numeric columns into; with
-- synthor_bin they give right-closed bins (-inf, e1], (e1, e2], ..., (e_last, +inf).
select edges from synthor_quantile_edges($table, $column, $bins);
