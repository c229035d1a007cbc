-- synthor_count_code(n, cap): a count as a category, with every count of `cap` or more pooled:
-- synthor_count_code(2, 3) = '2', synthor_count_code(5, 3) = '3+'. Household-level tables of member
-- counts (members employed, children) use it, so a rare large count does not make a cell of its own.
create or replace macro synthor_count_code(n, cap) as
    case when n >= cap then cap::varchar || '+' else n::varchar end;
