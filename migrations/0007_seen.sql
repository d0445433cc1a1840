-- What last_seen_run means, now that a sync writes only changed rows.
--
-- A sync rewrites a row only when its raw JSON changed or it comes back from a
-- soft delete, so last_seen_run is "the last run that wrote this row". A live
-- row was present in every later complete listing of its collection: those
-- runs are the tenant's sync_runs whose resources record the collection as
-- complete. Rewriting every unchanged row on each sync, only to move this
-- number, doubled the write load of a 100,000-user tenant's sync.
COMMENT ON COLUMN users.last_seen_run IS 'last sync run that wrote the row (new, changed or undeleted); live rows were also present in every later complete listing';
COMMENT ON COLUMN group_members.last_seen_run IS 'last sync run that wrote the row; see users.last_seen_run';
