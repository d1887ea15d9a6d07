import type { MinifyOutput, SourceMapOptions } from 'terser';
export function minifyChunk(code: string, sourceMap?: SourceMapOptions | false): Promise<MinifyOutput>;
