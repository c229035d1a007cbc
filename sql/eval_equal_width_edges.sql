-- The k + 1 edges of k equal-width bins over the range of one numeric column's non-NULL values, as
-- numpy.histogram_bin_edges(values, k) computes them (SDMetrics bins numeric columns this way for
-- ContingencySimilarity): edge i = min + i * ((max - min) / k), the last edge exactly max; a constant
-- column spans [v - 0.5, v + 0.5]. An empty list when the column has no value.
with vals as (
    select v from (select columns(c -> c = $column)::double as v from query_table($table))
    where v is not null
),
range_ends as (
    select
        case when min(v) = max(v) then min(v) - 0.5 else min(v) end as lo,
        case when min(v) = max(v) then max(v) + 0.5 else max(v) end as hi
    from vals
)
select
    case
        when lo is null then []::double[]
        else list_transform(
            range(0, $bins + 1),
            i -> case when i = $bins then hi else i * ((hi - lo) / $bins) + lo end
        )
    end as edges
from range_ends;
