// What esbuild's loaders give (build.mjs): a file's URL.
declare module "*.wasm" {
  const url: string;
  export default url;
}
declare module "*.css";
