-- Origin-destination counts of one table, for the report's flows view: one row per observed pair of
-- values of the columns $from and $to (as text; NULL a value of its own), its count and its share of the
-- table's rows. Table: $table (a view the caller has already filtered with --flows-filter).
with pairs as (
    select
        columns(c -> c = $from)::varchar as flow_from,
        columns(c -> c = $to)::varchar as flow_to
    from query_table($table)
),
counts as (
    select flow_from, flow_to, count(*) as n
    from pairs
    group by flow_from, flow_to
)
select flow_from, flow_to, n, n / sum(n) over () as share
from counts
order by flow_from nulls last, flow_to nulls last;
