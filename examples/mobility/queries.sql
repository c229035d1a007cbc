-- Analyses of the mobility example, run on the real trips and on each synthetic table by
-- `synthor eval --queries examples/mobility/queries.sql`. Zone Zk sits at column (k - 1) % 4 and row
-- (k - 1) // 4 of the 4 x 4 grid, 2 km apart, so a trip's distance is computed from its zone numbers.

-- name: share of all trips that are 20-24 trips to Z12 (the tilted event cell)
select avg((time_bin = '20-24' and dest = 'Z12')::int) from data

-- name: share of 20-24 trips that end at Z12
select avg((dest = 'Z12')::int) from data where time_bin = '20-24'

-- name: share of 06-09 trips to the commercial centre (Z06, Z07, Z10, Z11)
select avg((dest in ('Z06', 'Z07', 'Z10', 'Z11'))::int) from data where time_bin = '06-09'

-- name: share of 18-20 trips to the commercial centre
select avg((dest in ('Z06', 'Z07', 'Z10', 'Z11'))::int) from data where time_bin = '18-20'

-- name: walking share of 2 km trips (neighbouring zones)
with zones as (
    select mode, substr(origin, 2)::int - 1 as o, substr(dest, 2)::int - 1 as d from data
)
select avg((mode = 'walk')::int) from zones where abs(o % 4 - d % 4) + abs(o // 4 - d // 4) = 1

-- name: car share of trips of 6 km or more
with zones as (
    select mode, substr(origin, 2)::int - 1 as o, substr(dest, 2)::int - 1 as d from data
)
select avg((mode = 'car')::int) from zones
where 2 * sqrt(power(o % 4 - d % 4, 2) + power(o // 4 - d // 4, 2)) >= 6
