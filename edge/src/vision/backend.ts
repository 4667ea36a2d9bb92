/**
 * Picks the tfjs backend and the matching face-api bundle. Runs in the model worker only.
 * `auto` uses tfjs-node (native TensorFlow) when it loads, else wasm. The pure-JS `cpu`
 * backend is ~20x slower: it is used only when asked for, never as a silent fallback.
 */
import { createRequire } from 'node:module';
import type { BackendChoice } from './face-engine.ts';

export type Tf = typeof import('@tensorflow/tfjs');
export type FaceApi = typeof import('@vladmandic/face-api');

/** The tensor backend could not be set up; the message says which and why. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

const require = createRequire(import.meta.url);

export interface LoadedBackend {
  tf: Tf;
  faceapi: FaceApi;
  /** tfjs backend name: `tensorflow`, `wasm` or `cpu`. */
  backend: string;
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

async function loadNode(): Promise<LoadedBackend> {
  // The package main is the tfjs-node build; it requires @tensorflow/tfjs-node itself.
  require('@tensorflow/tfjs-node');
  const faceapi = require('@vladmandic/face-api') as FaceApi;
  const tf = faceapi.tf as unknown as Tf;
  await tf.ready();
  if (tf.getBackend() !== 'tensorflow') throw new BackendError(`tfjs-node loaded but the backend is ${tf.getBackend()}`);
  return { tf, faceapi, backend: 'tensorflow' };
}

async function loadBrowserBuild(name: 'wasm' | 'cpu'): Promise<LoadedBackend> {
  // This bundle requires @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm. No setWasmPaths:
  // in Node it would make tfjs fetch() a file path; without it the .wasm is read from disk.
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  const tf = faceapi.tf as unknown as Tf;
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (err) {
    throw new BackendError(`the ${name} tensor backend failed to start: ${reason(err)}`);
  }
  if (!ok || tf.getBackend() !== name) throw new BackendError(`the ${name} tensor backend failed to start (tfjs reports ${tf.getBackend()})`);
  return { tf, faceapi, backend: name };
}

export async function loadBackend(choice: BackendChoice, log: (msg: string, data?: Record<string, unknown>) => void): Promise<LoadedBackend> {
  switch (choice) {
    case 'tensorflow':
      try {
        return await loadNode();
      } catch (err) {
        throw new BackendError(`backend "tensorflow" was requested but @tensorflow/tfjs-node cannot be loaded: ${reason(err)}`);
      }
    case 'wasm':
      return loadBrowserBuild('wasm');
    case 'cpu':
      return loadBrowserBuild('cpu');
    case 'auto': {
      try {
        return await loadNode();
      } catch (err) {
        log('tfjs-node not available, using the wasm backend', { reason: reason(err) });
      }
      try {
        return await loadBrowserBuild('wasm');
      } catch (err) {
        throw new BackendError(`${reason(err)}; not falling back to the slow cpu backend (set backend to "cpu" explicitly to use it)`);
      }
    }
  }
}
