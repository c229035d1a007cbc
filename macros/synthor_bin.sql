-- synthor_bin(x, edges): the main bin a value falls in, given the interior edges of the bins.
-- Bins are right-closed: bin 0 is (-inf, edges[1]], bin i is (edges[i], edges[i+1]], the last one
-- (edges[-1], +inf). Right-closed bins give a heavily tied value its own bin: in a zero-inflated column
-- the quantile edges repeat 0, and bin 0 = [min, 0] then holds exactly the zeros. NULL, NaN and the
-- infinities are in no bin (NULL): like NULL, they are cells of their own (see encode.ts).
create or replace macro synthor_bin(x, edges) as
    case when isfinite(x) then len(list_filter(edges, e -> e < x)) end;
