// ncc's --minify skips split chunks: scripts/bundle.js and the bench's probes both terser them with
// these settings, so a probe is built the way dist/ is.
import { minify } from 'terser';

/** @param {string} code @param {object | false} sourceMap terser's sourceMap option */
export async function minifyChunk(code, sourceMap = false) {
  return minify(code, { module: true, compress: true, mangle: true, sourceMap });
}
