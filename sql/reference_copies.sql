-- How many copies of each reference row the reference table holds: its key's whole-number total (from
-- raking and controlled rounding) spread evenly over the key's rows, the remainder one each to the first
-- rows in seeded hash order. Rows with the same hash hold the same values, so ties do not matter.
with ranked as (
    select
        k.*,
        t.total,
        count(*) over (partition by k.__synthor_key) as atom_rows,
        row_number() over (partition by k.__synthor_key order by k.__synthor_hash) as atom_rank
    from synthor_reference_keyed as k
    join synthor_reference_totals as t on t.key is not distinct from k.__synthor_key
    where t.total > 0
)
select
    * exclude (total, atom_rows, atom_rank),
    total // atom_rows + (atom_rank <= total % atom_rows)::integer as copies
from ranked;
