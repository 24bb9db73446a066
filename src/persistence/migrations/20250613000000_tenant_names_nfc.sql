-- Names are looked up in NFC (20250612000000), but one stored before the input schema normalised them (José typed as
-- e + U+0301) stayed as typed: no command could name that tenant again, and adding it again made a second one beside
-- it. A name whose NFC form another tenant already holds (ignoring case) fails here, naming both, as there.
-- remedy: rename one of them: crm-sync tenant rename NAME NEW-NAME
UPDATE tenants SET name = normalize(name, NFC) WHERE name IS NOT NFC NORMALIZED;
