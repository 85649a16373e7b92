/**
 * The report's chart (SVG, no dependencies): per workload, one bar per contender for its median
 * wall time, a tick for its floor, and the spread as a whisker. Each workload has its own scale.
 */

export interface ChartBar {
  label: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  floorMs: number | null;
  kind: 'baseline' | 'engine';
  note?: string;
}

export interface ChartGroup {
  title: string;
  bars: ChartBar[];
}

const WIDTH = 960;
const LABEL = 250;
const PLOT = 520;
const BAR = 18;
const GAP = 6;
const HEAD = 26;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function seconds(ms: number): string {
  const s = ms / 1000;
  return s >= 100 ? `${s.toFixed(0)} s` : s >= 10 ? `${s.toFixed(1)} s` : `${s.toFixed(2)} s`;
}

export function renderChart(title: string, groups: readonly ChartGroup[]): string {
  const parts: string[] = [];
  let y = 48;
  for (const group of groups) {
    parts.push(`<text x="10" y="${y + 16}" font-weight="bold" font-size="14">${esc(group.title)}</text>`);
    y += HEAD;
    const scale = Math.max(1, ...group.bars.map((b) => Math.max(b.maxMs, b.floorMs ?? 0)));
    for (const bar of group.bars) {
      const w = (v: number): number => (v / scale) * PLOT;
      const color = bar.kind === 'baseline' ? '#9aa5b1' : '#2f6fdf';
      parts.push(`<text x="20" y="${y + 13}" font-size="12">${esc(bar.label)}</text>`);
      if (bar.medianMs > 0) {
        parts.push(
          `<rect x="${LABEL}" y="${y}" width="${w(bar.medianMs).toFixed(1)}" height="${BAR}" fill="${color}"/>`,
          `<line x1="${(LABEL + w(bar.minMs)).toFixed(1)}" x2="${(LABEL + w(bar.maxMs)).toFixed(1)}" y1="${y + BAR / 2}" y2="${y + BAR / 2}" stroke="#222" stroke-width="1.5"/>`,
        );
      }
      if (bar.floorMs !== null) {
        const x = (LABEL + w(bar.floorMs)).toFixed(1);
        parts.push(
          `<line x1="${x}" x2="${x}" y1="${y - 2}" y2="${y + BAR + 2}" stroke="#d1342f" stroke-width="2.5"/>`,
        );
      }
      const text =
        bar.medianMs > 0
          ? `${seconds(bar.medianMs)}${bar.floorMs ? ` · ${(bar.medianMs / bar.floorMs).toFixed(2)}× floor` : ''}`
          : (bar.note ?? 'not run');
      const tx = LABEL + (bar.medianMs > 0 ? w(Math.max(bar.medianMs, bar.maxMs)) : 0) + 8;
      parts.push(`<text x="${tx.toFixed(1)}" y="${y + 13}" font-size="12">${esc(text)}</text>`);
      y += BAR + GAP;
    }
    y += 10;
  }
  const height = y + 30;
  const legendY = height - 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="26" font-size="17" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    `<rect x="10" y="${legendY - 10}" width="12" height="12" fill="#9aa5b1"/><text x="28" y="${legendY}" font-size="12">baseline (Pleo docs)</text>`,
    `<rect x="180" y="${legendY - 10}" width="12" height="12" fill="#2f6fdf"/><text x="198" y="${legendY}" font-size="12">pleo-export engine</text>`,
    `<line x1="350" x2="350" y1="${legendY - 12}" y2="${legendY + 2}" stroke="#d1342f" stroke-width="2.5"/><text x="358" y="${legendY}" font-size="12">floor (lower bound)</text>`,
    `<line x1="500" x2="520" y1="${legendY - 4}" y2="${legendY - 4}" stroke="#222" stroke-width="1.5"/><text x="526" y="${legendY}" font-size="12">min–max of the repetitions; each workload has its own scale</text>`,
    `</svg>`,
    '',
  ].join('\n');
}
