-- Customers: the business record a customer reads and saves under their own JWT (the save
-- functions check the order is theirs), and the link to their Auth user once they sign in.

-- name: customers_get_own
select c.id, c.email, c.business_name, c.street_address, c.city, c.region, c.postal_code,
       c.country, c.phone, c.website, c.public_email, c.category, c.hours, c.attributes,
       c.logo_url, c.tagline, c.description, c.social_links, c.updated_at
  from customers c
 where c.user_id = %(user_id)s;

-- name: customers_save_business
select customers_save_business(order_id => %(order_id)s, business => %(business)s::jsonb,
                               remove_logo => %(remove_logo)s) as result;

-- name: customers_save_logo
select customers_save_logo(order_id => %(order_id)s, content => %(content)s,
                           content_type => %(content_type)s, url_base => %(url_base)s) as logo_url;

-- name: customers_mark_action_done
-- "I've done it" on the customer's job page, under their JWT (the function checks the job is
-- theirs): a needs_action directory goes to staff to check.
select d.directory_id, d.status
  from customers_mark_action_done(job_id => %(job_id)s, directory_id => %(directory_id)s) d;

-- name: customers_link_user
-- Service role (webhook/notifier.py), when the payment email's sign-in link made the user.
select (public.customers_link_user(customer_id => %(customer_id)s, user_id => %(user_id)s)).user_id;

-- name: customers_hold_logo
-- An accepted upload, stored for the customer's order without touching their profile, so a
-- form sent back with an error keeps it; returns its id.
select customers_hold_logo(order_id => %(order_id)s, content => %(content)s,
                           content_type => %(content_type)s) as logo_id;

-- name: customers_use_logo
-- One of the customer's own held logos becomes their profile's logo (DB003 if not theirs).
select customers_use_logo(order_id => %(order_id)s, logo_id => %(logo_id)s,
                          url_base => %(url_base)s) as logo_url;
