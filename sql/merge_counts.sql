-- Adds a batch's counts to the synthetic side's running count tables, so an iteration's cost depends on
-- the batch and the number of cells, never on how large the synthetic table has grown.
create or replace table synthor_synth_counts as
select unit, cell, sum(n)::bigint as n
from (
    select unit, cell, n from synthor_synth_counts
    union all
    select unit, cell, n from synthor_batch_counts
)
group by all;

create or replace table synthor_synth_fine as
select "column", bin, sub, sum(n)::bigint as n
from (
    select "column", bin, sub, n from synthor_synth_fine
    union all
    select "column", bin, sub, n from synthor_batch_fine
)
group by all;
