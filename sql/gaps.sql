-- The gap table - every cell of every unit with real and synthetic shares, largest gap first.
select * from synthor_gaps($real, $synth);
