-- synthor_member_values(members, key, col): per household (the `key` column, as text), the values of `col`
-- its members have, sorted, as a JSON list of text: '["8","9"]' for a household of two whose members have
-- 8 and 9. The list is the household's composition in that column (how many members have each value), and
-- its length the household's size; NULL is kept as null.
create or replace macro synthor_member_values(members, key, col) as table
with m as (
    select k::varchar as key, v::varchar as value
    from (select columns(c -> c = key), columns(c -> c = col) from query_table(members)) as t(k, v)
)
-- Columns qualified: inside the macro a bare `key` would be the argument, not the column.
select m.key, to_json(list(m.value order by m.value nulls last))::varchar as "values"
from m
group by m.key
order by m.key;
