import { defineCommand } from 'citty';
import { ExitCode, LabError } from '@lab/core';
import { startServer } from '@lab/engine';
import { createContext, globalArgs } from '../context.js';

function portOf(flag: string | undefined): number {
  if (flag === undefined) return 7777;
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new LabError({ code: 'LAB_CLI_USAGE', summary: `--port ${flag} is not a port`, hint: 'lab serve --port 7777 (0 picks a free one)' });
  return n;
}

function waitForSignal(): Promise<void> {
  return new Promise((done) => {
    const on = () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      done();
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export const serveCommand = defineCommand({
  meta: { name: 'serve', description: 'A read-only status page of the lab on 127.0.0.1 (grid, personas, plans, journal, images, /metrics)' },
  args: {
    ...globalArgs,
    port: { type: 'string', description: 'Port (default: 7777; 0 picks a free one)', valueHint: 'N' },
    bind: {
      type: 'string',
      description: 'Address to listen on (default 127.0.0.1). Any other address requires a token: LAB_SERVE_TOKEN, or one generated and printed once',
      valueHint: 'address',
    },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const host = args.bind ?? '127.0.0.1';
    const token = process.env['LAB_SERVE_TOKEN'];
    const server = await startServer(ctx, { host, port: portOf(args.port), ...(token ? { token } : {}) });
    ctx.io.out(`lab serve: ${server.url} (read-only; Ctrl-C stops)`);
    if (server.token !== undefined && token === undefined) ctx.reveal(`lab serve: listening beyond loopback; open ${server.url}?token=${server.token} once (shown only now)`);
    await waitForSignal();
    await server.close();
    return ExitCode.Ok;
  },
});
