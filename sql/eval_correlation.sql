-- Pearson's correlation of two numeric columns of one table, over the rows where both are non-NULL (as
-- SDMetrics' CorrelationSimilarity and scipy.stats.pearsonr after dropna): n such rows and r in
-- [-1, 1]; NULL when fewer than two rows or either column is constant there.
with pairs as (
    select a, b
    from (
        select
            columns(c -> c = $column_a)::double as a,
            columns(c -> c = $column_b)::double as b
        from query_table($table)
    )
    where a is not null and b is not null
)
select
    count(*) as n,
    case when count(*) < 2 or var_pop(a) = 0 or var_pop(b) = 0 then null else corr(a, b) end as pearson
from pairs;
