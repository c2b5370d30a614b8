-- Logos uploaded with the Business Info Form.

-- name: customer_logos_get
-- Service role: a logo by its id (the capability in its URL), fetched by workers that are not
-- signed in; the extension must match its type.
select content_type, content, sha256
  from customer_logos
 where id = %(logo_id)s and content_type = %(content_type)s;
