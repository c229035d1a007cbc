-- The Jensen-Shannon divergence per unit between the real and the synthetic count tables (unit, cell,
-- n), in nats: JS(P, Q) = 1/2 KL(P || M) + 1/2 KL(Q || M) with M = (P + Q) / 2, in [0, ln 2]; and the
-- Jensen-Shannon distance sqrt(JS), what scipy.spatial.distance.jensenshannon returns (natural log).
-- NULL is a category of its own (it is a cell value). Against an empty side nothing matches: ln 2.
with shares as (
    select unit, real_n, synth_n, real_share as p, synth_share as q
    from synthor_gaps($real, $synth)
),
terms as (
    select
        unit,
        real_n,
        synth_n,
        case when p > 0 then p * ln(2 * p / (p + q)) else 0 end
            + case when q > 0 then q * ln(2 * q / (p + q)) else 0 end as term
    from shares
),
divergences as (
    select
        unit,
        case
            when sum(real_n) = 0 or sum(synth_n) = 0 then ln(2)
            else least(greatest(0.5 * sum(term), 0), ln(2))
        end as js_divergence
    from terms
    group by unit
)
select unit, js_divergence, sqrt(js_divergence) as js_distance
from divergences
order by unit;
