-- Mutual information and Cramér's V of many pairs of columns at once, from $table's cells
-- (pair, a, b, n): one row per observed cell of each pair, NULL a category of its own. The measures of
-- macros/synthor_association.sql, computed the same way, for every pair in one query: counting the cells
-- of each pair is a GROUP BY of its own (src/groups.ts), and the statistics are the same for any pair.
with cells as (
    select pair, a, b, n
    from query_table($table)
),
margins as (
    select
        pair,
        n,
        sum(n) over (partition by pair, a) as na,
        sum(n) over (partition by pair, b) as nb,
        sum(n) over (partition by pair) as total
    from cells
),
-- NULL counts as a category here too (count(distinct ...) alone would skip it).
dims as (
    select
        pair,
        count(distinct a) + max((a is null)::integer) as ka,
        count(distinct b) + max((b is null)::integer) as kb
    from cells
    group by pair
),
-- chi² as sum(o²/e) - n over the observed cells: the unobserved cells' (0-e)²/e terms add up with the
-- observed ones' to the same sum (see the macro).
stats as (
    select
        pair,
        max(total) as n,
        sum(n / total * ln(n * total / (na * nb))) as mutual_information,
        sum(n * n / (na * nb / total)) - max(total) as chi2
    from margins
    group by pair
)
select
    stats.pair,
    stats.n,
    stats.mutual_information,
    case
        when least(dims.ka, dims.kb) < 2 then 0
        else sqrt(greatest(stats.chi2, 0) / (stats.n * (least(dims.ka, dims.kb) - 1)))
    end as cramers_v
from stats
join dims on dims.pair = stats.pair
order by stats.pair;
