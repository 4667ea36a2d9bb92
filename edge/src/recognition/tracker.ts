/**
 * IoU tracker: follows faces from frame to frame so that the voter can gather several frames
 * of one face before deciding. No timers and no I/O: the caller feeds it one frame's boxes at a
 * time, so it is deterministic and tested without a clock.
 */
import { iou, type FaceBox } from '../vision/face-engine.ts';
import { withDefaults } from './defaults.ts';
import { euclideanDistance as distance } from './matcher.ts';

export interface TrackerOptions {
  /** Least IoU between a track's last box and a new box for them to be the same face. */
  minIou: number;
  /**
   * A track ends once it has gone unseen for this many processed frames in a row. A missed
   * detection or two (a turned head, a hand in front) must not split one elder into two tracks.
   */
  maxMissedFrames: number;
  /**
   * When descriptors are given, a box joins a track only if its descriptor is within this
   * distance of the track's last one. In a queue the next elder steps into the spot the last
   * one just left: boxes overlap, faces do not. Consecutive frames of one face measured
   * 0.04-0.19 apart (shifted, rescaled, re-lit, JPEG q40); different people in the sample
   * photos 0.46 and up. A wrong split costs one more vote round; a wrong merge loses an elder.
   */
  maxAppearanceDistance: number;
}

export const DEFAULT_TRACKER_OPTIONS: Readonly<TrackerOptions> = { minIou: 0.3, maxMissedFrames: 5, maxAppearanceDistance: 0.4 };

export interface Track {
  id: number;
  /** Box from the latest frame the track was seen in. */
  box: FaceBox;
  /** Frame seq when first and last seen. */
  firstSeq: number;
  lastSeq: number;
  /** Frames the track was seen in. */
  hits: number;
  /** Processed frames in a row without the track. */
  missed: number;
  /** Descriptor from the latest frame, when the caller gives them. */
  descriptor?: Float32Array;
}

export interface TrackAssignment {
  /** Index of the box in the input array. */
  index: number;
  trackId: number;
  /** True when the box started a new track. */
  isNew: boolean;
}

export interface TrackerUpdate {
  /** One per input box, in input order. */
  assignments: TrackAssignment[];
  /** Tracks that ended with this frame (unseen for `maxMissedFrames` frames). */
  ended: Track[];
}

export class FaceTracker {
  private readonly options: TrackerOptions;
  private readonly tracks = new Map<number, Track>();
  private nextId = 1;

  constructor(options: Partial<TrackerOptions> = {}) {
    this.options = withDefaults(DEFAULT_TRACKER_OPTIONS, options);
  }

  /** Open tracks. */
  get open(): readonly Track[] {
    return [...this.tracks.values()];
  }

  get(trackId: number): Track | undefined {
    return this.tracks.get(trackId);
  }

  /**
   * Feeds one frame's boxes (and optionally their descriptors, index for index; a box with no
   * descriptor is matched by IoU alone and keeps its track's last descriptor). `seq` is only
   * recorded on the tracks (for logs and review).
   */
  update(seq: number, boxes: readonly FaceBox[], descriptors?: readonly (Float32Array | undefined)[]): TrackerUpdate {
    // Greedy assignment by descending IoU: with the handful of faces at a canteen door this
    // gives the same answer as the Hungarian method, in a few lines.
    const pairs: { iou: number; trackId: number; index: number }[] = [];
    for (const t of this.tracks.values()) {
      boxes.forEach((b, index) => {
        const v = iou(t.box, b);
        if (v < this.options.minIou) return;
        const d = descriptors?.[index];
        if (d && t.descriptor && distance(d, t.descriptor) > this.options.maxAppearanceDistance) return;
        pairs.push({ iou: v, trackId: t.id, index });
      });
    }
    pairs.sort((a, b) => b.iou - a.iou || a.trackId - b.trackId || a.index - b.index);

    const byIndex = new Map<number, TrackAssignment>();
    const seen = new Set<number>();
    for (const p of pairs) {
      if (byIndex.has(p.index) || seen.has(p.trackId)) continue;
      byIndex.set(p.index, { index: p.index, trackId: p.trackId, isNew: false });
      seen.add(p.trackId);
      const t = this.tracks.get(p.trackId)!;
      t.box = { ...boxes[p.index]! };
      t.lastSeq = seq;
      t.hits++;
      t.missed = 0;
      const d = descriptors?.[p.index];
      if (d) t.descriptor = d;
    }

    const ended: Track[] = [];
    for (const t of [...this.tracks.values()]) {
      if (seen.has(t.id)) continue;
      t.missed++;
      if (t.missed >= this.options.maxMissedFrames) {
        this.tracks.delete(t.id);
        ended.push(t);
      }
    }

    const assignments = boxes.map((b, index) => {
      const a = byIndex.get(index);
      if (a) return a;
      const id = this.nextId++;
      const track: Track = { id, box: { ...b }, firstSeq: seq, lastSeq: seq, hits: 1, missed: 0 };
      const d = descriptors?.[index];
      if (d) track.descriptor = d;
      this.tracks.set(id, track);
      return { index, trackId: id, isNew: true };
    });
    return { assignments, ended };
  }

  /** Ends every open track (the source has ended) and returns them. */
  finish(): Track[] {
    const all = [...this.tracks.values()];
    this.tracks.clear();
    return all;
  }
}
