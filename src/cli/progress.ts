/**
 * Live progress of a run: one progress bar per job on a TTY (cli-progress), plain lines otherwise
 * (logs, CI). Fed by engine events.
 */
import cliProgress from 'cli-progress';

import type { EngineEvent, JobResult } from '../engine/index.js';
import { shorten, table, terminalText, type Io } from './output.js';

interface JobLine {
  total: number;
  listed: number;
  fetched: number;
  recorded: number;
  reported: number;
  lastPercent: number;
  bar?: cliProgress.SingleBar;
}

export class Progress {
  private readonly jobs = new Map<string, JobLine>();
  private readonly multi: cliProgress.MultiBar | null;
  private readonly io: Io;
  private readonly enabled: boolean;

  constructor(io: Io, enabled: boolean) {
    this.io = io;
    this.enabled = enabled;
    this.multi =
      enabled && io.isTTY
        ? new cliProgress.MultiBar(
            {
              format: ' {job} |{bar}| {value}/{total} recorded · {reported} reported · {phase}',
              hideCursor: true,
              clearOnComplete: false,
              stopOnComplete: false,
              barsize: 30,
            },
            cliProgress.Presets.shades_classic,
          )
        : null;
  }

  handle(event: EngineEvent): void {
    if (!this.enabled) return;
    const line = this.line(event.jobId);
    switch (event.kind) {
      case 'job_discovered':
        line.total = event.numberOfItems;
        this.say(event.jobId, `found (${event.status}, ${event.numberOfItems} items)`);
        break;
      case 'job_claimed':
        this.say(event.jobId, event.resumed ? 'resumed' : 'started');
        break;
      case 'job_skipped':
        this.say(event.jobId, `skipped: ${event.reason}`);
        break;
      case 'items_listed':
        line.listed = event.listed;
        this.update(event.jobId, 'listing items');
        break;
      case 'items_fetched':
        line.fetched = event.fetched;
        this.update(event.jobId, 'fetching data');
        break;
      case 'job_planned':
        this.say(event.jobId, `${line.listed} items retrieved, ${event.toProcess} to record`);
        break;
      case 'item_recorded':
        line.recorded++;
        this.update(event.jobId, 'recording');
        break;
      case 'items_reported':
        line.reported += event.accepted;
        this.update(event.jobId, 'reporting');
        break;
      case 'job_completed':
        this.update(event.jobId, event.result.event ?? event.result.disposition);
        this.say(event.jobId, `done: ${event.result.event ?? event.result.disposition}`);
        break;
    }
  }

  stop(): void {
    this.multi?.stop();
  }

  private line(jobId: string): JobLine {
    let line = this.jobs.get(jobId);
    if (!line) {
      line = { total: 0, listed: 0, fetched: 0, recorded: 0, reported: 0, lastPercent: -1 };
      this.jobs.set(jobId, line);
    }
    return line;
  }

  private update(jobId: string, phase: string): void {
    const line = this.line(jobId);
    if (this.multi) {
      line.bar ??= this.multi.create(Math.max(line.total, 1), 0, {
        job: terminalText(jobId.slice(0, 8)),
        reported: 0,
        phase,
      });
      line.bar.setTotal(Math.max(line.total, line.recorded, 1));
      line.bar.update(line.recorded, { reported: line.reported, phase });
      return;
    }
    const percent = line.total > 0 ? Math.floor((line.recorded / line.total) * 10) * 10 : 0;
    if (phase === 'recording' && percent !== line.lastPercent) {
      line.lastPercent = percent;
      this.io.out(
        `job ${jobId.slice(0, 8)}: ${line.recorded}/${line.total} recorded, ${line.reported} reported`,
      );
    }
  }

  private say(jobId: string, text: string): void {
    // multi.log writes to the terminal itself, past `io`: escape here.
    if (this.multi) this.multi.log(`${terminalText(`job ${jobId.slice(0, 8)}: ${text}`)}\n`);
    else this.io.out(`job ${jobId.slice(0, 8)}: ${text}`);
  }
}

export function summaryTable(results: readonly JobResult[]): string {
  return table(
    ['job', 'result', 'successful', 'failed', 'top failure reasons'],
    results.map((r) => [
      r.jobId,
      r.event ?? r.disposition,
      r.counts?.successful ?? '',
      r.counts?.failed ?? '',
      r.failureReason !== null && r.event === 'failed'
        ? shorten(`${r.failureReasonType ?? ''}: ${r.failureReason}`, 90)
        : r.topFailures.map((f) => `${f.count}× ${f.failureReasonType}: ${shorten(f.failureReason, 60)}`),
    ]),
  );
}
