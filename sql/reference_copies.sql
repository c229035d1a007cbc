-- How many copies of each reference row the reference table holds: its key's whole-number total (from
-- raking and controlled rounding) spread over the key's rows by systematic rounding in rank order (row
-- k of m gets floor(k T / m) - floor((k - 1) T / m)). The rank orders a key's rows by their values, so any
-- run of similar rows gets its proportional share to within one copy: a subgroup (a zone, a time bin)
-- keeps its real share within the key instead of a random one.
with ranked as (
    select
        k.*,
        t.total,
        count(*) over (partition by k.__synthor_key) as atom_rows
    from synthor_reference_keyed as k
    join synthor_reference_totals as t on t.key is not distinct from k.__synthor_key
    where t.total > 0
)
select
    * exclude (total, atom_rows),
    (__synthor_rank * total) // atom_rows - ((__synthor_rank - 1) * total) // atom_rows as copies
from ranked;
