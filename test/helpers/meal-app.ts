/**
 * An edge HTTP app with the staff feature and the meals feature (meals by hand, voids, today) on
 * a migrated edge database, wired as edge/src/main.ts wires them, for route, browser and
 * screenshot runs: default meal windows, Asia/Shanghai.
 */
import type { EdgeWebPlugin } from '../../edge/src/web/status-server.ts';
import type { Clock } from '../../common/clock.ts';
import { uuidV7Ids } from '../../common/clock.ts';
import { DEFAULT_MEAL_WINDOWS, parseMealWindows } from '../../common/meal-windows.ts';
import type { Db } from '../../common/sqlite.ts';
import { createAuditLog } from '../../edge/src/audit/audit-log.ts';
import type { ElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { createCheckInRepository } from '../../edge/src/meals/check-in-repository.ts';
import type { CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { createStaffMealService } from '../../edge/src/meals/staff-meal-service.ts';
import { createTodayService } from '../../edge/src/meals/today-service.ts';
import type { StaffService } from '../../edge/src/staff/staff-service.ts';
import type { OutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { mealWebPlugin } from '../../edge/src/web/meal-routes.ts';
import type { StatusServer } from '../../edge/src/web/status-server.ts';
import { testCheckInService } from './edge-fixtures.ts';
import { staffTestApp } from './staff-session.ts';

export interface MealTestApp {
  server: StatusServer;
  staff: StaffService;
  checkIns: CheckInService;
  elders: ElderRepository;
  outbox: OutboxRepository;
}

/** `plugins`: other features' routes, registered after the meals'. */
export function mealTestApp(db: Db, clock: Clock, plugins: EdgeWebPlugin[] = []): MealTestApp {
  const { service, elders, outbox } = testCheckInService(db, clock);
  const audit = createAuditLog({ db, clock, ids: uuidV7Ids });
  const meals = createStaffMealService({ db, checkIns: service, audit });
  // The staff service is made by staffTestApp, after the today service that names staff by it.
  const accounts: { staff?: StaffService } = {};
  const today = createTodayService({ checkIns: createCheckInRepository(db), elders, windows: parseMealWindows(DEFAULT_MEAL_WINDOWS), timeZone: 'Asia/Shanghai', clock, staffName: (id) => accounts.staff?.get(id)?.name });
  const { server, staff } = staffTestApp(db, clock, { plugins: [mealWebPlugin({ meals, today, elders, timeZone: 'Asia/Shanghai' }), ...plugins] });
  accounts.staff = staff;
  return { server, staff, checkIns: service, elders, outbox };
}
