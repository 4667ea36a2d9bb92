-- Clock sanity: the edge's boot id and per-boot sequence number (optional in contract v1), and a
-- flag when the edge's wall-clock time is implausible against the server's receive time.
ALTER TABLE meals ADD COLUMN boot_id TEXT;
ALTER TABLE meals ADD COLUMN seq INTEGER;
ALTER TABLE meals ADD COLUMN clock_flag TEXT CHECK (clock_flag IN ('unset', 'ahead', 'late'));
ALTER TABLE duplicate_attempts ADD COLUMN boot_id TEXT;
ALTER TABLE duplicate_attempts ADD COLUMN seq INTEGER;
ALTER TABLE duplicate_attempts ADD COLUMN clock_flag TEXT;
