-- The customer portal's reads and writes (portal/routers/{public,onboarding,business,account}).
-- Everything a customer sees runs under their JWT (PortalDatabase.as_viewer), so RLS decides;
-- the pc_service_* blocks are the only ones run as the service role, for what no signed-in
-- user can do (a checkout session's order before sign-in, a logo fetched by a worker).

-- name: pc_tiers
select name, rank, directory_limit from tiers order by rank;

-- name: pc_categories
select slug, label from business_categories order by position, label;

-- name: pc_order
-- The viewer's own order (RLS: another customer's order is simply not there; staff, whom RLS
-- lets read every order, are held to their own here too — these are the customer's pages).
select o.id, o.tier, o.status, o.paid_at, o.created_at, t.directory_limit,
       j.id as job_id, j.status as job_status
  from orders o
  join customers c on c.id = o.customer_id
  join tiers t on t.name = o.tier
  left join jobs j on j.order_id = o.id
 where o.id = %(order_id)s and c.user_id = %(user_id)s;

-- name: pc_customer_business
select c.id, c.email, c.business_name, c.street_address, c.city, c.region, c.postal_code,
       c.country, c.phone, c.website, c.category, c.hours, c.logo_url, c.tagline,
       c.description, c.social_links, c.updated_at
  from customers c
 where c.user_id = %(user_id)s;

-- name: pc_save_business
select customers_save_business(order_id => %(order_id)s, business => %(business)s::jsonb,
                               remove_logo => %(remove_logo)s) as result;

-- name: pc_save_logo
select customers_save_logo(order_id => %(order_id)s, content => %(content)s,
                           content_type => %(content_type)s, url_base => %(url_base)s) as logo_url;

-- name: pc_account_orders
select o.id, o.tier, o.status, o.amount_total, o.currency, o.paid_at, o.created_at,
       t.directory_limit,
       j.id as job_id, j.status as job_status, j.created_at as job_created_at,
       j.completed_at as job_completed_at,
       (select count(*) from job_directories d where d.job_id = j.id) as directories,
       (select count(*) from job_directories d
         where d.job_id = j.id and d.status not in ('queued', 'in_progress')) as directories_done
  from orders o
  join customers c on c.id = o.customer_id
  join tiers t on t.name = o.tier
  left join jobs j on j.order_id = o.id
 where c.user_id = %(user_id)s
 order by o.created_at desc, o.id;

-- name: pc_service_onboarding_status
select order_id, status, linked, signed_in_at, created_at
  from orders_onboarding_status(checkout_session_id => %(session_id)s);

-- name: pc_service_claim_onboarding
select order_id, user_id, email
  from orders_claim_onboarding_sign_in(checkout_session_id => %(session_id)s,
                                       window_seconds => %(window_seconds)s);

-- name: pc_service_logo
-- A logo by its id (the capability in its URL); the extension must match its type.
select content_type, content, sha256
  from customer_logos
 where id = %(logo_id)s and content_type = %(content_type)s;
