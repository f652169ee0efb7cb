// Writes brotli (.br, quality 11) and gzip (.gz, level 9) copies of the
// release bundle beside it, which the server sends to browsers that accept
// them: the best compression once at build time instead of a fast one (or a
// slow one) on every request.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/precompress.mjs <site-root>/pkg');
  process.exit(2);
}
for (const name of readdirSync(dir).filter((f) => /\.(wasm|js|css)$/.test(f))) {
  const file = path.join(dir, name);
  const raw = readFileSync(file);
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  writeFileSync(`${file}.br`, br);
  writeFileSync(`${file}.gz`, gzipSync(raw, { level: 9 }));
  console.log(`${name}: ${raw.length} bytes, ${br.length} brotli`);
}
