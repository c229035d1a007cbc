-- synthor_frequency(tbl, col): the frequency table of one column: each value (as text; NULL is a value
-- of its own), its count and its share, most frequent first.
create or replace macro synthor_frequency(tbl, col) as table
select cell[1] as value, n, share
from synthor_contingency(tbl, [col])
order by n desc, value nulls last;
