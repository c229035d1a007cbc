-- synthor_whole_within(x, lo, hi): a whole number for x inside the right-closed range (lo, hi]: x rounded
-- up, then clamped to the whole numbers of [lo, hi]; plain rounding when the range holds no whole number.
-- Rounding up keeps a value drawn in the bin (24, 31] inside it (25 ... 31), where rounding to nearest
-- would move 24.3 into the bin below.
create or replace macro synthor_whole_within(x, lo, hi) as
    case
        when x is null then null
        when floor(hi) >= ceil(lo) then least(floor(hi), greatest(ceil(lo), ceil(x)))
        else round(x)
    end;
