-- Device registry: one MQTT credential per edge box. Only a scrypt hash of the password is kept;
-- the password itself is printed once by `mealcheck device add` and never stored.
CREATE TABLE device_credentials (
  centre_id     TEXT NOT NULL,
  device_id     TEXT NOT NULL,
  username      TEXT NOT NULL UNIQUE,      -- "<centreId>/<deviceId>"
  password_hash TEXT NOT NULL,             -- scrypt$N$r$p$salt$hash (base64), for the embedded broker
  mosquitto_hash TEXT NOT NULL,            -- $7$ PBKDF2-SHA512, Mosquitto's password-file format (broker-config)
  created_at    TEXT NOT NULL,
  PRIMARY KEY (centre_id, device_id)
) STRICT;
