-- The LLMSynthor paper's 16 population queries (Appendix A.2), in the paper's six categories, over
-- the populationsim survey seed: tables `households` and `persons`, linked by hhID (see README.md for
-- the codes, and for which definitions follow the paper, which are adapted and which are substitutes).
--
-- Shared definitions, the same in every query:
--   child 0-18: PAge 0-3; working age 19-64: PAge 4-8; adult 19+: PAge >= 4; elderly 65+: PAge 9-10
--   employed: PEmp 1 or 2; commuter: PComm not NULL; by car: PComm = 'auto'; woman: PGender = 2
--   household income (assumed band midpoints): HHIncome 1 -> 25,000, 2 -> 75,000, 3 -> 150,000
--   per-person income: that midpoint / the household's persons (counted in `persons`)
--   age in years (assumed band midpoints): PAge 0 -> 2, 1 -> 7, 2 -> 12.5, 3 -> 17, 4 -> 21.5,
--     5 -> 29.5, 6 -> 39.5, 7 -> 49.5, 8 -> 59.5, 9 -> 74.5, 10 -> 90
-- Shares are over all households (a household without persons counts in the denominator only).

-- view: members
-- Per household: its persons, and how many are children, elderly, adults, employed, commuters.
select
    hhID,
    count(*) as persons,
    count(*) filter (where PAge <= 3) as children,
    count(*) filter (where PAge >= 9) as elderly,
    count(*) filter (where PAge between 4 and 8) as working_age,
    count(*) filter (where PAge >= 4) as adults,
    count(*) filter (where PAge >= 4 and PGender = 2) as adult_women,
    count(*) filter (where PEmp in (1, 2)) as employed,
    count(*) filter (where PAge >= 4 and PEmp in (1, 2)) as employed_adults,
    count(PComm) as commuters,
    count(*) filter (where PComm = 'auto') as car_commuters
from persons
group by hhID;

-- view: hh
-- Every household with its member counts and per-person income (0 members: counts NULL).
select
    h.*,
    m.* exclude (hhID),
    case h.HHIncome when 1 then 25000 when 2 then 75000 when 3 then 150000 end
        / m.persons as income_pp
from households h
left join members m using (hhID);

-- name: median_income_single_woman_households
-- category: Equity
-- Paper: median_income_black_households (median household income of households with a Black member).
-- Substitute: the survey has no race. Gender is the person-level group attribute it has: the median
-- per-person income of households whose only adult (19+) is a woman.
select median(income_pp) from hh where adults = 1 and adult_women = 1;

-- name: prop_multigenerational_low_income
-- category: Equity
-- Paper: prop_multigenerational_racial (multigenerational households with a non-White member).
-- Substitute: no race; the disadvantaged group is the low income band instead. Share of all
-- households with a child (0-18), an elderly member (65+) and HHIncome = 1 (low).
select count(*) filter (where children > 0 and elderly > 0 and HHIncome = 1) / count(*) from hh;

-- name: prop_elderly_poverty
-- category: Vulnerability
-- Paper: prop_elderly_poverty. As the paper: a member aged 65+ and per-person income below 12,500
-- (per-person income from the income band's assumed midpoint, see README).
select count(*) filter (where elderly > 0 and income_pp < 12500) / count(*) from hh;

-- name: prop_female_headed_poverty
-- category: Vulnerability
-- Paper: prop_female_headed_poverty. Adapted: no householder type; "single female-headed" is one
-- adult (19+), a woman. Share of all households that are so and have per-person income below 15,000.
select count(*) filter (where adults = 1 and adult_women = 1 and income_pp < 15000) / count(*) from hh;

-- name: prop_high_dependency_ratio
-- category: Vulnerability
-- Paper: prop_high_dependency_ratio. As the paper, with the survey's bands: children 0-18 plus
-- elderly 65+ outnumber the working-age members (19-64).
select count(*) filter (where children + elderly > working_age) / count(*) from hh;

-- name: prop_high_income_workless
-- category: Employment
-- Paper: prop_high_edu_unemployed (highest education Master's or Doctorate, nobody employed).
-- Substitute: the survey has no education. The high income band stands in for high socio-economic
-- status: HHIncome = 3 and no member employed (PEmp 1 or 2).
select count(*) filter (where HHIncome = 3 and coalesce(employed, 0) = 0) / count(*) from hh;

-- name: prop_dual_earner_couples
-- category: Employment
-- Paper: prop_dual_earner_couples. Adapted: no relationship or householder type; a "couple" is a
-- household with exactly two adults (19+). Share of all households where both are employed.
select count(*) filter (where adults = 2 and employed_adults = 2) / count(*) from hh;

-- name: avg_income_per_person_dual_earner
-- category: Employment
-- Paper: avg_income_per_person_dual_earner. Same households as prop_dual_earner_couples; mean
-- per-person income (band midpoint / persons).
select avg(income_pp) from hh where adults = 2 and employed_adults = 2;

-- name: age_gap_single_vs_multi_dwelling
-- category: Household
-- Paper: age_gap_owners_vs_renters (mean member age, owners minus renters).
-- Substitute: the survey has no tenure; dwelling type is the housing variable it has. Mean age of
-- members (band midpoints) in single-family dwellings (HHDwelling = 1) minus multi-family (2).
with ages as (
    select h.HHDwelling, case PAge
                when 0 then 2 when 1 then 7 when 2 then 12.5 when 3 then 17 when 4 then 21.5
                when 5 then 29.5 when 6 then 39.5 when 7 then 49.5 when 8 then 59.5
                when 9 then 74.5 when 10 then 90
            end as age
    from households h
    join persons p using (hhID)
)
select avg(age) filter (where HHDwelling = 1) - avg(age) filter (where HHDwelling = 2) from ages;

-- name: prop_multigenerational
-- category: Household
-- Paper: prop_multigenerational. As the paper, with the survey's bands: a child (0-18) and an elderly
-- member (65+).
select count(*) filter (where children > 0 and elderly > 0) / count(*) from hh;

-- name: median_avg_age
-- category: Demographics
-- Paper: median_avg_age. As the paper, with ages as band midpoints: the median over households of
-- the mean age of their members.
with household_ages as (
    select hhID, avg(case PAge
            when 0 then 2 when 1 then 7 when 2 then 12.5 when 3 then 17 when 4 then 21.5
            when 5 then 29.5 when 6 then 39.5 when 7 then 49.5 when 8 then 59.5
            when 9 then 74.5 when 10 then 90
        end) as mean_age
    from persons
    semi join households using (hhID)
    group by hhID
)
select median(mean_age) from household_ages;

-- name: prop_families_with_children
-- category: Demographics
-- Paper: prop_families_with_children. As the paper, with the survey's bands: a member aged 0-18.
select count(*) filter (where children > 0) / count(*) from hh;

-- name: prop_no_car_commute_low_income
-- category: Mobility
-- Paper: prop_no_vehicle_low_income. Substitute: the survey has no vehicles; commute mode (PComm)
-- is its mobility variable. "No vehicle" becomes: at least one commuter and none commutes by car.
-- With per-person income below 15,000.
select count(*) filter (where commuters > 0 and car_commuters = 0 and income_pp < 15000) / count(*) from hh;

-- name: prop_child_no_car_commute
-- category: Mobility
-- Paper: prop_child_no_vehicle. Substitute as above: a child (0-18), at least one commuter, none by car.
select count(*) filter (where children > 0 and commuters > 0 and car_commuters = 0) / count(*) from hh;

-- name: prop_elderly_no_car_commute
-- category: Mobility
-- Paper: prop_elderly_no_vehicle. Substitute as above: a member 65+, at least one commuter, none by car.
select count(*) filter (where elderly > 0 and commuters > 0 and car_commuters = 0) / count(*) from hh;

-- name: prop_multi_car_commute_high_income
-- category: Mobility
-- Paper: prop_high_vehicle_high_income (3+ vehicles, per-person income above 50,000).
-- Substitute: two or more members commute by car (three is too rare in this survey to measure),
-- per-person income above 50,000.
select count(*) filter (where car_commuters >= 2 and income_pp > 50000) / count(*) from hh;
