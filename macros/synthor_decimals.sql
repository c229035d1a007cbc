-- synthor_decimals(tbl, col): how many decimal places a numeric column is written with: the smallest d
-- in 0 ... 6 such that every value equals itself rounded to d places, or NULL when none does (a truly
-- continuous column). Synthetic values are rounded to the same precision, so prices keep their cents.
create or replace macro synthor_decimals(tbl, col) as table
with vals as (
    select distinct columns(c -> c = col)::double as v
    from query_table(tbl)
),
places as (
    select d.range::integer as d from range(0, 7) as d
)
select min(places.d) as decimals
from places
where not exists (
    select 1
    from vals
    where vals.v is not null and abs(round(vals.v, places.d) - vals.v) > 1e-9 * greatest(1, abs(vals.v))
);
