-- synthor_quantile_edges(tbl, col, k): the interior edges of k equal-frequency bins of a numeric column,
-- as one row with a sorted list. They are the 1/k ... (k-1)/k quantiles taken from the data (quantile_disc,
-- so every edge is an observed value); repeated edges collapse, and an edge equal to the maximum is dropped
-- because the bin above it would always be empty. Fewer than k - 1 edges means ties were collapsed.
create or replace macro synthor_quantile_edges(tbl, col, k) as table
with vals as (
    select columns(c -> c = col)::double as v
    from query_table(tbl)
),
quantiles as (
    select
        quantile_disc(v, list_transform(range(1, k), i -> i / k)) as qs,
        max(v) as top
    from vals
)
select coalesce(list_sort(list_distinct(list_filter(qs, q -> q < top))), []::double[]) as edges
from quantiles;
