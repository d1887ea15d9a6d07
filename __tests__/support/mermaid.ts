/**
 * The real Mermaid parser (npm `mermaid`) in Node: its xychart parser sanitises text with DOMPurify,
 * which needs a DOM, so a jsdom window is installed before Mermaid is loaded.
 */
import { JSDOM } from 'jsdom';

type Mermaid = { parse(text: string): Promise<{ diagramType: string } | false> };
let loaded: Promise<Mermaid> | undefined;

function load(): Promise<Mermaid> {
  loaded ??= (async () => {
    const dom = new JSDOM('<!doctype html><html><body></body></html>');
    Object.assign(globalThis, { window: dom.window, document: dom.window.document });
    const { default: mermaid } = (await import('mermaid')) as unknown as { default: Mermaid };
    return mermaid;
  })();
  return loaded;
}

/** The diagram type Mermaid recognised; throws Mermaid's own parse error for bad text. */
export async function parseMermaid(text: string): Promise<string> {
  const result = await (await load()).parse(text);
  if (!result) throw new Error('mermaid.parse returned false');
  return result.diagramType;
}
