-- The packages on offer and their dispatch throttle.

-- name: tiers_list
select name, rank, directory_limit from tiers order by rank;

-- name: tiers_throttle
select * from tiers_throttle(tier => %(tier)s, max_running => %(max_running)s, actor => %(actor)s);
