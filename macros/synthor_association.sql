-- synthor_association(tbl, col_a, col_b): how strongly two columns depend on each other, from their
-- contingency table (bin numeric columns first). Returns the row count, the mutual information in nats,
-- and Cramér's V = sqrt(chi² / (n · (min(rows, cols) - 1))), 0 for independence and 1 for a function.
-- NULL is a category of its own. Both measures are symmetric, so the order of the columns does not matter.
create or replace macro synthor_association(tbl, col_a, col_b) as table
with cells as (
    select cell[1] as a, cell[2] as b, n
    from synthor_contingency(tbl, [col_a, col_b])
),
margins as (
    select
        a,
        b,
        n,
        sum(n) over (partition by a) as na,
        sum(n) over (partition by b) as nb,
        sum(n) over () as total
    from cells
),
-- NULL counts as a category here too (count(distinct ...) would skip it).
dims as (
    select
        (select count(*) from (select distinct a from cells)) as ka,
        (select count(*) from (select distinct b from cells)) as kb
),
-- Expected counts of every cell, observed or not, for chi²: sum over observed cells of (o-e)²/e plus
-- the expected counts of unobserved cells equals sum(o²/e) - n.
stats as (
    select
        max(total) as n,
        sum(n / total * ln(n * total / (na * nb))) as mutual_information,
        sum(n * n / (na * nb / total)) - max(total) as chi2
    from margins
)
select
    stats.n,
    stats.mutual_information,
    case
        when least(dims.ka, dims.kb) < 2 then 0
        else sqrt(greatest(stats.chi2, 0) / (stats.n * (least(dims.ka, dims.kb) - 1)))
    end as cramers_v
from stats, dims;
