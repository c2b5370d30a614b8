-- Why: customers.public_email is published by directories and printed in our emails and on
-- staff pages, and 20261205000400 only asked for "something@something.something" without
-- whitespace: quotes, commas, angle brackets ('"Support" <x@evil.example>'), control
-- characters and bidi overrides (U+202E, which makes an address read backwards) all passed.
-- It is now a plain address: an ordinary mailbox of ASCII letters, digits and . _ % + -, and a
-- host name of letter/digit labels (an international domain in its xn-- form), at most 254
-- characters. The same pattern as dbolt/typed_values.py EMAIL_PATTERN, which refuses it on
-- the form first, naming the field; the constraint keeps its name, so the form's mapping
-- (portal/business_form.py CONSTRAINT_FIELDS) still lands a refusal next to the field.
--
-- Added NOT VALID then validated, so the check of existing rows does not hold a write lock
-- on customers for the whole scan. A stored address that is not plain fails the deploy here
-- on purpose: it is the customer's to correct, not ours to rewrite silently.

alter table public.customers
  drop constraint customers_public_email_is_an_address;
alter table public.customers
  add constraint customers_public_email_is_an_address
    check (
      public_email ~ '^[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$'
      and char_length(public_email) <= 254
    ) not valid;
alter table public.customers validate constraint customers_public_email_is_an_address;
