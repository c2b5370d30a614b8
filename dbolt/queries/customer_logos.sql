-- Logos uploaded with the Business Info Form.

-- name: customer_logos_get
-- Service role: a logo by its id (the capability in its URL), fetched by workers that are not
-- signed in; the extension must match its type.
select content_type, content, sha256
  from customer_logos
 where id = %(logo_id)s and content_type = %(content_type)s;

-- name: customer_logos_get_own
-- Under the customer's JWT: one of their own logos (RLS hides everyone else's), to show a logo
-- held from an earlier try of the form.
select id, content_type
  from customer_logos
 where id = %(logo_id)s and customer_id = (select private.current_customer_id());
