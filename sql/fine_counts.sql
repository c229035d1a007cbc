-- Counts of one numeric column's values in every (main bin, sub-bin) cell, with the real data's main bins
-- (synthor_edges, synthor_bins). The sub-bins of whichever main bin is worst at an iteration are read from
-- these counts, so neither side's table is scanned again.
with vals as (
    select columns(c -> c = $column)::double as v
    from query_table($table)
),
edges as (
    select edges from synthor_edges where "column" = $column
),
binned as (
    select synthor_bin(v, (select edges from edges)) as bin, v
    from vals
    where isfinite(v)
)
select
    $column as "column",
    binned.bin,
    synthor_sub_bin(binned.v, b.lo, b.hi, $sub_bins) as sub,
    count(*) as n
from binned
join synthor_bins as b on b."column" = $column and b.bin = binned.bin
group by all
order by binned.bin, sub;
