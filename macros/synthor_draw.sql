-- synthor_draw(grid, lo, hi, p_lo, p_hi, u, whole, uniform): one numeric value inside a proposal's range.
-- By default it follows the real distribution restricted to the range: the uniform number u is mapped
-- into [p_lo, p_hi], the real CDF at the range's ends, and through the quantile grid. With uniform = true
-- it is the paper's plain uniform draw over [lo, hi]. Whole-number columns are rounded up, so a value
-- drawn from the right-closed bin (24, 31] lands on 25 ... 31, inside the bin (synthor_whole_within).
-- A NULL range gives NULL; a point range (lo = hi) gives lo.
-- The clamped value is bound once, as the lambda's x: written out in each branch, as it was, DuckDB bound
-- and optimized the quantile lookup four times per column, which cost 15 ms a numeric column in every
-- sampling query however few rows it drew.
create or replace macro synthor_draw(grid, lo, hi, p_lo, p_hi, u, whole, uniform) as
    case
        when lo is null then null
        when lo >= hi then lo
        else list_transform(
            [least(hi, greatest(lo, case when uniform then lo + u * (hi - lo)
                                         else synthor_inverse_cdf(grid, p_lo + u * (p_hi - p_lo)) end))],
            lambda x: case when whole then synthor_whole_within(x, lo, hi) else x end)[1]
    end;
