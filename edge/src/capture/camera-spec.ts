/**
 * The `--camera` setting: one or more sources, comma-separated, each optionally named
 * (`door1=rtsp://...`). The kind of source follows from how it is written:
 *
 *   /dev/video0                     V4L2 (USB) camera, through ffmpeg
 *   rtsp://, rtsps://, http(s)://   video stream (RTSP, MJPEG over HTTP, HLS...), through ffmpeg
 *   snapshot+http(s)://...          one JPEG per request, polled at the frame rate
 *   clip.mp4 (known video suffix)   video file, through ffmpeg (loop with --camera-loop)
 *   anything else                   folder of JPEG/PNG images
 *
 * Pure: nothing here touches the file system or the network.
 */

export type CameraKind = 'v4l2' | 'stream' | 'snapshot' | 'file' | 'folder';

export interface CameraSpec {
  /** Camera id recorded on check-ins (`cam1`, `cam2`... unless named). */
  id: string;
  kind: CameraKind;
  /** Device path, URL (without the `snapshot+` prefix) or file/folder path. */
  source: string;
}

export class CameraSpecError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'CameraSpecError';
  }
}

const NAME = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})=(.+)$/;
const STREAM = /^(rtsps?|rtmps?|https?|udp|tcp|srt):\/\//i;
const SNAPSHOT = /^snapshot\+(https?:\/\/.+)$/i;
const VIDEO_FILE = /\.(mp4|m4v|mkv|mov|avi|webm|ts|mts|flv|mpe?g|mjpe?g|h264|h265|hevc|y4m)$/i;

/** The kind of one source as written (no `name=` prefix). */
export function cameraKind(source: string): CameraKind {
  if (SNAPSHOT.test(source)) return 'snapshot';
  if (STREAM.test(source)) return 'stream';
  if (source.startsWith('/dev/')) return 'v4l2';
  if (VIDEO_FILE.test(source)) return 'file';
  return 'folder';
}

/** Parses `--camera`. Throws CameraSpecError listing every problem. */
export function parseCameraList(value: string): CameraSpec[] {
  const problems: string[] = [];
  const specs: CameraSpec[] = [];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) problems.push('no camera source given');
  items.forEach((item, i) => {
    const named = NAME.exec(item);
    // `snapshot+http://` and `rtsp://` never match NAME: its name part cannot hold ':' or '/'.
    const id = named ? named[1]! : `cam${i + 1}`;
    let source = named ? named[2]! : item;
    const kind = cameraKind(source);
    if (kind === 'snapshot') source = SNAPSHOT.exec(source)![1]!;
    if (kind === 'stream' || kind === 'snapshot') {
      try {
        new URL(source);
      } catch {
        problems.push(`camera ${id}: "${redactSource(source)}" is not a valid URL`);
      }
    }
    if (specs.some((s) => s.id === id)) problems.push(`camera name "${id}" is used twice`);
    specs.push({ id, kind, source });
  });
  if (problems.length) throw new CameraSpecError(problems);
  return specs;
}

/** A URL with its password hidden, for logs and the status page (cameras often carry credentials). */
export function redactSource(source: string): string {
  return source.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/gi, '$1:***@');
}

/** Parses `WIDTHxHEIGHT` (even numbers, 32..4096). */
export function parseFrameSize(value: string): { width: number; height: number } | null {
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(value.trim());
  if (!m) return null;
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 32 || height < 32 || width > 4096 || height > 4096 || width % 2 || height % 2) return null;
  return { width, height };
}
