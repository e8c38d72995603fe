/**
 * Errors a handler raises, shaped like PVE's exceptions: `die "text\n"` is a 500 whose reason
 * phrase is the first line; `raise_param_exc` a 400 with per-parameter `errors`;
 * `raise_perm_exc` a 403. Messages keep PVE's trailing newline, which the JSON `message` shows.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly errors: Readonly<Record<string, string>> | undefined;

  constructor(status: number, message: string, errors?: Record<string, string>) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errors = errors;
  }
}

/**
 * Errors PVE emits outside a handler (auth, routing, transport): no Content-Type, the body is
 * the message text (pve-http-server >= 5.2.0) or empty for 401s.
 */
export class RawHttpError extends Error {
  readonly status: number;
  readonly body: string;

  constructor(status: number, message: string, body?: string) {
    super(message);
    this.name = 'RawHttpError';
    this.status = status;
    this.body = body ?? message;
  }
}

function withNewline(message: string): string {
  return message.endsWith('\n') ? message : `${message}\n`;
}

/** `die "message\n"` inside a handler: a 500 with the message. */
export function fail(message: string, status = 500): never {
  throw new ApiError(status, withNewline(message));
}

/** `raise_param_exc({ key => msg })`: 400 `Parameter verification failed.` */
export function paramError(errors: Record<string, string>): never {
  throw new ApiError(400, 'Parameter verification failed.\n', errors);
}

/** `raise_perm_exc("what")`: 403 `Permission check failed (what)`. */
export function permError(what?: string): never {
  throw new ApiError(403, what ? `Permission check failed (${what})\n` : 'Permission check failed\n');
}

/** The text of any thrown value the way a PVE task or handler would print it. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
