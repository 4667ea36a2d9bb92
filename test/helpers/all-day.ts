/**
 * Whole-day meal windows for tests whose edges record at the real time, so a test runs at any
 * hour. The server must have them for the centre too (allDayCentre in server-fixtures.ts, or
 * `mealcheck centre set`), or it keeps those meals for review as outside its windows.
 */
export const ALL_DAY_WINDOWS = 'breakfast=00:00-08:00,lunch=08:00-16:00,dinner=16:00-24:00';
