/**
 * What the package promises about Node.js, and what the Docker image is built from: `engines` true
 * to what the installed dependencies need (so `npm install` on a supported Node prints no
 * EBADENGINE), the image on the current LTS line, dependencies installed before the sources are
 * copied, and the build leftovers the image drops still unused by the code.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
// fastify's own dependency (hoisted): the same range logic npm uses for `engines`
const semver = require('semver') as {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
  validRange(range: string): string | null;
};

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

/** engines.node of every package npm installed here (optional packages of other platforms are not installed). */
function installedEngines(): { name: string; node: string }[] {
  const out: { name: string; node: string }[] = [];
  for (const [where, entry] of Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)) {
    if (!where || !fs.existsSync(path.join(ROOT, where, 'package.json'))) continue;
    const node = entry.engines?.node;
    if (node) out.push({ name: where.replace(/^.*node_modules\//, ''), node });
  }
  return out;
}

/** The lowest release of each Node.js line `engines` admits, e.g. 20.19.0 and 22.12.0. */
function lowestOfEachLine(range: string): string[] {
  return range.split('||').map((part) => semver.minVersion(part.trim())!.version);
}

describe('engines', () => {
  const range: string = pkg.engines.node;

  it('is a valid range that this machine\'s Node satisfies', () => {
    expect(semver.validRange(range)).not.toBeNull();
    expect(semver.satisfies(process.version, range)).toBe(true);
  });

  it('every installed dependency supports the lowest Node of each line engines admits, and this one (no EBADENGINE)', () => {
    const deps = installedEngines();
    expect(deps.length).toBeGreaterThan(50);
    const versions = [...lowestOfEachLine(range), process.version.slice(1)];
    const refused = deps.flatMap((d) => versions.filter((v) => !semver.satisfies(v, d.node)).map((v) => `${d.name} wants node ${d.node}, not ${v}`));
    expect(refused).toEqual([]);
  });

  it('is not looser than the dependencies: a Node just below it would be refused by one of them', () => {
    const needed = ['20.18.3', '22.11.0'];
    for (const v of needed) {
      expect(semver.satisfies(v, range)).toBe(false);
      expect(installedEngines().some((d) => !semver.satisfies(v, d.node))).toBe(true);
    }
  });
});

describe('Dockerfile', () => {
  /** The lines of each stage, by stage name (the unnamed last stage is "runtime"). */
  const stages = new Map<string, string[]>();
  let current = '';
  for (const raw of dockerfile.split('\n')) {
    const line = raw.trim();
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = from[2] ?? 'runtime';
      stages.set(current, [line]);
    } else if (current && line && !line.startsWith('#')) {
      stages.get(current)!.push(line);
    }
  }

  it('builds on a Node.js LTS line that engines admits', () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-[\w-]*slim$/m.exec(dockerfile);
    expect(image).not.toBeNull();
    const major = Number(image![1]);
    expect(major % 2).toBe(0); // LTS lines are the even ones
    expect(major).toBeGreaterThanOrEqual(22);
    expect(semver.satisfies(`${major}.0.0`, pkg.engines.node)).toBe(true);
    for (const [name, lines] of stages) expect({ name, from: lines[0] }).toMatchObject({ from: expect.stringMatching(/^FROM (\$\{NODE_IMAGE\}|deps)( |$)/) });
  });

  it('installs the dependencies from package*.json alone, before any source is copied', () => {
    const deps = stages.get('deps')!;
    const copies = deps.filter((l) => l.startsWith('COPY'));
    expect(copies).toEqual(['COPY package.json package-lock.json ./']);
    expect(deps.findIndex((l) => /npm ci/.test(l))).toBeGreaterThan(deps.indexOf(copies[0]));
    expect(stages.get('build')!.some((l) => l === 'COPY src ./src')).toBe(true);
    expect(stages.get('prod-deps')![0]).toMatch(/^FROM deps AS prod-deps/);
    // the runtime image takes node_modules from prod-deps, which never sees the sources
    const runtime = stages.get('runtime')!;
    expect(runtime.filter((l) => l.startsWith('COPY --from='))).toEqual([
      'COPY --from=prod-deps /app/package.json ./package.json',
      'COPY --from=prod-deps /app/node_modules ./node_modules',
      'COPY --from=build /app/dist ./dist',
      'COPY --from=build /app/web/dist ./web/dist',
    ]);
  });

  it('drops only tokenizer files the code does not load', () => {
    const tokens = fs.readFileSync(path.join(ROOT, 'src/protocol/tokens.ts'), 'utf8');
    const loaded = [...tokens.matchAll(/['"](js-tiktoken[^'"]*)['"]/g)].map((m) => m[1]);
    expect(new Set(loaded)).toEqual(new Set(['js-tiktoken/lite', 'js-tiktoken/ranks/o200k_base']));
    const prune = stages.get('prod-deps')!.join('\n');
    expect(prune).toContain("find ranks -type f ! -name 'o200k_base.cjs'");
    expect(prune).toContain('rm -rf build deps src binding.gyp');
    // what the image keeps is what those imports resolve to here
    expect(require.resolve('js-tiktoken/ranks/o200k_base').endsWith('/node_modules/js-tiktoken/dist/ranks/o200k_base.cjs')).toBe(true);
  });
});
