-- Total variation distance per unit between the real and the synthetic count tables.
select * from synthor_tvd($real, $synth);
