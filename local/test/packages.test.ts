/**
 * The two packages as consumers get them: packed, installed into a fresh app, and used there the way the README
 * shows. Needs the compiled library (lib/) and kit (local/lib/): `npx projen build` compiles both before testing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const KIT_DIR = path.join(ROOT, 'local');

function packedFiles(dir: string): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8' });
  return (JSON.parse(out)[0].files as Array<{ path: string }>).map((f) => f.path).sort();
}

function requireBuilt(): void {
  const missing = ['lib/index.js', 'assets/handlers/classify.lambda/index.js', 'local/lib/index.js', 'local/lib/cli.js']
    .filter((f) => !fs.existsSync(path.join(ROOT, f)));
  if (missing.length > 0) throw new Error(`build the packages first (npx projen compile && npx projen kit:compile): missing ${missing.join(', ')}`);
}

/** The fenced code block that follows `<!-- marker -->` in README.md. */
export function readmeBlock(marker: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`README.md has no <!-- ${marker} --> block`);
  const block = /```\w*\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`README.md: no code block after <!-- ${marker} -->`);
  return block[1];
}

describe('the construct package', () => {
  test('holds the library and its bundled handlers only: no runner, no demo photos, no CI scripts', () => {
    requireBuilt();
    const files = packedFiles(ROOT);
    const allowed = [
      /^lib\/.+\.(js|d\.ts)$/, /^assets\/handlers\/[\w.-]+\/index\.js$/, /^\.jsii$/, /^(package\.json|README\.md|LICENSE|API\.md)$/,
      // the console's built front end, served by the console function from its asset
      /^assets\/handlers\/console-api\.lambda\/console\/(index\.html|app\.js|app\.css)$/,
    ];
    expect(files.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    expect(files.filter((f) => /(^|\/)(local|demo|\.ci)\//.test(f) || /\.(jpe?g|png)$/.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining([
      'lib/index.js', '.jsii', 'assets/handlers/classify.lambda/index.js', 'assets/handlers/console-api.lambda/console/app.js',
    ]));
  });

  test('is listed on Construct Hub, which finds CDK construct libraries by the awscdk keyword', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.keywords).toContain('awscdk');
    expect(pkg.jsii).toBeDefined();
  });
});

describe('the testing kit package', () => {
  test('holds the runner, its CLI and the demo photos, and no sources or tests', () => {
    requireBuilt();
    const files = packedFiles(KIT_DIR);
    expect(files).toEqual(expect.arrayContaining(['lib/index.js', 'lib/index.d.ts', 'lib/cli.js', 'demo/images/motorcycle.jpg', 'package.json']));
    expect(files.filter((f) => /^(src|test)\//.test(f) || /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  });
});

describe('a consumer app with both packages installed from their tarballs', () => {
  let app: string;
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, {
    cwd: app, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '0', JEST_WORKER_ID: undefined },
  });

  beforeAll(() => {
    requireBuilt();
    app = fs.mkdtempSync(path.join(os.tmpdir(), 'ics-consumer-'));
    const tarballs = path.join(app, 'tarballs');
    fs.mkdirSync(tarballs);
    for (const dir of [ROOT, KIT_DIR]) execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tarballs], { cwd: dir, stdio: 'ignore' });
    const version = (name: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version as string;
    // What `cdk init app --language typescript` gives a consumer, plus the two packages.
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({
      name: 'consumer-app',
      version: '1.0.0',
      private: true,
      jest: { preset: 'ts-jest', testEnvironment: 'node', testTimeout: 120_000 },
    }, null, 2));
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, esModuleInterop: true, types: ['jest', 'node'] },
    }));
    const library = fs.readdirSync(tarballs).find((f) => /^cdk-image-classification-pipeline-\d/.test(f))!;
    // The packages are installed from the tarballs; everything else from the npm cache (the registry only for
    // metadata the cache lacks: `npm ci` caches tarballs, not the package documents a fresh resolution reads).
    const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--save-dev',
      `./tarballs/${library}`, 'aws-cdk-lib@' + version('aws-cdk-lib'), 'constructs@' + version('constructs'),
      'jest@' + version('jest'), 'ts-jest@' + version('ts-jest'), 'typescript@' + version('typescript'),
      '@types/jest@' + version('@types/jest'), '@types/node@' + version('@types/node')]);
    expect(install.stderr).not.toMatch(/npm error/);
    // The README's one command for the kit.
    const kit = fs.readdirSync(tarballs).find((f) => f.startsWith('cdk-image-classification-pipeline-local-'))!;
    const kitInstall = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '-D', `./tarballs/${kit}`]);
    expect(kitInstall.stderr).not.toMatch(/npm error/);
  }, 600_000);

  afterAll(() => {
    if (app) fs.rmSync(app, { recursive: true, force: true });
  });

  test("the README's consumer test passes there", () => {
    fs.mkdirSync(path.join(app, 'test'));
    fs.writeFileSync(path.join(app, 'test', 'pipeline.test.ts'), readmeBlock('consumer-test'));
    const jest = run('npx', ['jest', '--ci', '--colors=false']);
    expect(jest.stderr).toMatch(/Tests:\s+\d+ passed, \d+ total/);
    expect(jest.status).toBe(0);
  }, 300_000);

  test('npx ics-local demo runs the demo and writes the report', () => {
    const demo = run('npx', ['ics-local', 'demo', '--report', 'report.html']);
    expect(demo.stderr).not.toMatch(/Cannot find module|Error:/);
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/motorcycle\.jpg\s+motorcycle\s+\S+\s+FLAGGED/);
    expect(demo.stdout).toMatch(/truncated\.jpg .* ERROR/);
    expect(fs.readFileSync(path.join(app, 'report.html'), 'utf8')).toContain('<img');
  }, 300_000);

  test('ics-local explains itself: --help, an unknown command, a missing template', () => {
    const help = run('npx', ['ics-local', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: ics-local <command>/);
    const unknown = run('npx', ['ics-local', 'deploy']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'deploy'");
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    const missing = run('npx', ['ics-local', 'run', '--template', 'cdk.out/Nope.template.json', 'a.jpg']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('template not found: cdk.out/Nope.template.json');
  }, 120_000);
});
