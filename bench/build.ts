/**
 * Compiles src/ and the bench's child programs to plain JavaScript in bench/.build/ with the
 * project's own compiler (TypeScript transpileModule: no type check, ~1 s), so the measured
 * processes run the way production does (`node dist/main.js`), not through tsx — whose esbuild
 * transform wraps every function in `__name(…)` (keepNames) and costs a few % on closure-heavy code.
 *
 * Layout mirrors the repo so relative lookups keep working: bench/.build/src/**, bench/.build/bench/*.js,
 * bench/.build/web → ../../web (the admin UI, when built). Each .js has a .js.map next to it
 * (used to map CPU profiles back to src/ lines). bench/.build is git-ignored and rebuilt every run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { BENCH_DIR, ROOT } from './procs.js';

export const BUILD_DIR = path.join(BENCH_DIR, '.build');

/** The bench programs that run as child processes (and the module the two relays share). */
const CHILDREN = ['upstream-server.ts', 'minimal-proxy.ts', 'gateway-server.ts', 'relay-probes.ts'];

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function emit(srcFile: string, outFile: string): void {
  const text = fs.readFileSync(srcFile, 'utf8');
  const r = ts.transpileModule(text, {
    fileName: srcFile,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      esModuleInterop: true,
      sourceMap: true,
      // class fields as tsc emits them for the real build (target ES2022 ⇒ define semantics)
      useDefineForClassFields: true,
    },
  });
  const base = path.basename(outFile);
  const code = r.outputText.replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${base}.map`);
  const map = JSON.parse(r.sourceMapText ?? '{}') as { sources?: string[]; sourceRoot?: string };
  map.sources = [pathToFileURL(srcFile).href];
  map.sourceRoot = '';
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, code);
  fs.writeFileSync(`${outFile}.map`, JSON.stringify(map));
}

/** Rebuilds bench/.build; returns the folder holding the compiled child programs. */
export function buildForBench(): { dir: string; files: number; ms: number } {
  const t0 = performance.now();
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  let files = 0;
  for (const f of walk(path.join(ROOT, 'src'))) {
    const rel = path.relative(ROOT, f);
    if (/\.(test|spec)\.ts$/.test(f) || f.endsWith('.d.ts')) continue;
    if (f.endsWith('.ts')) {
      emit(f, path.join(BUILD_DIR, rel.replace(/\.ts$/, '.js')));
      files++;
    } else {
      // non-TS assets next to the code (JSON, SQL…) keep their relative place
      fs.mkdirSync(path.dirname(path.join(BUILD_DIR, rel)), { recursive: true });
      fs.copyFileSync(f, path.join(BUILD_DIR, rel));
    }
  }
  for (const c of CHILDREN) {
    emit(path.join(BENCH_DIR, c), path.join(BUILD_DIR, 'bench', c.replace(/\.ts$/, '.js')));
    files++;
  }
  const web = path.join(ROOT, 'web');
  if (fs.existsSync(web)) fs.symlinkSync(path.relative(BUILD_DIR, web), path.join(BUILD_DIR, 'web'));
  return { dir: path.join(BUILD_DIR, 'bench'), files, ms: performance.now() - t0 };
}
