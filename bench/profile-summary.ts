/**
 * Summarises a V8 .cpuprofile: self time by function (file:line), self time by area (gateway src
 * files, node_modules packages, Node internals, GC, idle) and inclusive time of src/ functions.
 * bench/gateway-server.ts writes profiles whose TS frames are already mapped to src/ lines.
 *
 *   tsx bench/profile-summary.ts <file.cpuprofile> [topN]
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface Node { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

function frameKey(cf: CallFrame): string {
  const name = cf.functionName || '(anonymous)';
  if (!cf.url) return name;
  const url = cf.url.replace(/^file:\/\/\/?.*?node_modules\//, 'node_modules/');
  return `${name}  ${url}:${cf.lineNumber + 1}`;
}

function area(cf: CallFrame): string {
  const u = cf.url;
  if (!u) {
    const n = cf.functionName;
    if (n === '(idle)' || n === '(program)' || n === '(garbage collector)') return n;
    return '(native / V8 builtins)';
  }
  const nm = u.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (nm) return `pkg ${nm[1]}`;
  if (u.startsWith('node:')) return 'node internals';
  if (u.startsWith('src/') || u.startsWith('bench/') || u.startsWith('test/')) return u;
  return u;
}

export interface ProfileSummary {
  totalMs: number;
  text: string;
}

export function summarise(file: string, topN = 25): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, Node>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // a sample's duration is the gap to the next sample
    const dt = (i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0) / 1000;
    if (dt <= 0) continue;
    total += dt;
    const node = byId.get(p.samples[i]);
    if (!node) continue;
    const k = frameKey(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const cf = byId.get(id)!.callFrame;
      if (!cf.url.startsWith('src/')) continue;
      const key = frameKey(cf);
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + dt);
    }
  }
  const idle = areas.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (v: number, of: number) => `${((100 * v) / of).toFixed(1).padStart(5)}%`;
  const ms = (v: number) => `${v.toFixed(0).padStart(6)} ms`;
  const lines: string[] = [];
  lines.push(`profile ${file}`);
  lines.push(`  sampled ${total.toFixed(0)} ms, idle ${idle.toFixed(0)} ms, busy ${busy.toFixed(0)} ms (percentages below are of busy time)`);
  lines.push('  self time by area:');
  for (const [k, v] of [...areas].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 14)) lines.push(`    ${ms(v)} ${pct(v, busy)}  ${k}`);
  lines.push(`  top ${topN} functions by self time:`);
  for (const [k, v] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, topN)) lines.push(`    ${ms(v)} ${pct(v, busy)}  ${k}`);
  lines.push('  gateway src/ functions by inclusive time:');
  for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`    ${ms(v)} ${pct(v, busy)}  ${k}`);
  return { totalMs: total, text: lines.join('\n') };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [topN]');
    process.exit(2);
  }
  console.log(summarise(file, Number(process.argv[3] ?? 25)).text);
}
