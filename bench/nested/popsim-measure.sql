-- Household-level fidelity of a nested popsim run, beside a naive baseline. Run it on the run's database:
--   synthor query --db pop.duckdb -- "$(cat bench/nested/popsim-measure.sql)"
-- (tables synthetic and synthetic_members; the real files are read from /work/shared/data/popsim_survey).
-- Baseline ("independent"): every household column, the household size and every person column is
-- resampled on its own (a seeded permutation of the real values), which keeps each marginal exactly and
-- breaks every dependence: what synthesis must beat on the tables that cross columns or levels.
-- Bands (PAge): 0-3 are children (only in households with HHChildren = 1), 9-10 are elders (mostly
-- without work); employed members have PEmp 1 or 2 (they are the ones with an occupation).
with
real_h as (from read_csv('/work/shared/data/popsim_survey/seed_households.csv', sample_size = -1)),
real_p as (from read_csv('/work/shared/data/popsim_survey/seed_persons.csv', sample_size = -1)),
real_sizes as (select h.hhID, count(p.hhID) as size from real_h as h left join real_p as p using (hhID) group by h.hhID),
-- the baseline's households: each column a permutation of the real one, row i of each joined
base_h as (
    select i.rn as hhID, a.HHIncome, b.HHDwelling, c.HHChildren, d.size
    from (select row_number() over (order by hash(hhID, 'id')) as rn from real_h) as i
    join (select row_number() over (order by hash(hhID, 'inc')) as rn, HHIncome from real_h) as a using (rn)
    join (select row_number() over (order by hash(hhID, 'dw')) as rn, HHDwelling from real_h) as b using (rn)
    join (select row_number() over (order by hash(hhID, 'ch')) as rn, HHChildren from real_h) as c using (rn)
    join (select row_number() over (order by hash(hhID, 'sz')) as rn, size from real_sizes) as d using (rn)
),
base_slots as (select hhID, unnest(range(size)) as k from base_h),
base_p as (
    select s.hhID, a.PAge, b.PEmp
    from (select hhID, row_number() over (order by hhID, k) as rn from base_slots) as s
    join (select row_number() over (order by hash(hhID, personID, 'age'), hhID, personID) as rn, PAge from real_p) as a using (rn)
    join (select row_number() over (order by hash(hhID, personID, 'emp'), hhID, personID) as rn, PEmp from real_p) as b using (rn)
),
per_household as (
    select 'real' as side, h.hhID, h.HHIncome::varchar as income, h.HHDwelling::varchar as dwelling,
           h.HHChildren::varchar as children_flag,
           count(p.hhID) as size,
           coalesce(bool_or(p.PAge::int <= 3), false) as child,
           coalesce(bool_or(p.PAge::int >= 9), false) as elder,
           least(count(*) filter (where p.PEmp::varchar in ('1', '2')), 3) as employed
    from real_h as h left join real_p as p using (hhID) group by all
    union all
    select 'synth', h.hhID, h.HHIncome::varchar, h.HHDwelling::varchar, h.HHChildren::varchar,
           count(p.hhID), coalesce(bool_or(p.PAge::int <= 3), false), coalesce(bool_or(p.PAge::int >= 9), false),
           least(count(*) filter (where p.PEmp::varchar in ('1', '2')), 3)
    from synthetic as h left join synthetic_members as p using (hhID) group by all
    union all
    select 'baseline', h.hhID, h.HHIncome::varchar, h.HHDwelling::varchar, h.HHChildren::varchar,
           h.size, coalesce(bool_or(p.PAge::int <= 3), false), coalesce(bool_or(p.PAge::int >= 9), false),
           least(count(*) filter (where p.PEmp::varchar in ('1', '2')), 3)
    from base_h as h left join base_p as p using (hhID) group by all
),
cells as (
    select side, tbl, cell, count(*) as n
    from (
        select side, unnest([
            {'tbl': 'household size', 'cell': size::varchar},
            {'tbl': 'has a child (PAge 0-3)', 'cell': child::varchar},
            {'tbl': 'has an elder (PAge 9-10)', 'cell': elder::varchar},
            {'tbl': 'members employed (PEmp 1-2, 3 = 3+)', 'cell': employed::varchar},
            {'tbl': 'HHIncome x members employed', 'cell': income || '|' || employed},
            {'tbl': 'HHIncome x household size', 'cell': income || '|' || size},
            {'tbl': 'HHIncome x has a child', 'cell': income || '|' || child},
            {'tbl': 'HHDwelling x household size', 'cell': dwelling || '|' || size},
            {'tbl': 'HHDwelling x has an elder', 'cell': dwelling || '|' || elder},
            {'tbl': 'HHChildren x has a child', 'cell': children_flag || '|' || child},
            {'tbl': 'household size x members employed', 'cell': size || '|' || employed}
        ], recursive := true)
        from per_household
    )
    group by all
),
shares as (select side, tbl, cell, n / sum(n) over (partition by side, tbl) as share from cells),
sides as (
    select r.tbl, r.cell, r.share as real_share,
           coalesce(s.share, 0) as synth_share, coalesce(b.share, 0) as base_share
    from (from shares where side = 'real') as r
    left join (from shares where side = 'synth') as s using (tbl, cell)
    left join (from shares where side = 'baseline') as b using (tbl, cell)
    union all
    select s.tbl, s.cell, 0, s.share, 0 from (from shares where side = 'synth') as s
    where not exists (select 1 from shares as r where r.side = 'real' and r.tbl = s.tbl and r.cell = s.cell)
    union all
    select b.tbl, b.cell, 0, 0, b.share from (from shares where side = 'baseline') as b
    where not exists (select 1 from shares as r where r.side = 'real' and r.tbl = b.tbl and r.cell = b.cell)
)
select tbl as "table",
       round(0.5 * sum(abs(real_share - synth_share)), 4) as tvd_synthor,
       round(0.5 * sum(abs(real_share - base_share)), 4) as tvd_baseline
from sides
group by tbl
order by tbl;
