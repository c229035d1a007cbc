-- Whether the members' column $column repeats their household's column of the same name in every row
-- (a region copied onto each person, say): such a column is taken from the household, not modelled twice.
-- Compared as text; NULL matches NULL.
with h as (
    select k::varchar as key, v::varchar as value
    from (select columns(c -> c = $key), columns(c -> c = $column) from query_table($households)) as t(k, v)
),
m as (
    select k::varchar as key, v::varchar as value
    from (select columns(c -> c = $key), columns(c -> c = $column) from query_table($members)) as t(k, v)
)
select coalesce(bool_and(h.value is not distinct from m.value), false) as inherited
from m
join h using (key);
