-- For every numeric column, the sub-bins of the main bin whose real share exceeds its synthetic share
-- the most (Appendix C.1), with real and synthetic shares of all rows: the sub-bin shares add up to
-- their parent's share on each side. Reads the fine counts of both sides and the row totals of each
-- column's marginal unit.
with totals as (
    select
        r.unit,
        sum(r.n) as real_total,
        coalesce((select sum(s.n) from synthor_synth_counts as s where s.unit = r.unit), 0) as synth_total
    from synthor_real_counts as r
    group by r.unit
),
fine as (
    select
        coalesce(r."column", s."column") as "column",
        coalesce(r.bin, s.bin) as bin,
        coalesce(r.sub, s.sub) as sub,
        coalesce(r.n, 0) as real_n,
        coalesce(s.n, 0) as synth_n
    from synthor_real_fine as r
    full outer join synthor_synth_fine as s
        on r."column" = s."column" and r.bin = s.bin and r.sub = s.sub
),
shares as (
    select
        fine."column",
        fine.bin,
        fine.sub,
        fine.real_n,
        fine.synth_n,
        t.real_total,
        t.synth_total,
        fine.real_n / t.real_total as real_share,
        coalesce(fine.synth_n / nullif(t.synth_total, 0), 0) as synth_share
    from fine
    join totals as t on t.unit = to_json([fine."column"])::varchar
),
-- Compare bins in whole numbers (real_n * synth_total vs synth_n * real_total) so the worst bin does not
-- depend on the order threads add floating-point shares in; an empty synthetic side counts as all zero.
bin_gaps as (
    select
        "column",
        bin,
        sum(real_n)::hugeint * greatest(any_value(synth_total), 1)
            - sum(synth_n)::hugeint * any_value(real_total) as gap
    from shares
    group by all
),
worst as (
    select "column", arg_max(bin, (gap, -bin)) as bin
    from bin_gaps
    group by all
    having max(gap) > 0
),
subs as (
    select worst."column", worst.bin, s.range as sub
    from worst, range(0, $sub_bins) as s
)
select
    subs."column",
    subs.bin,
    subs.sub,
    b.lo + (b.hi - b.lo) * subs.sub / $sub_bins as lo,
    b.lo + (b.hi - b.lo) * (subs.sub + 1) / $sub_bins as hi,
    coalesce(shares.real_share, 0) as real_share,
    coalesce(shares.synth_share, 0) as synth_share,
    coalesce(shares.real_share, 0) - coalesce(shares.synth_share, 0) as gap
from subs
join synthor_bins as b on b."column" = subs."column" and b.bin = subs.bin
left join shares on shares."column" = subs."column" and shares.bin = subs.bin and shares.sub = subs.sub
order by subs."column", subs.sub;
