import { PassThrough, type Readable } from 'node:stream';
import type { ContainerLogSource } from '../runtime/driver.js';
import { StdcopyDemuxer, type LogFrame } from '../runtime/stdcopy.js';

export interface LogStreamOptions {
  follow: boolean;
  /** While following, `ping` lines keep idle connections and the CLI's reader alive. */
  pingIntervalMs?: number;
}

function streamName(stream: number): string {
  return stream === 1 ? 'stdout' : stream === 2 ? 'stderr' : String(stream);
}

/**
 * Formats one frame as `<container> <stdout|stderr> <text>` lines, one per line of the payload, so a
 * frame holding several lines (or none ending in a newline) still gives lines the CLI can parse.
 */
export function formatFrame(container: string, frame: LogFrame): string {
  const text = frame.payload.toString('utf8');
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const prefix = `${container} ${streamName(frame.stream)} `;
  return lines.map((line) => `${prefix}${line}\n`).join('');
}

/**
 * Merges the log sources of a pod's containers into one text stream. It ends when every source has ended;
 * destroying it (the client went away) destroys every source, which aborts the upstream requests, and
 * stops the ping timer, so nothing outlives the request. Slow readers pause the sources.
 */
export function mergeLogSources(sources: ContainerLogSource[], options: LogStreamOptions): Readable {
  const output = new PassThrough();
  const demuxers: StdcopyDemuxer[] = [];
  let open = sources.length;
  let waitingForDrain = false;
  const ping = options.follow
    ? setInterval(() => {
        if (!output.writableEnded) output.write('ping\n');
      }, options.pingIntervalMs ?? 1000)
    : undefined;

  const sourceDone = (): void => {
    open -= 1;
    if (open === 0 && !output.writableEnded) {
      clearInterval(ping);
      output.end();
    }
  };

  for (const source of sources) {
    const demuxer = new StdcopyDemuxer();
    demuxers.push(demuxer);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      sourceDone();
    };
    source.frames.on('error', () => demuxer.end());
    source.frames.pipe(demuxer);
    demuxer.on('data', (frame: LogFrame) => {
      if (output.writableEnded) return;
      if (!output.write(formatFrame(source.container, frame)) && !waitingForDrain) {
        waitingForDrain = true;
        for (const other of demuxers) other.pause();
        output.once('drain', () => {
          waitingForDrain = false;
          for (const other of demuxers) other.resume();
        });
      }
    });
    demuxer.once('end', finish);
    demuxer.once('error', finish);
  }
  if (sources.length === 0) output.end();

  output.once('close', () => {
    clearInterval(ping);
    for (const source of sources) source.frames.destroy();
    for (const demuxer of demuxers) demuxer.destroy();
  });
  return output;
}
