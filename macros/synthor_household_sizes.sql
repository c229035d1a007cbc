-- synthor_household_sizes(households, members, key): how many members each household has, 0 for a household
-- no member row names. `key` is the column that links the two tables (it must have the same name in both);
-- keys are compared as text, so an integer key in one file and a text key in the other still link.
create or replace macro synthor_household_sizes(households, members, key) as table
with h as (
    select k::varchar as key
    from (select columns(c -> c = key) from query_table(households)) as t(k)
),
m as (
    select k::varchar as key, count(*) as size
    from (select columns(c -> c = key) from query_table(members)) as t(k)
    group by all
)
select h.key, coalesce(m.size, 0)::bigint as size
from h
left join m using (key)
order by h.key;
