/** Debian's Chromium: Playwright's own browser download is not available on this kind of machine. */
export const chromiumPath = '/usr/bin/chromium';

/** Flags for headless Chromium in the browser tests, the bundle test and the browser bench. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
