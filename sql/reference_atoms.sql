-- The reference rows grouped by key (their values of the target columns as text, then whether they
-- match each tilt): raking weighs each key as a whole. Every row of a key has the same base weight (an
-- imputed column's share given the target columns), so `w` is that weight, not a sum that parallel
-- addition could change in the last bits; `weights` counts the distinct weights, which must be 1.
select
    __synthor_key as key,
    count(*) as n,
    min(__synthor_w) as w,
    count(distinct __synthor_w) as weights
from synthor_reference_keyed
group by __synthor_key
order by key;
