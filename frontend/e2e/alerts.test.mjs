// The alerts panel against the real alert engine: enable the default rules
// with one toggle, add, disable and delete a rule, and see a firing event
// caused by a burst of failed deliveries (the bin answers 500).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Browser, Hookscope, screenshot } from "./lib.mjs";

const hs = new Hookscope();
const br = new Browser();
let page;
let bin;
let hasAlerts = false;

before(async () => {
  await hs.start();
  hasAlerts = (await fetch(`${hs.url}/api/v1/alerts/rules`)).ok;
  bin = (await hs.createBin({ name: "alerts demo" })).id;
  await hs.api("PATCH", `/api/v1/bins/${bin}`, { response: { status: 500, body: "down for maintenance" } });
  page = await br.start();
  await hs.adopt(page, bin);
  br.acceptConfirms = true;
});

after(async () => {
  await br.close();
  await hs.cleanup();
});

const rulesOfBin = async () => (await hs.api("GET", "/api/v1/alerts/rules")).rules.filter((r) => r.bin_id === bin);

test("default rules with one toggle, then add, disable and delete a rule", async (t) => {
  if (!hasAlerts) return t.skip("this hookscope serves no /api/v1/alerts (alerting not wired in)");
  await page.goto(`${hs.url}/bins/${bin}/alerts`);
  await page.click("[data-testid=enable-defaults]");
  await page.click("form.open-form >> text=Enable");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=alerts] table.table tbody tr").length === 5, null, { timeout: 5000 });
  assert.equal((await rulesOfBin()).length, 5);

  await page.selectOption(".newrule select >> nth=0", "failure_spike");
  await page.fill(".newrule input >> nth=0", "e2e failures");
  await page.click(".newrule >> text=Create rule");
  await page.waitForSelector("[data-testid=alerts] td:has-text('e2e failures')");
  const mine = (await rulesOfBin()).find((r) => r.name === "e2e failures");
  assert.ok(mine, "rule created through the API");
  assert.equal(mine.kind, "failure_spike");
  assert.equal(mine.enabled, true);

  await page.click("tr:has-text('e2e failures') input[type=checkbox]");
  for (let i = 0; i < 50 && (await rulesOfBin()).find((r) => r.name === "e2e failures").enabled; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await rulesOfBin()).find((r) => r.name === "e2e failures").enabled, false);

  await page.click("tr:has-text('e2e failures') [aria-label='Delete rule']");
  await page.waitForSelector("[data-testid=alerts] td:has-text('e2e failures')", { state: "detached" });
  assert.equal((await rulesOfBin()).length, 5);
});

test("a burst of failed deliveries fires the failure_spike default rule, shown in recent events", async (t) => {
  if (!hasAlerts) return t.skip("this hookscope serves no /api/v1/alerts (alerting not wired in)");
  // Watching the Requests tab: the Alerts tab gets a dot when the rule fires.
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=live-state].live-live");
  await page.waitForFunction((b) => localStorage.getItem(`hookscope.alerts-seen.${b}`) !== null, bin);
  assert.equal(await page.locator("[data-testid=alert-dot]").count(), 0);
  for (let i = 0; i < 15; i++) await hs.capture(bin, { path: "/orders", headers: { "Content-Type": "application/json" }, body: `{"n":${i}}` });
  await page.waitForSelector("[data-testid=alert-dot]", { timeout: 25000 });
  await screenshot(page, "alert-dot");
  const deadline = Date.now() + 20000;
  let events = [];
  while (Date.now() < deadline) {
    events = (await hs.api("GET", `/api/v1/alerts/events?bin_id=${bin}`)).events;
    if (events.some((e) => e.state === "firing")) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(events.some((e) => e.state === "firing"), `a firing event, got ${JSON.stringify(events).slice(0, 300)}`);
  await page.click(".tabs a:has-text('Alerts')");
  await page.waitForSelector(".events .state-firing");
  await page.waitForSelector("[data-testid=alert-dot]", { state: "detached" });
  const text = await page.textContent(".events");
  assert.match(text, /firing/);
  await screenshot(page, "alerts");
});

test("the rule form offers every channel the server has: Discord and Teams take a URL, PagerDuty a routing key, e-mail recipients", async (t) => {
  if (!hasAlerts) return t.skip("this hookscope serves no /api/v1/alerts (alerting not wired in)");
  await page.goto(`${hs.url}/bins/${bin}/alerts`);
  await page.waitForSelector(".newrule select[name=channel_type]");
  const offered = await page.$$eval(".newrule select[name=channel_type] option", (os) => os.map((o) => o.value));
  assert.deepEqual(offered, ["slack", "webhook", "discord", "teams", "pagerduty", "email"]);
  const cases = [
    { type: "discord", dest: "https://discord.example/api/webhooks/1/secret-token", check: (c) => c.url_hint && !JSON.stringify(c).includes("secret-token") },
    { type: "teams", dest: "https://teams.example/workflows/x?sig=teams-secret", check: (c) => c.url_hint && !JSON.stringify(c).includes("teams-secret") },
    { type: "pagerduty", dest: "R0UTINGKEY0123456789abcdefABCDEF", check: (c) => !JSON.stringify(c).includes("R0UTINGKEY0123456789") },
  ];
  for (const c of cases) {
    const name = `e2e ${c.type} channel`;
    await page.selectOption(".newrule select[name=channel_type]", c.type);
    assert.equal(await page.$eval(".newrule input[name=channel_dest]", (el) => el.type), c.type === "discord" || c.type === "teams" ? "url" : "text");
    await page.fill(".newrule input >> nth=0", name);
    await page.fill(".newrule input[name=channel_dest]", c.dest);
    await page.click(".newrule >> text=Create rule");
    await page.waitForSelector(`[data-testid=alerts] td:has-text('${name}')`);
    const rule = (await rulesOfBin()).find((r) => r.name === name);
    assert.ok(rule, `rule with a ${c.type} channel created`);
    assert.equal(rule.channels.length, 1);
    assert.equal(rule.channels[0].type, c.type);
    assert.ok(c.check(rule.channels[0]), `${c.type} channel as the API shows it: ${JSON.stringify(rule.channels[0])}`);
    await page.click(`tr:has-text('${name}') [aria-label='Delete rule']`);
    await page.waitForSelector(`[data-testid=alerts] td:has-text('${name}')`, { state: "detached" });
  }
  // E-mail needs the server's SMTP relay (HOOKSCOPE_SMTP_ADDR), which this
  // one has not: the form sends the recipients and shows the server's answer.
  await page.selectOption(".newrule select[name=channel_type]", "email");
  await page.fill(".newrule input >> nth=0", "e2e email channel");
  await page.fill(".newrule input[name=channel_dest]", "oncall@example.com, dev@example.com");
  await page.click(".newrule >> text=Create rule");
  await page.waitForSelector(".toast-err:has-text('email is not configured on this server')");
  assert.equal((await rulesOfBin()).filter((r) => r.name === "e2e email channel").length, 0);
  await screenshot(page, "alert-channels");
});

test("no page errors or unexpected dialogs", () => {
  assert.deepEqual(br.errors, []);
  assert.deepEqual(br.dialogs, []);
});
