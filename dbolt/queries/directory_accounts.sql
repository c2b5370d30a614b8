-- The accounts we open on directories for customers (the vault: 20261206000400). The sealed
-- password is read by the service role only (the orchestrator and the portal's reveal);
-- customers' and staff's reads list the other columns.

-- name: directory_accounts_prepare
-- Service role (orchestrator): what a new account on a directory of this job would be — the
-- job's customer (whose id binds the sealed password), their campaign mailbox's local part
-- (the login, with MAILBOX_DOMAIN) and the directory's homepage. No row: the directory is
-- not part of the job. The lease is checked by directory_accounts_open.
select j.customer_id, m.local_part, dir.homepage
  from jobs j
  join job_directories d on d.job_id = j.id
  join directories dir on dir.id = d.directory_id
  join customer_mailboxes m on m.customer_id = j.customer_id
 where j.id = %(job_id)s and d.directory_id = %(directory_id)s;

-- name: directory_accounts_open
-- Service role (orchestrator), under the job's lease: the customer's account on the
-- directory, opened now with these values (created) or the existing one.
select * from directory_accounts_open(
  job_id => %(job_id)s, lease_token => %(lease_token)s, directory_id => %(directory_id)s,
  login => %(login)s, site_url => %(site_url)s, key_id => %(key_id)s,
  password_sealed => %(password_sealed)s
);

-- name: directory_accounts_reveal
-- Service role (portal), only after the portal checked the viewer owns the account or is
-- staff: the sealed password, audited with the actor (and a staff member's reason).
select * from directory_accounts_reveal(
  account_id => %(account_id)s, actor => %(actor)s, reason => %(reason)s
);

-- name: directory_accounts_list_own
-- The customer's job page and report, under their JWT (held to their own accounts as
-- jobs_get_own is): the accounts of this job's customer on the job's directories, whichever
-- job opened them (a reorder reuses them). Never the sealed password.
select a.id, a.directory_id, coalesce(dir.name, a.directory_id) as directory, a.site_url,
       a.login, a.created_at, a.opened_by_job, a.last_revealed_at
  from directory_accounts a
  join jobs j on j.customer_id = a.customer_id
  join job_directories d on d.job_id = j.id and d.directory_id = a.directory_id
  join customers c on c.id = j.customer_id
  left join directories dir on dir.id = a.directory_id
 where j.id = %(job_id)s and c.user_id = %(user_id)s
 order by d.position;

-- name: directory_accounts_list
-- Staff's drill-down, under the staff user's JWT (dbolt_staff): the same accounts for any
-- job. Never the sealed password.
select a.id, a.directory_id, coalesce(dir.name, a.directory_id) as directory, a.site_url,
       a.login, a.created_at, a.opened_by_job, a.last_revealed_at
  from directory_accounts a
  join jobs j on j.customer_id = a.customer_id
  join job_directories d on d.job_id = j.id and d.directory_id = a.directory_id
  left join directories dir on dir.id = a.directory_id
 where j.id = %(job_id)s
 order by d.position;
