/** Where a command writes: data to stdout, messages and progress to stderr. */
export interface Io {
  /** Writes data to stdout, waiting when the pipe is full. */
  out(text: string): Promise<void>;
  /** Writes one message line to stderr. */
  err(line: string): void;
  /** True when stdout is a terminal and NO_COLOR is unset: only then may output be styled. */
  readonly color: boolean;
  /** True when stderr is a terminal: only then is progress drawn. */
  readonly progress: boolean;
}

/** The process's own streams. */
export function processIo(): Io {
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  return {
    out: (text) =>
      new Promise((resolve, reject) => {
        if (process.stdout.write(text)) resolve();
        else process.stdout.once('drain', resolve).once('error', reject);
      }),
    err: (line) => {
      process.stderr.write(`${line}\n`);
    },
    color: process.stdout.isTTY === true && !noColor,
    progress: process.stderr.isTTY === true,
  };
}

/** "1 mission", "2 missions". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
