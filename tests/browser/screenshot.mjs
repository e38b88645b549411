// Saves a screenshot of a page in Debian's Chromium, headless, once its
// charts are drawn: how docs/dashboard.png is made.
//
//   node screenshot.mjs 'http://127.0.0.1:8889/#range=15min&chart=[...]' OUT.png
import { launch } from "./chromium.mjs";

const [url, out] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 820 } });
  await page.goto(url);
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: out });
} finally {
  await browser.close();
}
