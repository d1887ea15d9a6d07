/** The one jsdom API the Mermaid parser helper uses (no @types/jsdom: it pulls in a newer @types/node). */
declare module 'jsdom' {
  export class JSDOM {
    constructor(html?: string);
    readonly window: Window & typeof globalThis;
  }
}
