-- A contact's instants (lastOpenedAt, lastClickedAt, nurtureSequence.enrolledAt) are now kept as isoInstantSchema
-- writes them: UTC to the millisecond, in years 0001 to 9999. An edit used to store them as written, so one
-- instant had several spellings (a contact written again unchanged took a new change number), and a zone could
-- put one outside those years (0001-01-01T00:00:00+14:00 is 1 BC in UTC), which would no longer read: the contact,
-- its links and any push of it would fail each time. Every document holding a contact is rewritten so; an instant
-- outside the years moves to the nearer end of them.
CREATE FUNCTION crm_sync_instant_in_utc(instant text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT to_jsonb(to_char(
    greatest(timestamptz '0001-01-01 00:00:00+00', least(timestamptz '9999-12-31 23:59:59.999+00', instant::timestamptz))
      AT TIME ZONE 'UTC',
    'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
$$;

CREATE FUNCTION crm_sync_contact_instants_in_utc(doc jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN jsonb_typeof(doc) IS DISTINCT FROM 'object' THEN doc ELSE
    doc
    || (SELECT coalesce(jsonb_object_agg(e.key, crm_sync_instant_in_utc(e.value #>> '{}')), '{}'::jsonb)
        FROM jsonb_each(doc) e
        WHERE e.key IN ('lastOpenedAt', 'lastClickedAt') AND jsonb_typeof(e.value) = 'string')
    || CASE WHEN jsonb_typeof(doc #> '{nurtureSequence,enrolledAt}') = 'string'
         THEN jsonb_build_object('nurtureSequence', (doc -> 'nurtureSequence')
           || jsonb_build_object('enrolledAt', crm_sync_instant_in_utc(doc #>> '{nurtureSequence,enrolledAt}')))
         ELSE '{}'::jsonb END
  END
$$;

UPDATE contacts SET data = crm_sync_contact_instants_in_utc(data)
WHERE data IS DISTINCT FROM crm_sync_contact_instants_in_utc(data);
UPDATE links SET base = crm_sync_contact_instants_in_utc(base)
WHERE base IS DISTINCT FROM crm_sync_contact_instants_in_utc(base);
UPDATE gone_links SET base = crm_sync_contact_instants_in_utc(base)
WHERE base IS DISTINCT FROM crm_sync_contact_instants_in_utc(base);
UPDATE cycle_staging SET contact = crm_sync_contact_instants_in_utc(contact)
WHERE contact IS DISTINCT FROM crm_sync_contact_instants_in_utc(contact);
-- A planned create holds the whole contact; a planned update, the fields it changes.
UPDATE push_ledger SET payload = payload
  || jsonb_build_object('contact', crm_sync_contact_instants_in_utc(payload -> 'contact'))
WHERE jsonb_typeof(payload -> 'contact') = 'object'
  AND payload -> 'contact' IS DISTINCT FROM crm_sync_contact_instants_in_utc(payload -> 'contact');
UPDATE push_ledger SET payload = payload
  || jsonb_build_object('patch', crm_sync_contact_instants_in_utc(payload -> 'patch'))
WHERE jsonb_typeof(payload -> 'patch') = 'object'
  AND payload -> 'patch' IS DISTINCT FROM crm_sync_contact_instants_in_utc(payload -> 'patch');

DROP FUNCTION crm_sync_contact_instants_in_utc(jsonb);
DROP FUNCTION crm_sync_instant_in_utc(text);
