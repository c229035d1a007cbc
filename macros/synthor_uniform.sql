-- synthor_uniform(seed, a, b, c, d): a uniform number in (0, 1) fixed by its five arguments (e.g. seed,
-- iteration, proposal, row, column). It comes from a hash, not random(), so a draw is the same whatever
-- the thread count or the order DuckDB evaluates rows in: the same seed gives the same table.
create or replace macro synthor_uniform(seed, a, b, c, d) as
    ((hash(seed, a, b, c, d) >> 11)::double + 0.5) / 9007199254740992.0;
