import { readFileSync } from 'node:fs';

/**
 * Files the agent needs at run time (locales, the embedded default config, the Python SDK, the
 * native host program…), named by their path from the repository root. In a checkout they are
 * read from disk; the bundler (toolchain/bundle.ts) embeds them as `globalThis.__LOGLOOM_ASSETS__`
 * (path → base64) so that the single executable needs no files beside it.
 */
type AssetMap = Record<string, string>;

function embedded(): AssetMap | undefined {
  return (globalThis as { __LOGLOOM_ASSETS__?: AssetMap }).__LOGLOOM_ASSETS__;
}

const ROOT = new URL('../', import.meta.url);

export function readAsset(path: string): Buffer {
  const map = embedded();
  if (map) {
    const b64 = map[path];
    if (b64 === undefined) throw new Error(`asset not embedded in this build: ${path}`);
    return Buffer.from(b64, 'base64');
  }
  return readFileSync(new URL(path, ROOT));
}

export function readAssetText(path: string): string {
  return readAsset(path).toString('utf8');
}

/** Whether this process runs from a bundle (single executable) rather than a checkout. */
export function isBundled(): boolean {
  return embedded() !== undefined;
}

/** Absolute path of a repository file in a checkout (undefined when bundled). */
export function checkoutPath(path: string): string | undefined {
  return embedded() ? undefined : new URL(path, ROOT).pathname;
}
