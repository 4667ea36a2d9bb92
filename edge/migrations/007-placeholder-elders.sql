-- PLACEHOLDER, to be deleted when the elders branch (issue 12, items 2-3) is merged: edge
-- migration 007 is theirs. It only keeps the numbers contiguous for 008-staff-meals.sql meanwhile;
-- the migration runner refuses two files with one number, so a merge that keeps both fails loudly.
SELECT 1;
