-- Whether two columns of one table hold the same value in every row (compared as text; NULL matches
-- NULL): a column that only repeats another (a "dummy" copy of a code) is copied, not modelled twice.
with t as (
    select a::varchar as a, b::varchar as b
    from (select columns(c -> c = $column_a), columns(c -> c = $column_b) from query_table($table)) as x(a, b)
)
select coalesce(bool_and(a is not distinct from b), false) as same
from t;
