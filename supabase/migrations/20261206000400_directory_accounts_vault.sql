-- Why: directories that need an account (sign-up, e-mail verification, login before the
-- submission) get one opened by us, with the customer's campaign mailbox as login and a
-- generated password. The customer owns those accounts: they are handed over (revealed in the
-- portal on request) and reused on every reorder, so there is one per customer per directory.
--
-- The password is stored sealed (AES-256-GCM, dbolt/vault.py): the key is in the
-- environment (VAULT_KEYS), never in the database, and `key_id` says which key of the ring
-- sealed it, so keys can rotate. Even sealed, it is readable only by the service role (the
-- orchestrator that hands it to a worker, and the portal that reveals it after checking who
-- asks): column grants keep `password_sealed` and `key_id` from customers and staff alike.
-- Every hand-over and every reveal writes an audit_log row; no secret goes into its details.

create table public.directory_accounts (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.customers (id),
  directory_id text not null references public.directories (id),
  login text not null check (btrim(login) <> '' and length(login) <= 320),
  key_id text not null check (key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  -- nonce (12 bytes) || ciphertext || tag (16 bytes)
  password_sealed bytea not null check (length(password_sealed) between 29 and 1024),
  site_url text not null check (site_url ~* '^https?://[^[:space:]/]+' and length(site_url) <= 2048),
  opened_by_job uuid not null references public.jobs (id),
  created_at timestamptz not null default now(),
  last_revealed_at timestamptz,
  -- One account per customer per directory, reused on reorders.
  constraint directory_accounts_one_per_customer_and_directory unique (customer_id, directory_id)
);
comment on table public.directory_accounts is
  'Accounts we opened on directories for a customer (login = their campaign mailbox), one per customer per directory and reused on reorders; the password is sealed with the vault key named by key_id and readable by the service role only.';
comment on column public.directory_accounts.password_sealed is
  'AES-256-GCM (nonce || ciphertext || tag) bound to "directory_account:<customer_id>:<directory_id>": never granted to authenticated or staff.';
create index directory_accounts_job_idx on public.directory_accounts (opened_by_job);

alter table public.directory_accounts enable row level security;
-- Not the sealed password nor its key id: what the job page and the report print.
grant select (id, customer_id, directory_id, login, site_url, opened_by_job, created_at,
              last_revealed_at)
  on public.directory_accounts to authenticated, dbolt_staff;
create policy "customers can read their own directory accounts"
  on public.directory_accounts for select to authenticated
  using (customer_id = (select private.current_customer_id()));
create policy "staff can read every directory account"
  on public.directory_accounts for select to dbolt_staff
  using ((select private.is_staff()));

-- The worker, under the job's lease, asks for the customer's account on the directory it is
-- working on: the existing one (created = false: log in with it) or a new one from the login,
-- site and sealed password the orchestrator made (created = true: sign up with it). The
-- orchestrator seals before it knows which; a sealed value that is not stored is dropped.
-- Refused: DB001 lease lost, DB003 directory not in the job, DB002 directory not in progress,
-- DB005 a bad argument (named).
create function public.directory_accounts_open(
  job_id uuid, lease_token uuid, directory_id text, login text, site_url text, key_id text,
  password_sealed bytea
) returns table (
  account_id uuid, customer_id uuid, account_login text, account_site_url text,
  sealed_key_id text, sealed_password bytea, created boolean
)
language plpgsql security definer set search_path = ''
as $$
declare
  v_job public.jobs;
  v_dir public.job_directories;
  v_account public.directory_accounts;
  v_created boolean := false;
begin
  perform private.check_argument(btrim(coalesce(directory_accounts_open.login, '')) <> ''
    and length(directory_accounts_open.login) <= 320, 'login must be a non-empty address');
  perform private.check_argument(coalesce(directory_accounts_open.site_url ~* '^https?://[^[:space:]/]+'
    and length(directory_accounts_open.site_url) <= 2048, false), 'site_url must be an http(s) URL');
  perform private.check_argument(coalesce(directory_accounts_open.key_id ~ '^[A-Za-z0-9_-]{1,32}$', false),
    'key_id must be a vault key id');
  perform private.check_argument(coalesce(length(directory_accounts_open.password_sealed) between 29 and 1024, false),
    'password_sealed must be a sealed value');
  v_job := private.leased_job(directory_accounts_open.job_id, directory_accounts_open.lease_token);
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = directory_accounts_open.directory_id;
  if not found then
    raise exception 'directory % is not part of job %', directory_accounts_open.directory_id, v_job.id
      using errcode = 'DB003';
  end if;
  if v_dir.status <> 'in_progress' then
    raise exception 'directory % of job % is %, not in progress', v_dir.directory_id, v_job.id, v_dir.status
      using errcode = 'DB002';
  end if;

  insert into public.directory_accounts as a
    (customer_id, directory_id, login, key_id, password_sealed, site_url, opened_by_job)
  values (v_job.customer_id, v_dir.directory_id, btrim(directory_accounts_open.login),
          directory_accounts_open.key_id, directory_accounts_open.password_sealed,
          directory_accounts_open.site_url, v_job.id)
  on conflict on constraint directory_accounts_one_per_customer_and_directory do nothing
  returning a.* into v_account;
  v_created := v_account.id is not null;
  if not v_created then
    select a.* into v_account from public.directory_accounts a
     where a.customer_id = v_job.customer_id and a.directory_id = v_dir.directory_id;
  end if;

  perform private.audit('worker:' || v_job.worker_id, 'directory_account.opened', v_job.id,
    v_dir.directory_id, null, null,
    jsonb_build_object('account_id', v_account.id, 'created', v_created));
  return query select v_account.id, v_account.customer_id, v_account.login, v_account.site_url,
    v_account.key_id, v_account.password_sealed, v_created;
end;
$$;
revoke execute on function public.directory_accounts_open(uuid, uuid, text, text, text, text, bytea)
  from public, anon, authenticated;
grant execute on function public.directory_accounts_open(uuid, uuid, text, text, text, text, bytea)
  to service_role;

-- The sealed password of one account, for the portal to open and show: to the customer who
-- owns it (actor 'user:<auth user id>', checked here against the account's customer) or to
-- staff (actor 'staff:<email>', who must say why; the portal checks the staff claim). Every
-- reveal is audited with who and why, and stamps last_revealed_at.
-- Refused: DB005 a bad actor or a staff reveal without a reason, DB003 no such account (or
-- not this user's: the same answer, so ids cannot be probed).
create function public.directory_accounts_reveal(account_id uuid, actor text, reason text default null)
returns table (
  customer_id uuid, directory_id text, login text, site_url text, sealed_key_id text,
  sealed_password bytea
)
language plpgsql security definer set search_path = ''
as $$
declare
  v_account public.directory_accounts;
  v_actor text := btrim(coalesce(directory_accounts_reveal.actor, ''));
  v_reason text := nullif(btrim(coalesce(directory_accounts_reveal.reason, '')), '');
  v_user uuid;
begin
  perform private.check_argument(
    v_actor ~ '^user:[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$' or v_actor ~ '^staff:[^[:space:]]+$',
    'actor must be user:<auth user id> or staff:<email>');
  perform private.check_argument(v_reason is null or length(v_reason) <= 2000,
    'reason must be at most 2000 characters');
  if v_actor like 'staff:%' then
    perform private.check_argument(v_reason is not null,
      'reason is required when staff reveal a customer''s password');
  else
    v_user := substr(v_actor, 6)::uuid;
  end if;

  select a.* into v_account from public.directory_accounts a
   where a.id = directory_accounts_reveal.account_id
     and (v_user is null or a.customer_id in
          (select c.id from public.customers c where c.user_id = v_user))
   for update;
  if not found then
    raise exception 'directory account % not found', directory_accounts_reveal.account_id
      using errcode = 'DB003';
  end if;

  update public.directory_accounts a set last_revealed_at = now() where a.id = v_account.id;
  perform private.audit(v_actor, 'directory_account.revealed', v_account.opened_by_job,
    v_account.directory_id, null, null,
    jsonb_strip_nulls(jsonb_build_object('account_id', v_account.id, 'reason', v_reason)));
  return query select v_account.customer_id, v_account.directory_id, v_account.login,
    v_account.site_url, v_account.key_id, v_account.password_sealed;
end;
$$;
revoke execute on function public.directory_accounts_reveal(uuid, text, text)
  from public, anon, authenticated;
grant execute on function public.directory_accounts_reveal(uuid, text, text) to service_role;
