-- synthor_sub_bin(x, lo, hi, k): which of k equal-width sub-bins of the main bin (lo, hi] a value falls
-- in, 0 to k - 1. Right-closed like the main bins; a value at or below lo (the minimum of the first bin)
-- goes to sub-bin 0, and a point bin (lo = hi) has only sub-bin 0.
create or replace macro synthor_sub_bin(x, lo, hi, k) as
    case
        when x is null then null
        when hi <= lo then 0
        else least(k - 1, greatest(0, ceil((x - lo) / (hi - lo) * k) - 1))::integer
    end;
