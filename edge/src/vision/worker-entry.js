// Bootstrap for the model worker thread. Worker threads do not inherit vitest's transform,
// and plain `node` cannot run .ts, so register tsx here; this works under tsx, vitest and the
// CLI alike.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
