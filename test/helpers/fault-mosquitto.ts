/** Runs a real Mosquitto from a config file (e.g. the one `mealcheck broker-config` writes). */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';

export interface RunningMosquitto {
  /** SIGKILL (a crash), then waits for the exit. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export async function runMosquitto(confFile: string, port: number): Promise<RunningMosquitto> {
  const child = spawn('mosquitto', ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  const until = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > until) {
      await end('SIGKILL');
      throw new Error(`mosquitto did not start on ${port}: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { kill9: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}
