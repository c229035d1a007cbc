-- How a child table ($child, e.g. persons) hangs on its parent table ($parent, e.g. households) by the
-- key column $key: parent rows, distinct parent keys, child rows, child rows whose key matches no parent
-- (orphans; a NULL key matches none), parents with no child, and child rows per parent row. Keys are
-- compared as text, so a key read as a number on one side and as text on the other still matches.
with parent_keys as (
    select columns(c -> c = $key)::varchar as k from query_table($parent)
),
child_keys as (
    select columns(c -> c = $key)::varchar as k from query_table($child)
),
distinct_parents as (
    select distinct k from parent_keys where k is not null
),
counts as (
    select
        (select count(*) from parent_keys) as parents,
        (select count(*) from distinct_parents) as distinct_keys,
        (select count(*) from child_keys) as children,
        (select count(*) from child_keys anti join distinct_parents using (k)) as orphans,
        (select count(*) from distinct_parents anti join child_keys using (k)) as childless
)
select
    parents,
    distinct_keys,
    children,
    orphans,
    childless,
    children / nullif(parents, 0) as children_per_parent
from counts;
