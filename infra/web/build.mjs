// Builds the web UI into dist/ (git-ignored):
//   dist/patgate-tokens.js  the <patgate-tokens> element alone, for host pages
//   dist/page.js            the standalone page (element included), with index.html, page.css
//   dist/config.json        the page's settings, from the environment (below)
// `node build.mjs --tests` bundles test/*.test.ts into dist-test/ for `node --test`.
// `node build.mjs --sizes` prints, as JSON, what each element costs a page that loads it
// alone (minified, Lit included; raw and gzip level 9), for infra/web/measure.sh.
//
// config.json: PATGATE_API_BASE (default http://127.0.0.1:3000) and, for Cognito,
// PATGATE_COGNITO_DOMAIN, PATGATE_CLIENT_ID and optionally PATGATE_REDIRECT_URI;
// without them the page runs in local mode (demo users of the local stack).
import { build } from "esbuild";
import { copyFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = dirname(fileURLToPath(import.meta.url));
const src = join(root, "src");
const common = {
  bundle: true,
  format: "esm",
  target: "es2022",
  legalComments: "none",
  logLevel: "warning",
};

async function buildTests() {
  const out = join(root, "dist-test");
  await rm(out, { recursive: true, force: true });
  const tests = (await readdir(join(root, "test"))).filter((f) => f.endsWith(".test.ts"));
  await build({
    ...common,
    entryPoints: tests.map((f) => join(root, "test", f)),
    outdir: out,
    outExtension: { ".js": ".mjs" },
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    packages: "external",
  });
}

function pageConfig(env) {
  const config = { apiBase: env.PATGATE_API_BASE || "http://127.0.0.1:3000", mode: "local" };
  if (env.PATGATE_COGNITO_DOMAIN || env.PATGATE_CLIENT_ID) {
    config.mode = "cognito";
    config.cognitoDomain = env.PATGATE_COGNITO_DOMAIN ?? "";
    config.clientId = env.PATGATE_CLIENT_ID ?? "";
    if (env.PATGATE_REDIRECT_URI) config.redirectUri = env.PATGATE_REDIRECT_URI;
  }
  return config;
}

async function buildSite() {
  const out = join(root, "dist");
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const result = await build({
    ...common,
    entryPoints: { "patgate-tokens": join(src, "patgate-tokens.ts"), page: join(src, "page.ts") },
    outdir: out,
    platform: "browser",
    minify: true,
    sourcemap: false,
    metafile: true,
  });
  await copyFile(join(src, "index.html"), join(out, "index.html"));
  await copyFile(join(src, "page.css"), join(out, "page.css"));
  await writeFile(join(out, "config.json"), `${JSON.stringify(pageConfig(process.env), null, 2)}\n`);
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    console.log(`${file.replace(`${root}/`, "")}  ${info.bytes} bytes`);
  }
}

/** Each element as a page would load it alone (its parts and Lit included). */
const ELEMENTS = {
  "<patgate-tokens> (all its parts)": "patgate-tokens.ts",
  "<patgate-token-table>": "token-table.ts",
  "<patgate-token-form>": "token-form.ts",
  "<patgate-token-reveal>": "token-reveal.ts",
  "<patgate-revoke-dialog>, <patgate-rotate-dialog>": "token-dialogs.ts",
  "<patgate-revoked-tokens>": "revoked-tokens.ts",
  "Lit alone": "lit",
};

async function sizes() {
  const rows = [];
  for (const [element, entry] of Object.entries(ELEMENTS)) {
    const result = await build({
      ...common,
      stdin:
        entry === "lit"
          ? { contents: 'export * from "lit";', resolveDir: root, loader: "js" }
          : { contents: `export * from "./${entry.replace(/\.ts$/, ".js")}";`, resolveDir: src, loader: "ts" },
      platform: "browser",
      minify: true,
      write: false,
    });
    const bytes = result.outputFiles[0].contents;
    rows.push({ element, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
  }
  console.log(JSON.stringify(rows));
}

if (process.argv.includes("--tests")) await buildTests();
else if (process.argv.includes("--sizes")) await sizes();
else await buildSite();
