-- Why: a verification mail that arrives while its directory is parking was lost. The park
-- (jobs_report_attempt) writes the waiting row and then looks for mail already received
-- (private.inbound_emails_match_parked); the receiver (inbound_emails_receive) stores the
-- mail and then looks for a waiting directory. Each reads only what the other has
-- committed, so when both run at once neither sees the other: the mail stays unmatched and
-- the directory waits for its deadline and a second sign-up.
--
-- Both paths take this lock, per customer mailbox, for the rest of their transaction, before
-- they look at the other side: whichever comes second waits for the first to commit, and
-- its next statement (read committed: a fresh snapshot) sees the first one's row. The park
-- takes it before it locks the job (20261206000910), and the receiver must take it before
-- it locks any directory or job, so the order everywhere is mailbox → job → directory.
create function private.lock_mailbox(customer_id uuid) returns void
language sql set search_path = ''
as $$
  select pg_advisory_xact_lock(hashtext('mailbox:' || $1::text))
$$;
revoke execute on function private.lock_mailbox(uuid) from public, anon, authenticated;
