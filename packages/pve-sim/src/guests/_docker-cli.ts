import { execFile, type ExecFileException } from 'node:child_process';
import { LabError } from '@lab/core';

/** What one `docker` CLI invocation produced. */
export interface DockerResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DockerRunOptions {
  readonly timeoutMs?: number;
  /** Resolve with a non-zero `code` instead of throwing. */
  readonly allowFailure?: boolean;
}

/** The docker CLI as the backend uses it: argv in, text out, failures as LabErrors. */
export interface DockerCli {
  run(args: readonly string[], options?: DockerRunOptions): Promise<DockerResult>;
}

const DEFAULT_TIMEOUT_MS = 120_000;

export function createDockerCli(command = 'docker'): DockerCli {
  return {
    run(args, options = {}) {
      return new Promise((resolve, reject) => {
        execFile(
          command,
          [...args],
          { timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' },
          (error, stdout, stderr) => {
            if (!error) return resolve({ code: 0, stdout, stderr });
            const spawnFailed = typeof error.code === 'string';
            if (spawnFailed || error.killed) return reject(cliError(command, args, stderr, error));
            const result = { code: typeof error.code === 'number' ? error.code : 1, stdout, stderr };
            if (options.allowFailure) return resolve(result);
            reject(cliError(command, args, stderr, error));
          },
        );
      });
    },
  };
}

function cliError(command: string, args: readonly string[], stderr: string, cause: ExecFileException): LabError {
  if (cause.code === 'ENOENT') {
    return new LabError({
      code: 'LAB_SIM_DOCKER_MISSING',
      summary: `the Docker CLI '${command}' is not installed`,
      hint: 'sudo tools/docker/ensure-dockerd.sh',
      cause,
    });
  }
  const noEngine = /Cannot connect to the Docker daemon|Is the docker daemon running/i.test(stderr);
  return new LabError({
    code: noEngine ? 'LAB_SIM_DOCKER_UNREACHABLE' : 'LAB_SIM_DOCKER_FAILED',
    summary: noEngine
      ? 'no Docker engine answers'
      : `docker ${args[0] ?? ''} failed${cause.killed ? ' (timed out)' : ''}`,
    detail: `${command} ${args.join(' ')}\n${stderr.trim()}`.trim(),
    ...(noEngine ? { hint: 'sudo tools/docker/ensure-dockerd.sh' } : {}),
    cause,
  });
}

/** The engine's version when one answers, else undefined (never throws). */
export async function dockerEngineVersion(cli: DockerCli = createDockerCli()): Promise<string | undefined> {
  try {
    const r = await cli.run(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000, allowFailure: true });
    const version = r.stdout.trim();
    return r.code === 0 && version !== '' ? version : undefined;
  } catch {
    return undefined;
  }
}
