-- synthor_distinct_count(tbl, col): the exact number of distinct non-NULL values of a column. Dearer than
-- the estimate synthor_column_stats gives; profiling asks for it only where the count decides a column's
-- kind (few enough values to be categorical, or unique enough to be an identifier).
create or replace macro synthor_distinct_count(tbl, col) as table
select count(distinct columns(c -> c = col)) as distinct_values
from query_table(tbl);
