-- Why: a directory sends its verification email the moment the account is created, often
-- before the worker has reported that it waits for it. The inbound-mail matcher
-- (20261206000300) only matches directories already waiting, so such a mail was stored
-- unmatched and the directory waited for its deadline and a second sign-up.
--
-- When a directory parks for email (jobs_report_attempt, 20261206000200), this finds the
-- customer's unmatched mail that fits the directory (private.mail_fits_directory: the
-- recipe's sender and subject, or the homepage's domain) and arrived since this attempt
-- started the directory (its last directory.started audit row): older mail belongs to an
-- earlier sign-up. The earliest such mail is matched to the directory here, as the matcher
-- would have, and the parked directory is due at once.

create or replace function private.inbound_emails_match_parked(job_id uuid, directory_id text)
returns bigint
language plpgsql security definer set search_path = ''
as $$
declare
  v_since timestamptz;
  v_mail public.inbound_emails;
begin
  select max(a.at) into v_since from public.audit_log a
   where a.job_id = inbound_emails_match_parked.job_id
     and a.directory_id = inbound_emails_match_parked.directory_id
     and a.action = 'directory.started';
  select e.* into v_mail
    from public.inbound_emails e
    join public.jobs j on j.id = inbound_emails_match_parked.job_id
    join public.directories d on d.id = inbound_emails_match_parked.directory_id
   where e.customer_id = j.customer_id
     and e.job_id is null
     and e.received_at >= coalesce(v_since, j.created_at)
     and private.mail_fits_directory(e.sender, e.subject, d.recipe, d.homepage)
   order by e.received_at, e.id
   limit 1
   for update of e skip locked;
  if not found then
    return null;
  end if;
  update public.inbound_emails e
     set job_id = inbound_emails_match_parked.job_id,
         directory_id = inbound_emails_match_parked.directory_id, matched_at = now()
   where e.id = v_mail.id;
  perform private.audit('mail:' || v_mail.id, 'directory.mail_arrived',
    inbound_emails_match_parked.job_id, inbound_emails_match_parked.directory_id, null, null,
    jsonb_build_object('mail_id', v_mail.id, 'before_the_wait', true));
  return v_mail.id;
end;
$$;
revoke execute on function private.inbound_emails_match_parked(uuid, text)
  from public, anon, authenticated;
