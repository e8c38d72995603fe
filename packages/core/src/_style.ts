export type Color = 'red' | 'green' | 'yellow' | 'cyan' | 'magenta' | 'gray' | 'bold' | 'dim';

/** A colouring function that is the identity when colour is off (pipes, NO_COLOR, --json). */
export type Paint = (color: Color, text: string) => string;

// Plain SGR codes: node's styleText decides on its own whether a stream is a TTY, but the
// decision belongs to the caller (a plan rendered to a file for a PR comment has no TTY).
const SGR: Record<Color, readonly [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  gray: [90, 39],
  bold: [1, 22],
  dim: [2, 22],
};

export function painter(enabled: boolean): Paint {
  if (!enabled) return (_color, text) => text;
  return (color, text) => {
    const [open, close] = SGR[color];
    return `\x1b[${open}m${text}\x1b[${close}m`;
  };
}

/** Colour on a TTY unless NO_COLOR is set or FORCE_COLOR=0; FORCE_COLOR forces it on. */
export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0';
  return stream.isTTY === true;
}
