// Checks the bounds the code base keeps, on src/: no file over 300 lines of code, no function over 120
// (blank lines and comments not counted; a function's lines include the functions nested in it), no two
// top-level folders importing each other, and no cycle of imports between files (type-only and lazy
// imports count: a cycle is a cycle to a reader). Prints what it finds; exits 1 on any breach.
//   node dist/scripts/check-structure.js [--report]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 120;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The 0-based lines holding code (any token): comments and blank lines are not tokens. */
function codeLines(file: ts.SourceFile): Set<number> {
  const lines = new Set<number>();
  const mark = (from: number, to: number): void => {
    const first = file.getLineAndCharacterOfPosition(from).line;
    const last = file.getLineAndCharacterOfPosition(Math.max(from, to - 1)).line;
    for (let line = first; line <= last; line += 1) lines.add(line);
  };
  // The leaves of the tree are the tokens; a multi-line string or template marks every line it spans.
  const visit = (node: ts.Node): void => {
    if (node.getChildCount(file) === 0) mark(node.getStart(file), node.getEnd());
    else node.getChildren(file).forEach(visit);
  };
  visit(file);
  return lines;
}

function countIn(lines: Set<number>, first: number, last: number): number {
  let count = 0;
  for (let line = first; line <= last; line += 1) if (lines.has(line)) count += 1;
  return count;
}

interface Finding {
  kind: 'file' | 'function' | 'folders' | 'cycle';
  where: string;
  lines?: number;
}

function functionName(node: ts.Node, file: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText(file);
  const parent = node.parent as { name?: ts.Node } | undefined;
  if (parent?.name) return parent.name.getText(file);
  return '(anonymous)';
}

function checkFile(path: string, findings: Finding[], report: Array<[string, number]>): ts.SourceFile {
  const text = readFileSync(path, 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const lines = codeLines(file);
  const where = relative(ROOT, path);
  report.push([where, lines.size]);
  if (lines.size > MAX_FILE_LINES) findings.push({ kind: 'file', where, lines: lines.size });
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const count = countIn(lines, first, last);
      if (count > MAX_FUNCTION_LINES) {
        findings.push({
          kind: 'function',
          where: `${where}:${first + 1} ${functionName(node, file)}`,
          lines: count,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return file;
}

/** `pods` for src/pods/x.ts; null for a file directly under src/ (not a folder). */
function topFolder(path: string): string | null {
  const parts = relative(SRC, path).split(sep);
  return parts.length > 1 ? (parts[0] ?? null) : null;
}

/** The files of src/ a file imports: import and export declarations, and import() of a literal path. */
function importsOf(file: ts.SourceFile): string[] {
  const targets: string[] = [];
  const add = (specifier: string): void => {
    if (specifier.startsWith('.'))
      targets.push(resolve(dirname(file.fileName), specifier).replace(/\.js$/, '.ts'));
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) add(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return targets;
}

function folderEdges(files: ts.SourceFile[]): Set<string> {
  const edges = new Set<string>();
  for (const file of files) {
    const from = topFolder(file.fileName);
    for (const target of importsOf(file).map(topFolder)) {
      if (from && target && from !== target) edges.add(`${from}>${target}`);
    }
  }
  return edges;
}

/** Every group of files that import each other, directly or around a loop (Tarjan's strongly connected components). */
function importCycles(files: ts.SourceFile[]): string[][] {
  const graph = new Map(files.map((file) => [file.fileName, importsOf(file)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const connect = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member);
      group.push(member);
      if (member === node) break;
    }
    if (group.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(group.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) connect(node);
  return cycles;
}

const findings: Finding[] = [];
const report: Array<[string, number]> = [];
const parsed = sourceFiles(SRC).map((path) => checkFile(path, findings, report));
const edges = folderEdges(parsed);
for (const edge of edges) {
  const [from, to] = edge.split('>');
  if (from !== undefined && to !== undefined && from < to && edges.has(`${to}>${from}`)) {
    findings.push({ kind: 'folders', where: `src/${from}/ and src/${to}/ import each other` });
  }
}

for (const cycle of importCycles(parsed)) {
  findings.push({ kind: 'cycle', where: cycle.map((path) => relative(ROOT, path)).join(' ⇄ ') });
}

if (process.argv.includes('--report')) {
  for (const [where, lines] of report.sort((a, b) => b[1] - a[1]))
    console.log(`${String(lines).padStart(5)}  ${where}`);
}
const largest = report.reduce<[string, number]>((max, entry) => (entry[1] > max[1] ? entry : max), ['', 0]);
console.log(
  `structure: ${report.length} files in src/, the largest ${largest[0]} with ${largest[1]} lines of code; ` +
    `${edges.size} imports between top-level folders`,
);
for (const finding of findings) {
  const limit = finding.kind === 'file' ? MAX_FILE_LINES : MAX_FUNCTION_LINES;
  console.log(
    finding.kind === 'folders'
      ? `  ✗ ${finding.where}`
      : finding.kind === 'cycle'
        ? `  ✗ import cycle: ${finding.where}`
        : `  ✗ ${finding.kind} ${finding.where}: ${finding.lines} lines of code (limit ${limit})`,
  );
}
if (findings.length > 0) process.exit(1);
console.log(
  `  ✓ files ≤ ${MAX_FILE_LINES} lines, functions ≤ ${MAX_FUNCTION_LINES} lines, no folders importing each other, no import cycles`,
);
