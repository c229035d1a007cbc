-- The real table's row count and a checksum of its rows: the sum of every row's hash, so it depends on
-- neither the row order nor the thread count, and two equal rows add up rather than cancel out.
-- --resume re-reads the source and refuses it when either differs from the interrupted run's.
select count(*) as n, coalesce(sum(hash(t)), 0)::varchar as checksum
from query_table($table) as t;
