-- synthor_member_counts(members, key, col): per household (the `key` column, as text), how many of its
-- members have each value of `col` (as text; NULL is a value of its own). Households without a member
-- with a value have no row for it: read a missing row as 0.
create or replace macro synthor_member_counts(members, key, col) as table
with m as (
    select k::varchar as key, v::varchar as value
    from (select columns(c -> c = key), columns(c -> c = col) from query_table(members)) as t(k, v)
)
-- Columns qualified: inside the macro a bare `key` would be the argument, not the column.
select m.key, m.value, count(*)::bigint as n
from m
group by m.key, m.value
order by m.key, m.value nulls last;
