-- The count tables (unit, cell, n) of many units at once, from synthor_stacked_codes: one row per row
-- of a codes table and unit, with the unit's number (`part`, from 0), its column count (`arity`) and its
-- codes as text in c1, c2, ... (NULL past the arity; a NULL code is a value of its own). $units names
-- each part's unit as it goes into the count table. Grouped first, the cell list built after: grouping by
-- a list value is several times slower.
with counted as (
    select part, arity, columns('^c[0-9]+$'), count(*) as n
    from synthor_stacked_codes
    group by all
),
listed as (
    select part, arity, n, list_value(*columns('^c[0-9]+$')) as codes
    from counted
)
select $units[part + 1] as unit, codes[1:arity] as cell, n
from listed
order by part, cell;
