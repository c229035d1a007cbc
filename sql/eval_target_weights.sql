-- Checks the weight column $column of a target table $table before it is compared: how many weights are
-- negative, how many are missing or not numbers, and their sum (which must be positive).
with weights as (
    select columns(c -> c = $column)::varchar as raw
    from query_table($table)
)
select
    count(*) filter (where try_cast(raw as double) < 0) as negative,
    count(*) filter (where try_cast(raw as double) is null) as invalid,
    coalesce(sum(try_cast(raw as double)), 0) as total
from weights;
