// A throwaway PostgreSQL cluster for tests that stop the database: its own folder under the
// system temp directory and its own port, never the shared server. initdb and pg_ctl refuse to
// run as root, so they run as the postgres user when the tests run as root.
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import postgres from "postgres";

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  if (!version) throw new Error(`no PostgreSQL under ${root}`);
  return path.join(root, version, "bin");
}

export interface OwnPostgres {
  /** URL of the database "rekey" in this cluster. */
  url: string;
  start(): void;
  /** start() without blocking this process: the test keeps sending requests while PostgreSQL comes up. */
  startInBackground(): Promise<void>;
  /** Fast shutdown: open connections are terminated, new ones refused. */
  stop(): void;
  /** Stops the cluster (if running) and deletes its folder. */
  destroy(): void;
}

/** Creates, starts and fills (database "rekey") a cluster on `port`. */
export async function createOwnPostgres(port: number): Promise<OwnPostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), "rekey-pg-"));
  const data = path.join(dir, "data");
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const command = (tool: string, args: string[]): [string, string[]] => {
    const bin = path.join(binDir(), tool);
    if (!asRoot) return [bin, args];
    return ["su", ["postgres", "-s", "/bin/sh", "-c", [bin, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ")]];
  };
  const run = (tool: string, args: string[]) => {
    const [file, fileArgs] = command(tool, args);
    execFileSync(file, fileArgs, { stdio: "pipe" });
  };
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const startArgs = ["-D", data, "-o", options, "-l", path.join(dir, "log"), "-w", "-t", "30", "start"];
  const start = () => run("pg_ctl", startArgs);
  const startInBackground = () =>
    new Promise<void>((resolve, reject) => {
      const [file, fileArgs] = command("pg_ctl", startArgs);
      execFile(file, fileArgs, (error) => (error ? reject(error) : resolve()));
    });
  const stop = () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);

  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  start();
  const admin = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1, onnotice: () => {} });
  await admin.unsafe("create database rekey");
  await admin.end();

  return {
    url: `postgres://postgres@127.0.0.1:${port}/rekey`,
    start,
    startInBackground,
    stop,
    destroy() {
      if (existsSync(path.join(data, "postmaster.pid"))) {
        try {
          run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
        } catch {
          // already stopped
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
