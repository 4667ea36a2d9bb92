/**
 * The review queue wired as edge/src/main.ts wires it, over a migrated edge database: the check-in
 * service, an audit log, the review service, and a door pipeline on a fake camera that feeds it.
 */
import type { Clock } from '../../common/clock.ts';
import { uuidV7Ids } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { Db } from '../../common/sqlite.ts';
import { createAuditLog, type AuditLog } from '../../edge/src/audit/audit-log.ts';
import type { FrameSource } from '../../edge/src/capture/frame-source.ts';
import type { CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { Matcher, packTemplates, type MatcherOptions } from '../../edge/src/recognition/matcher.ts';
import { RecognitionPipeline } from '../../edge/src/recognition/pipeline.ts';
import { createReviewRepository } from '../../edge/src/review/review-repository.ts';
import { createReviewService, type ReviewService } from '../../edge/src/review/review-service.ts';
import type { FaceEngine } from '../../edge/src/vision/face-engine.ts';
import { quietEdgeLogger } from './edge-fixtures.ts';

export interface ReviewParts {
  reviews: ReviewService;
  audit: AuditLog;
}

export function reviewParts(db: Db, clock: Clock, checkIns: CheckInService, elders: { getElder(id: string): { name: string } | undefined }, opts: { logger?: Logger; retentionMs?: number; audit?: AuditLog } = {}): ReviewParts {
  const audit = opts.audit ?? createAuditLog({ db, clock, ids: uuidV7Ids });
  const reviews = createReviewService({
    db,
    reviews: createReviewRepository(db),
    elders: elders as never,
    checkIns,
    audit,
    clock,
    ids: uuidV7Ids,
    logger: opts.logger ?? quietEdgeLogger,
    ...(opts.retentionMs !== undefined ? { retentionMs: opts.retentionMs } : {}),
  });
  return { reviews, audit };
}

/** A door pipeline with `templates` (elder id → descriptor) that records through `checkIns` and keeps faces in `reviews`. */
export function reviewPipeline(
  source: FrameSource,
  engine: FaceEngine,
  templates: Array<{ elderId: string; descriptor: Float32Array }>,
  checkIns: CheckInService,
  reviews: ReviewService,
  opts: { logger?: Logger; matcher?: Partial<MatcherOptions> } = {},
): RecognitionPipeline {
  return new RecognitionPipeline({
    source,
    engine,
    matcher: new Matcher(packTemplates(templates), opts.matcher ?? {}),
    recorder: checkIns,
    review: reviews,
    logger: opts.logger ?? quietEdgeLogger,
    options: { cameraId: source.id, retryDelayMs: 0, voter: { strongDistance: 0 } },
  });
}
