-- synthor_contingency(tbl, cols): the contingency table of a group of columns: one row per observed cell,
-- with the cell's values as a VARCHAR list (NULL is a value of its own), its count and its share.
-- `unit` names the columns as a JSON list; the cell lists values in the table's column order, which is
-- the order `unit` gives. Bin numeric columns first (synthor_bin) to get the paper's joint tables.
create or replace macro synthor_contingency(tbl, cols) as table
-- Not materialized: `coded` is read twice (names, groups), and materializing it would copy the table.
with coded as not materialized (
    select columns(c -> list_contains(cols, c))::varchar
    from query_table(tbl)
),
names as (
    select list_value(*columns(*)) as names
    from (select alias(columns(*)) from coded limit 1)
),
-- Group by the columns themselves and build the cell list afterwards, on the few grouped rows: grouping
-- by a list value is several times slower.
grouped as (
    select *, count(*) as __synthor_n
    from coded
    group by all
),
counts as (
    select list_value(*columns(* exclude (__synthor_n))) as cell, __synthor_n as n
    from grouped
)
select
    to_json((select names from names))::varchar as unit,
    cell,
    n,
    n / sum(n) over () as share
from counts
order by cell;
