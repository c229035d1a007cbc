-- The count table (unit, cell, n) of a group of columns with the unit's id behind a label: '' for the
-- units themselves, 'fine:' or 'pair:' for units counted again at sub-bin level or as tracked pairs.
-- Numeric columns must already be binned.
select $prefix || unit as unit, cell, n from synthor_contingency($table, $columns);
