/** Builds the frame source for each camera of the `--camera` setting. */
import type { Logger } from '../../../common/logger.ts';
import type { MonitoredSource } from './camera-health.ts';
import type { CameraSpec } from './camera-spec.ts';
import { FfmpegFrameSource } from './ffmpeg-source.ts';
import { FolderFrameSource } from './folder-source.ts';
import { RetryingSource } from './retrying-source.ts';
import { SnapshotFrameSource } from './snapshot-source.ts';

export interface CameraSourceOptions {
  fps: number;
  /** Frame size ffmpeg delivers (snapshots and folders keep their own). */
  width: number;
  height: number;
  /** Video files and folders: start again after the end. */
  loop?: boolean;
  /** Folders: pace frames at `fps` (default) or give every frame as fast as pulled. */
  realtime?: boolean;
  ffmpegPath?: string;
  logger?: Logger;
}

export function createCameraSource(spec: CameraSpec, o: CameraSourceOptions): MonitoredSource {
  const logger = o.logger?.child({ component: 'camera' });
  switch (spec.kind) {
    case 'folder':
      // A folder that is missing or empty is a camera that is down, retried, as ffmpeg's are.
      return new RetryingSource(new FolderFrameSource({ dir: spec.source, id: spec.id, fps: o.fps, realtime: o.realtime ?? true, loop: o.loop ?? false }), logger ? { logger } : {});
    case 'snapshot':
      return new SnapshotFrameSource({ spec, fps: o.fps, ...(logger ? { logger } : {}) });
    case 'v4l2':
    case 'stream':
    case 'file':
      return new FfmpegFrameSource({
        spec: { ...spec, kind: spec.kind },
        fps: o.fps,
        width: o.width,
        height: o.height,
        loop: o.loop ?? false,
        ...(o.ffmpegPath ? { ffmpegPath: o.ffmpegPath } : {}),
        ...(logger ? { logger } : {}),
      });
  }
}
