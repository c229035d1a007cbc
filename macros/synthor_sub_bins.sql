-- synthor_sub_bins(tbl, col, edges, bin, lo, hi, k): the k equal-width sub-bins of one main bin (lo, hi]
-- of a numeric column, with counts and shares of all rows, so the sub-bin shares add up to the main
-- bin's share (Appendix C.1: sub-bins are normalized to the parent). Membership in the main bin is decided
-- by synthor_bin with the given edges, exactly as the main bins decide it.
create or replace macro synthor_sub_bins(tbl, col, edges, bin, lo, hi, k) as table
with vals as (
    select columns(c -> c = col)::double as v
    from query_table(tbl)
),
in_bin as (
    select synthor_sub_bin(v, lo, hi, k) as sub, count(*) as n
    from vals
    where synthor_bin(v, edges) = bin
    group by all
),
subs as (
    select s.range as sub from range(0, k) as s
)
select
    subs.sub,
    lo + (hi - lo) * subs.sub / k as lo,
    lo + (hi - lo) * (subs.sub + 1) / k as hi,
    coalesce(in_bin.n, 0) as n,
    coalesce(in_bin.n, 0) / (select count(*) from vals) as share
from subs
left join in_bin using (sub)
order by subs.sub;
