-- PLACEHOLDER, to be deleted when the staff branch (issue 12, items 1, 6, 7) is merged: edge
-- migration 006 is theirs. The migration runner refuses two files with one number.
SELECT 1;
