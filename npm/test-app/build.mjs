// Bundles app.ts and web.ts into dist/ with esbuild. esbuild does not load a WebAssembly
// module as an ES module (what `--target bundler` output expects, as webpack's
// asyncWebAssembly and vite-plugin-wasm do), so a small plugin does: it fetches the .wasm
// (copied by the file loader) and instantiates it with the modules it imports.
import * as esbuild from "esbuild";
import { readFile } from "node:fs/promises";
import path from "node:path";

const wasmAsModule = {
  name: "wasm-as-module",
  setup(build) {
    build.onResolve({ filter: /\.wasm\?url$/ }, (args) => ({
      path: args.path.slice(0, -4),
      namespace: "wasm-url",
    }));
    build.onLoad({ filter: /.*/, namespace: "wasm-url" }, async (args) => ({
      contents: await readFile(args.path),
      loader: "file",
    }));
    // The bundler target's own import of its .wasm; other .wasm imports are URLs (web.ts).
    build.onLoad({ filter: /[\\/]bundler[\\/][^\\/]+\.wasm$/ }, async (args) => {
      const module = new WebAssembly.Module(await readFile(args.path));
      const from = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))];
      const names = WebAssembly.Module.exports(module).map((e) => e.name);
      const contents = [
        `import url from ${JSON.stringify(args.path + "?url")};`,
        ...from.map((m, i) => `import * as i${i} from ${JSON.stringify(m)};`),
        `const imports = {${from.map((m, i) => `${JSON.stringify(m)}: i${i}`).join(", ")}};`,
        // The file loader's URL is relative to the bundle, not to the page.
        `const bytes = await (await fetch(new URL(url, import.meta.url))).arrayBuffer();`,
        `const { instance } = await WebAssembly.instantiate(bytes, imports);`,
        ...names.map((n, i) => `const x${i} = instance.exports[${JSON.stringify(n)}];`),
        `export { ${names.map((n, i) => `x${i} as ${JSON.stringify(n)}`).join(", ")} };`,
      ].join("\n");
      return { contents, loader: "js", resolveDir: path.dirname(args.path) };
    });
  },
};

await esbuild.build({
  entryPoints: ["app.ts", "web.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  outdir: "dist",
  loader: { ".wasm": "file" },
  plugins: [wasmAsModule],
  logLevel: "warning",
});
