-- The packages on offer and their dispatch throttle.

-- name: tiers_list
-- Each package's count and how many directories it delivers today from the enabled
-- catalogue (public.tiers_on_offer: never more than exist).
select name, rank, directory_limit, directories_today from public.tiers_on_offer();

-- name: tiers_throttle
select * from tiers_throttle(tier => %(tier)s, max_running => %(max_running)s, actor => %(actor)s);
