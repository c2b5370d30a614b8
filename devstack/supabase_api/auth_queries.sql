-- The Auth stand-in's reads and writes, on GoTrue's own tables (devstack/supabase_bootstrap.sql).
-- Passwords are hashed and checked here with pgcrypto's bcrypt (cost 10, GoTrue's format), so
-- a plain-text password only ever travels as a bound parameter and is never stored.

-- users ------------------------------------------------------------------------------------

-- name: users_get_by_id
select * from auth.users where id = %(id)s;

-- name: users_get_by_id_for_update
select * from auth.users where id = %(id)s for update;

-- name: users_get_by_email
-- As GoTrue's FindUserByEmailAndAudience: SSO users are another namespace.
select * from auth.users
 where lower(email) = lower(%(email)s) and aud = %(aud)s and is_sso_user = false
 for update;

-- name: users_insert
-- `on conflict do nothing`: a concurrent sign-up for the same address wins; the caller reads
-- the row it created instead.
insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, invited_at,
  raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at,
  is_sso_user, is_anonymous
) values (
  '00000000-0000-0000-0000-000000000000', %(id)s, %(aud)s, %(role)s, %(email)s,
  case when %(password)s::text is null then ''
       else extensions.crypt(%(password)s::text, extensions.gen_salt('bf', 10)) end,
  case when %(confirmed)s then now() end,
  case when %(invited)s then now() end,
  %(app_metadata)s::jsonb, %(user_metadata)s::jsonb, false, now(), now(), false, false
)
on conflict do nothing
returning *;

-- name: users_update
-- One statement for every user change: a null parameter leaves its column alone.
update auth.users set
  email = coalesce(%(email)s::text, email),
  role = coalesce(%(role)s::text, role),
  raw_app_meta_data = coalesce(%(app_metadata)s::jsonb, raw_app_meta_data),
  raw_user_meta_data = coalesce(%(user_metadata)s::jsonb, raw_user_meta_data),
  encrypted_password = case when %(password)s::text is null then encrypted_password
                            else extensions.crypt(%(password)s::text, extensions.gen_salt('bf', 10)) end,
  banned_until = case when %(set_banned_until)s then %(banned_until)s::timestamptz
                      else banned_until end,
  updated_at = now()
where id = %(id)s
returning *;

-- name: users_password_matches
select coalesce(encrypted_password, '') <> ''
       and encrypted_password = extensions.crypt(%(password)s::text, encrypted_password) as matches
  from auth.users where id = %(id)s;

-- name: users_confirm_email
-- GoTrue's User.Confirm: confirmed now, the confirmation token spent, email_verified recorded.
update auth.users set
  email_confirmed_at = coalesce(email_confirmed_at, now()),
  confirmation_token = '',
  raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{"email_verified": true}',
  updated_at = now()
where id = %(id)s
returning *;

-- name: users_clear_recovery_token
update auth.users set recovery_token = '', updated_at = now() where id = %(id)s returning *;

-- name: users_set_confirmation_token
update auth.users set confirmation_token = %(token_hash)s, confirmation_sent_at = now(),
                      invited_at = case when %(invited)s then now() else invited_at end
 where id = %(id)s
returning *;

-- name: users_set_recovery_token
update auth.users set recovery_token = %(token_hash)s, recovery_sent_at = now()
 where id = %(id)s
returning *;

-- name: users_signed_in
update auth.users set last_sign_in_at = now(), updated_at = now() where id = %(id)s returning *;

-- name: users_count
select count(*) as total from auth.users where aud = %(aud)s and deleted_at is null;

-- name: users_page
-- GoTrue lists newest first.
select * from auth.users
 where aud = %(aud)s and deleted_at is null
 order by created_at desc, id
 limit %(limit)s offset %(offset)s;

-- name: users_delete
delete from auth.users where id = %(id)s returning id;

-- name: users_soft_delete
-- The row stays (deleted_at says when); the address is freed and every way back in is cut.
update auth.users set
  deleted_at = now(), email = null, phone = null, encrypted_password = '',
  confirmation_token = '', recovery_token = '', updated_at = now()
where id = %(id)s
returning id;

-- identities -------------------------------------------------------------------------------

-- name: identities_insert_email
insert into auth.identities (
  provider_id, user_id, identity_data, provider, created_at, updated_at
) values (
  %(user_id)s::text, %(user_id)s::uuid,
  jsonb_build_object('sub', %(user_id)s::text, 'email', %(email)s::text,
                     'email_verified', %(verified)s::boolean, 'phone_verified', false),
  'email', now(), now()
)
on conflict (provider_id, provider) do nothing;

-- name: identities_for_user
select * from auth.identities where user_id = %(user_id)s order by created_at, id;

-- name: identities_email_verified
update auth.identities set identity_data = identity_data || '{"email_verified": true}',
                           updated_at = now()
 where user_id = %(user_id)s and provider = 'email';

-- name: identities_delete_for_user
delete from auth.identities where user_id = %(user_id)s;

-- sessions, amr claims and refresh tokens --------------------------------------------------

-- name: sessions_insert
insert into auth.sessions (id, user_id, created_at, updated_at, aal, refreshed_at, user_agent, ip)
values (gen_random_uuid(), %(user_id)s, now(), now(), 'aal1', now()::timestamp,
        %(user_agent)s, %(ip)s::inet)
returning *;

-- name: sessions_get
select * from auth.sessions where id = %(id)s;

-- name: sessions_get_for_update
select * from auth.sessions where id = %(id)s for update;

-- name: sessions_touch
update auth.sessions set refreshed_at = now()::timestamp, updated_at = now(),
                         user_agent = %(user_agent)s, ip = %(ip)s::inet
 where id = %(id)s;

-- name: sessions_delete
-- Refresh tokens and amr claims go with the session (on delete cascade), as in GoTrue.
delete from auth.sessions where id = %(id)s;

-- name: sessions_delete_for_user
delete from auth.sessions where user_id = %(user_id)s;

-- name: sessions_delete_others
delete from auth.sessions where user_id = %(user_id)s and id <> %(keep)s;

-- name: amr_claims_add
insert into auth.mfa_amr_claims (session_id, created_at, updated_at, authentication_method, id)
values (%(session_id)s, now(), now(), %(method)s, gen_random_uuid())
on conflict (session_id, authentication_method) do update set updated_at = now();

-- name: amr_claims_for_session
select authentication_method as method, extract(epoch from updated_at)::bigint as timestamp
  from auth.mfa_amr_claims where session_id = %(session_id)s order by updated_at;

-- name: refresh_tokens_insert
insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at,
                                 parent, session_id)
values ('00000000-0000-0000-0000-000000000000', %(token)s, %(user_id)s::text, false, now(),
        now(), %(parent)s, %(session_id)s)
returning *;

-- name: refresh_tokens_get_for_update
select * from auth.refresh_tokens where token = %(token)s for update;

-- name: refresh_tokens_active_for_session
select * from auth.refresh_tokens
 where session_id = %(session_id)s and revoked = false
 order by id desc limit 1;

-- name: refresh_tokens_revoke
update auth.refresh_tokens set revoked = true, updated_at = now() where id = %(id)s;

-- name: refresh_tokens_revoke_session
-- GoTrue's RevokeTokenFamily: every token the session ever had is dead.
update auth.refresh_tokens set revoked = true, updated_at = now()
 where session_id = %(session_id)s and revoked = false;

-- one-time tokens (email links and codes) --------------------------------------------------

-- name: one_time_tokens_replace
-- One live token per user and kind, as GoTrue's unique (user_id, token_type) demands: a new
-- link or code replaces the previous one.
insert into auth.one_time_tokens (id, user_id, token_type, token_hash, relates_to,
                                  created_at, updated_at)
values (gen_random_uuid(), %(user_id)s, %(token_type)s::auth.one_time_token_type,
        %(token_hash)s, %(relates_to)s, now(), now())
on conflict (user_id, token_type) do update
   set id = excluded.id, token_hash = excluded.token_hash, relates_to = excluded.relates_to,
       created_at = excluded.created_at, updated_at = excluded.updated_at;

-- name: one_time_tokens_find_by_hash
-- A link's token: the stored hash exactly (a PKCE link carries its `pkce_` prefix).
select t.user_id, t.token_type::text as token_type,
       case t.token_type when 'recovery_token' then u.recovery_sent_at
                         else u.confirmation_sent_at end as sent_at
  from auth.one_time_tokens t join auth.users u on u.id = t.user_id
 where t.token_hash = %(token_hash)s and t.token_type::text = any(%(token_types)s::text[])
 order by t.created_at desc
 limit 1;

-- name: one_time_tokens_find_for_user
-- A typed code: hash(email + code), with or without the `pkce_` prefix the link carries.
select t.token_type::text as token_type,
       case t.token_type when 'recovery_token' then u.recovery_sent_at
                         else u.confirmation_sent_at end as sent_at
  from auth.one_time_tokens t join auth.users u on u.id = t.user_id
 where t.user_id = %(user_id)s
   and t.token_hash in (%(token_hash)s, 'pkce_' || %(token_hash)s)
   and t.token_type::text = any(%(token_types)s::text[])
 order by array_position(%(token_types)s::text[], t.token_type::text)
 limit 1;

-- name: one_time_tokens_clear_for_user
delete from auth.one_time_tokens where user_id = %(user_id)s;

-- PKCE flow state --------------------------------------------------------------------------

-- name: flow_state_insert
insert into auth.flow_state (id, user_id, auth_code, code_challenge_method, code_challenge,
                             provider_type, created_at, updated_at, authentication_method)
values (gen_random_uuid(), %(user_id)s, gen_random_uuid()::text,
        %(code_challenge_method)s::auth.code_challenge_method, %(code_challenge)s,
        %(provider_type)s, now(), now(), %(authentication_method)s);

-- name: flow_state_issue_code
-- The newest flow the user started for this method gets its auth code issued now.
update auth.flow_state set auth_code_issued_at = now(), updated_at = now()
 where id = (select id from auth.flow_state
              where user_id = %(user_id)s and authentication_method = %(authentication_method)s
              order by created_at desc limit 1)
returning auth_code;

-- name: flow_state_by_auth_code
select *, coalesce(auth_code_issued_at, created_at)
            < now() - make_interval(secs => %(ttl_seconds)s) as expired
  from auth.flow_state where auth_code = %(auth_code)s
 for update;

-- name: flow_state_delete
delete from auth.flow_state where id = %(id)s;
