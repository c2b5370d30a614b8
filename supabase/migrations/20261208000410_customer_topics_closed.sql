-- Nothing subscribes to 'customer:<uid>' any more: since 20261208000400 the database only
-- broadcasts on 'staff', 'jobs' and 'job:<id>', and the portal's one Realtime socket reads
-- 'staff' for customers and re-reads their job under their JWT. The read policy from
-- 20261129001500 still let a customer join their own customer topic: an open door with
-- nothing behind it. The same policy, without that clause.
drop policy "signed-in users receive only the topics meant for them" on realtime.messages;
create policy "signed-in users receive only the topics meant for them"
  on realtime.messages for select to authenticated
  using (
    realtime.messages.extension = 'broadcast'
    and (
      -- workers and staff: queue wake-ups and per-job control
      (((select realtime.topic()) = 'jobs' or (select realtime.topic()) like 'job:%')
        and ((select private.is_worker()) or (select private.is_staff())))
      -- staff: the dashboard feed
      or ((select realtime.topic()) = 'staff' and (select private.is_staff()))
    )
  );
