-- synthor_bin(x, edges): the main bin a value falls in, given the interior edges of the bins.
-- Bins are right-closed: bin 0 is (-inf, edges[1]], bin i is (edges[i], edges[i+1]], the last one
-- (edges[-1], +inf). Right-closed bins give a heavily tied value its own bin: in a zero-inflated column
-- the quantile edges repeat 0, and bin 0 = [min, 0] then holds exactly the zeros.
create or replace macro synthor_bin(x, edges) as
    case when x is null then null else len(list_filter(edges, e -> e < x)) end;
