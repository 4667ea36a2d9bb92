-- A face meal a staff member assigned from a box's review queue (issue 13, item 3) names them:
-- contract v1 MealEvent.reviewedBy, optional. A staff id, not biometric data (the face crop they
-- looked at never leaves the box). Kept wherever the event's content is kept, so an eventId sent
-- again is compared on it too (meal-repository.ts sameEvent).
ALTER TABLE meals ADD COLUMN reviewed_by TEXT;
ALTER TABLE duplicate_attempts ADD COLUMN reviewed_by TEXT;
ALTER TABLE event_reviews ADD COLUMN reviewed_by TEXT;
ALTER TABLE voided_meals ADD COLUMN reviewed_by TEXT;
