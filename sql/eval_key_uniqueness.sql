-- Key uniqueness of the column $key in the table $table: a key (an identifier, or the --key that links
-- a child table) should name one row. Returns the rows, the rows whose key is NULL, the distinct
-- non-NULL keys, the keys held by more than one row, and the rows beyond the first of each such key
-- (rows - NULL rows - distinct keys). Keys are compared as text, as eval_links.sql compares them.
with keys as (
    select columns(c -> c = $key)::varchar as k from query_table($table)
),
per_key as (
    select k, count(*) as n from keys where k is not null group by k
)
select
    (select count(*) from keys) as rows,
    (select count(*) from keys where k is null) as null_keys,
    (select count(*) from per_key) as distinct_keys,
    (select count(*) from per_key where n > 1) as repeated_keys,
    coalesce((select sum(n - 1) from per_key), 0)::bigint as surplus_rows;
