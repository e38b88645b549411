// Drives Debian's Chromium, headless, through eardrum's dashboard:
//
//   node dashboard.mjs BASE_URL SCREENSHOT.png EXPECTED.json
//
// EXPECTED names a series by its tree path ({"path": ["palm", "cpu"],
// "points": 180, "last": 42.5}, and "token" for a server that wants one).
// The script gives the token when the page asks for it, opens the tree to
// the series, clicks it, waits for the chart, and checks that the chart
// holds that series with exactly those points, that its line is drawn on
// the canvas, and that the page logged no error. Then it turns on the
// 5-second refresh, overwrites the last point through the protocol port
// ("protocol_port", "last_timestamp") and waits for the chart to show the
// new value. It saves a screenshot and exits non-zero with the reasons on
// failure.
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { launch } from "./chromium.mjs";

const [base, screenshot, expectedFile] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectedFile, "utf8"));
const problems = [];

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // Before it has the token, the page's requests are refused: expected.
    const refused = expected.token && message.text().includes("401");
    if (message.type() === "error" && !refused) problems.push(`console error: ${message.text()}`);
  });
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  await page.goto(`${base}/#range=1h`);
  if (expected.token) {
    await page.locator("#token-bar").waitFor({ state: "visible", timeout: 10000 });
    await page.fill("#token", expected.token);
    await page.click("#token-form button");
  }
  const [leafName] = expected.path.slice(-1);
  for (const branch of expected.path.slice(0, -1)) {
    await page.locator("#series-list .branch > span", { hasText: new RegExp(`^${branch}$`) }).click();
  }
  await page.locator("#series-list .leaf > span", { hasText: new RegExp(`^${leafName}$`) }).click();
  const plot = page.locator(".chart.active .plot");
  await plot.locator("canvas").waitFor({ timeout: 10000 });
  const drawn = await plot.evaluate((element) => {
    const canvas = element.querySelector("canvas");
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    // The first series' colour, #2563eb, allowing for anti-aliasing.
    let line = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
      if (a > 128 && b > 180 && r < 110 && g < 150) line += 1;
    }
    return {
      series: JSON.parse(element.dataset.series),
      points: Number(element.dataset.points),
      last: JSON.parse(element.dataset.last),
      line,
      legend: [...document.querySelectorAll(".chart.active .u-legend .u-series:not(:first-child) .u-label")]
        .map((label) => label.textContent),
      hash: decodeURIComponent(location.hash),
    };
  });
  const key = expected.path.join(".");
  const check = (ok, what) => ok || problems.push(`${what}: ${JSON.stringify(drawn)}`);
  check(JSON.stringify(drawn.series) === JSON.stringify([key]), `the chart should hold ${key}`);
  check(JSON.stringify(drawn.legend) === JSON.stringify([key]), `the legend should name ${key}`);
  check(drawn.points === expected.points, `the chart should have ${expected.points} points`);
  check(drawn.last[0] === expected.last, `the last value should be ${expected.last}`);
  check(drawn.line > 200, "the line should be drawn on the canvas");
  check(drawn.hash.includes(`chart=["${key}"]`), "the URL should remember the chart");
  console.log(JSON.stringify(drawn));

  await page.selectOption("#refresh", "5");
  await put(`palm.cpu 77.25 ${expected.last_timestamp}`);
  const refreshed = await page
    .waitForFunction(() => document.querySelector(".chart.active .plot").dataset.last === "[77.25]", null, {
      timeout: 15000,
    })
    .then(() => true, () => false);
  if (!refreshed) problems.push("auto-refresh did not show the new value within 15 s");
  if (!decodeURIComponent(await page.evaluate(() => location.hash)).includes("refresh=5")) {
    problems.push("the URL should remember the refresh interval");
  }
  await page.screenshot({ path: screenshot });
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}

// Stores one point through the protocol port, with the token if any.
function put(row) {
  return new Promise((resolve, reject) => {
    const socket = connect(expected.protocol_port, "127.0.0.1", () => {
      socket.end(`${expected.token ? `auth ${expected.token}\n` : ""}put ${row}\n`);
    });
    let reply = "";
    socket.on("data", (data) => (reply += data));
    socket.on("end", () => (reply.endsWith("ok\n\n") ? resolve() : reject(new Error(`put ${row}: ${reply}`))));
    socket.on("error", reject);
  });
}
