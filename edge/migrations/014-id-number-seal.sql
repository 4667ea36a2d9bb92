-- ID-card numbers leave the box sealed to the server's key (common/id-number-seal.ts; issue 16,
-- item 2): no MQTT payload carries one in clear. The key comes down in the centre's config
-- document; until it has come, an elder's record goes without the number, and once it comes the
-- registry forwards every elder whose number is not yet sealed to it again (change `sealed`).

-- The key id the elder's ID number was last forwarded sealed to; NULL: not forwarded sealed yet.
ALTER TABLE elders ADD COLUMN id_number_key TEXT;

-- Records written before this migration, still waiting in the outbox, lose their clear number:
-- the elders are forwarded again, sealed, when the key arrives.
UPDATE outbox SET payload = json_remove(payload, '$.idNumber')
  WHERE json_extract(payload, '$.type') = 'elder' AND json_extract(payload, '$.idNumber') IS NOT NULL;
