-- Referential integrity of a households table and its members table linked by $key: how many households
-- and distinct household keys, how many members, and how many members name no household (orphans,
-- NULL keys included). Keys are compared as text.
with h as (
    select k::varchar as key
    from (select columns(c -> c = $key) from query_table($households)) as t(k)
),
m as (
    select k::varchar as key
    from (select columns(c -> c = $key) from query_table($members)) as t(k)
),
counts as (
    select
        (select count(*) from h) as households,
        (select count(distinct key) from h) as distinct_keys,
        (select count(*) from h where key is null) as null_keys,
        (select count(*) from m) as members,
        (select count(*) from m where key is null or key not in (select key from h where key is not null)) as orphans
)
select households, distinct_keys, null_keys, members, orphans
from counts;
