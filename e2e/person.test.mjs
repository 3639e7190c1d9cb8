// The person's page (issue 18), end to end in a real browser: the real `sportello` binary on a
// temporary directory and a free port, mailing through a local SMTP receiver (aiosmtpd, from the
// project's test venv) and calling back a tiny HTTP receiver of this test; Debian's Chromium
// driven headless by playwright-core (no browser is ever downloaded).
//
// The flow, run twice — with JavaScript, then with JavaScript disabled in the person's browser
// (the pages have no script, so nothing changes): the client creates an ISEE draft with part of
// the data and invites the person by e-mail; the invitation arrives through the outbox; the
// person opens the link, gets the code by e-mail and types it (a wrong one first), reads who asks
// and the privacy notice, fills the rest of the form (an invalid codice fiscale first: the
// Italian error next to the field, the values kept), uploads the ID and codice fiscale scans,
// accepts the mandate on screen with the second code, reads the summary (codice fiscale masked)
// and submits; the client's callback receives `request.submitted` and
// `request.invitation_completed`. An operator, in the back office, claims the request and asks
// for a document and — the demo CAF does not take an on-screen acceptance as the signed mandate —
// the hand-signed mandate; the person reads the e-mail, supplies both through the same link; the
// operator attaches a result and closes; the person downloads the result.
//
// Every page of the flow, the pages of an unknown and of a revoked link, and every back-office
// page (as admin and as operator) pass axe-core's WCAG 2.0/2.1 A and AA rules with no serious or
// critical violation (@axe-core/playwright).

import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer as createNetServer, connect } from "node:net";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const output = join(here, "output");
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(root, process.env.CARGO_TARGET_DIR)
  : join(root, "target");
const binary = process.env.SPORTELLO_BIN ?? join(targetDir, "debug", "sportello");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
// The Python with aiosmtpd: the one ./test.sh prepares, or the target's test venv.
const python = process.env.SPORTELLO_TEST_PYTHON ?? join(targetDir, "test-venv", "bin", "python");
// ISEE: a Patronato/CAF practice with `mandato_richiesto` and a checklist.
const ISEE = "38934ffe45179c4d5b88e2a6b849799a";
const CF = "RSSMRA85T10H501O";
const CF_MASKED = "RSSMRA•••••••••O";
const OPERATOR_EMAIL = "operatore@example.invalid";
const OPERATOR_PASSWORD = "password-di-prova-e2e";
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

function pdf(tag) {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% ${tag}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
  );
}

const pdfFile = (name) => ({ name, mimeType: "application/pdf", buffer: pdf(name) });

function freePort() {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Whether something listens on 127.0.0.1:`port`. */
function canConnect(port) {
  return new Promise((ok) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      ok(true);
    });
    c.once("error", () => {
      c.destroy();
      ok(false);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found) return found;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The first file of a zip archive (stored or deflated), read through its central directory. */
function firstFileOfZip(zip) {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, "not a zip archive");
  const central = zip.readUInt32LE(eocd + 16);
  assert.equal(zip.readUInt32LE(central), 0x02014b50);
  const method = zip.readUInt16LE(central + 10);
  const size = zip.readUInt32LE(central + 20);
  const local = zip.readUInt32LE(central + 42);
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const data = zip.subarray(start, start + size);
  return method === 0 ? data : inflateRawSync(data);
}

// ---- E-mail, as aiosmtpd's Mailbox handler stores it (one file per message in MAILDIR/new) ----

function decodeQuotedPrintable(s) {
  const bytes = [];
  const text = s.replace(/=\r?\n/g, "");
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

function decodeBody(body, encoding) {
  switch ((encoding ?? "").trim().toLowerCase()) {
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    case "quoted-printable":
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

/** RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`). */
function decodeHeader(value) {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset, kind, text) =>
      kind.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : decodeQuotedPrintable(text.replace(/_/g, " ")),
    );
}

function parsePart(raw) {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split).replace(/^\r?\n\r?\n/, "");
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

/** A message's recipient, subject and plain text (the text/plain part of a multipart one). */
function parseMail(raw) {
  const { headers, body } = parsePart(raw);
  let text;
  const boundary = /boundary="?([^";]+)"?/i.exec(headers["content-type"] ?? "")?.[1];
  if (boundary) {
    const parts = body.split(`--${boundary}`).slice(1).map(parsePart);
    const plain = parts.find((p) => /text\/plain/i.test(p.headers["content-type"] ?? "")) ?? parts[0];
    text = decodeBody(plain.body, plain.headers["content-transfer-encoding"]);
  } else {
    text = decodeBody(body, headers["content-transfer-encoding"]);
  }
  return { to: headers.to ?? "", subject: decodeHeader(headers.subject ?? ""), text };
}

class Mailbox {
  constructor(dir) {
    this.dir = dir;
    this.seen = new Set();
  }

  /** Waits for the next unseen message to `to` whose subject matches `subject`. */
  async next(to, subject, timeoutMs = 20_000) {
    return until(`an e-mail to ${to} matching ${subject}`, timeoutMs, () => {
      const dir = join(this.dir, "new");
      if (!existsSync(dir)) return null;
      for (const f of readdirSync(dir).sort()) {
        if (this.seen.has(f)) continue;
        const mail = parseMail(readFileSync(join(dir, f), "utf8"));
        if (mail.to.includes(to) && subject.test(mail.subject)) {
          this.seen.add(f);
          return mail;
        }
      }
      return null;
    });
  }
}

const linkIn = (mail) => /https?:\/\/\S+\/compila\/[0-9a-f]{64}/.exec(mail.text)?.[0];
const codeIn = (mail) => /\b(\d{6})\b/.exec(mail.subject)?.[1] ?? /^\s+(\d{6})\s*$/m.exec(mail.text)?.[1];

// ---- Accessibility ----------------------------------------------------------------------------

/** axe-core through @axe-core/playwright, WCAG 2.0/2.1 A and AA: fails on any serious or critical
 * violation, naming each. AxeBuilder evaluates axe through the DevTools protocol, which the
 * pages' CSP (no inline script) does not apply to.
 *
 * A page with JavaScript disabled cannot run axe at all ("Frame cannot run scripts"): its HTML,
 * exactly as that browser received it, is served again at the same address to `checker`, a page
 * with JavaScript, so the same stylesheet applies and axe judges the very markup the person saw. */
async function checkAccessibility(page, what, checked, checker) {
  let target = page;
  const url = page.url();
  if (checker) {
    const html = await page.content();
    const same = (u) => u.href === url;
    await checker.route(same, (route) =>
      route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }),
    );
    await checker.goto(url);
    await checker.unroute(same);
    target = checker;
  }
  // Legacy mode runs axe in the page itself instead of opening a blank page to gather each
  // result: half the time, and these pages have no frames for the newer mode to reach.
  const result = await new AxeBuilder({ page: target }).withTags(AXE_TAGS).setLegacyMode().analyze();
  const found = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(" ")).join("\n  ")}`);
  assert.deepEqual(found, [], `${what} (${url}): accessibility violations`);
  checked?.push(what);
}

// ---- The test ---------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  assert.ok(existsSync(binary), `build the binary first (cargo test --no-run): ${binary} is missing`);
  assert.ok(existsSync(browserPath), `install Debian's chromium: ${browserPath} is missing`);
  assert.ok(existsSync(python), `a Python with aiosmtpd is needed (SPORTELLO_TEST_PYTHON): ${python}`);
  mkdirSync(output, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "sportello-e2e-persona-"));
  const dataDir = join(work, "data");
  const maildir = join(work, "mail");
  const port = await freePort();
  const smtpPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const global = ["--data-dir", dataDir, "--listen", `127.0.0.1:${port}`];
  const env = { ...process.env, RUST_LOG: "warn" };
  for (const k of Object.keys(env)) if (k.startsWith("SPORTELLO_")) delete env[k];
  Object.assign(env, {
    SPORTELLO_SMTP_HOST: "127.0.0.1",
    SPORTELLO_SMTP_PORT: String(smtpPort),
    SPORTELLO_SMTP_TLS: "none",
    SPORTELLO_OUTBOX_INTERVAL_SECS: "1",
    SPORTELLO_WEBHOOK_ALLOW_HTTP: "true",
    SPORTELLO_WEBHOOK_ALLOW_HOSTS: '["127.0.0.1"]',
  });

  // The client's callback receiver: every call, with the event its header names.
  const callbacks = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      callbacks.push({ event: req.headers["sportello-event"], body: JSON.parse(body || "null") });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  const callbackUrl = `http://127.0.0.1:${receiver.address().port}/callback`;

  const smtp = spawn(
    python,
    ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${smtpPort}`, "-c", "aiosmtpd.handlers.Mailbox", maildir],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let smtpLog = "";
  smtp.stderr.on("data", (d) => (smtpLog += d));
  const mailbox = new Mailbox(maildir);

  let server;
  let printed = "";
  let logs = "";
  let browser;
  try {
    await until("the SMTP receiver", 15_000, async () => {
      assert.equal(smtp.exitCode, null, `aiosmtpd exited:\n${smtpLog}`);
      return canConnect(smtpPort);
    });

    server = spawn(binary, ["serve", ...global], { env, stdio: ["ignore", "pipe", "pipe"] });
    server.stdout.on("data", (d) => (printed += d));
    server.stderr.on("data", (d) => (logs += d));
    await until("the server", 30_000, async () => {
      assert.equal(server.exitCode, null, `the server exited:\n${printed}\n${logs}`);
      if (!printed.includes("administrator password")) return false;
      return (await fetch(`${base}/healthz`).catch(() => null))?.ok;
    });
    const clientToken = /client token \(live\):\s+(\S+)/.exec(printed)?.[1];
    assert.ok(clientToken, "the first start prints the demo client token");
    const adminEmail = /administrator e-mail:\s+(\S+)/.exec(printed)?.[1];
    const adminPassword = /administrator password:\s+(\S{12,})/.exec(printed)?.[1];
    assert.ok(adminEmail && adminPassword, "the first start prints the admin's credentials");

    // The demo operator gets a password through the CLI.
    const list = spawnSync(binary, ["operator", "list", ...global], { env, encoding: "utf8" });
    assert.equal(list.status, 0, list.stderr);
    const operatorId = list.stdout
      .split("\n")
      .map((l) => l.split("\t"))
      .find((cols) => cols[3] === OPERATOR_EMAIL)?.[0];
    assert.ok(operatorId, list.stdout);
    const set = spawnSync(binary, ["operator", "password", operatorId, "--stdin", ...global], {
      env,
      input: `${OPERATOR_PASSWORD}\n`,
      encoding: "utf8",
    });
    assert.equal(set.status, 0, set.stderr);

    const api = async (method, path, body) => {
      const r = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${clientToken}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, json: await r.json() };
    };

    browser = await chromium.launch({
      executablePath: browserPath,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });

    // The operator works in the back office, in a browser of their own.
    const operatorContext = await browser.newContext({ acceptDownloads: true });
    const op = await operatorContext.newPage();
    const cspViolations = [];
    const watchCsp = (page) =>
      page.on("console", (m) => {
        if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
      });
    watchCsp(op);
    const login = async (page, email, password) => {
      await page.goto(`${base}/backoffice/login`);
      await page.getByLabel("E-mail").fill(email);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Accedi" }).click();
      await page.waitForURL((u) => !u.pathname.endsWith("/login"));
    };
    await login(op, OPERATOR_EMAIL, OPERATOR_PASSWORD);

    const checked = [];
    const requests = [];
    // Where the pages a browser without JavaScript received are checked (see checkAccessibility).
    const checkerContext = await browser.newContext();
    const checker = await checkerContext.newPage();

    /** The whole flow, for one person whose browser has JavaScript or not. */
    async function personFlow({ js, email, shots }) {
      const label = js ? "JS" : "no JS";
      const check = (page, what) => checkAccessibility(page, `${what} [${label}]`, checked, js ? undefined : checker);

      // The client creates a draft with what it knows, and invites the person by e-mail.
      const created = await api("POST", "/richiesta", {
        hash_visura: ISEE,
        state: 0,
        json_visura: { $0: "Mario", $1: "Rossi", $2: email },
        callback_data: { url: callbackUrl, data: { flusso: label } },
      });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const id = created.json.data._id;
      requests.push(id);
      const invited = await api("POST", `/richiesta/${id}/invito`, {
        email,
        consegna: "email",
        messaggio: "Completa la pratica ISEE entro venerdì.",
        scadenza_giorni: 7,
        risultato_visibile: true,
      });
      assert.equal(invited.status, 200, JSON.stringify(invited.json));
      assert.equal(invited.json.data.invito.stato, "inviato");
      assert.equal(invited.json.data.invito.consegna, "email");
      assert.equal(invited.json.data.invito.url, undefined, "an e-mailed link is never in the answer");

      // The invitation arrives through the outbox.
      const invitation = await mailbox.next(email, /ti chiede di completare una pratica: ISEE/);
      const link = linkIn(invitation);
      assert.ok(link?.startsWith(`${base}/compila/`), invitation.text);
      assert.doesNotMatch(invitation.text, /Rossi|RSSMRA/, "no personal data in the invitation");

      const context = await browser.newContext({ javaScriptEnabled: js, acceptDownloads: true });
      const p = await context.newPage();
      watchCsp(p);
      try {
        // 1. The code: sent at the first opening. A wrong one first.
        await p.goto(link);
        assert.equal(await p.locator("h1").innerText(), "Apri la tua pratica");
        assert.match(await p.getByRole("status").innerText(), /Ti abbiamo inviato un codice/);
        assert.match(await p.locator("main").innerText(), /m•••@example\.com/);
        await check(p, "code page");
        if (shots) await p.screenshot({ path: join(output, "persona-01-codice.png"), fullPage: true });
        const code = codeIn(await mailbox.next(email, /codice per aprire la pratica/));
        assert.match(code ?? "", /^\d{6}$/);
        const wrong = code === "000000" ? "111111" : "000000";
        await p.getByLabel("Codice ricevuto per e-mail").fill(wrong);
        await p.getByRole("button", { name: "Continua" }).click();
        assert.match(await p.getByRole("alert").innerText(), /Il codice non è giusto\. Hai ancora 4 tentativi/);
        await check(p, "code page with a wrong code");
        await p.getByLabel("Codice ricevuto per e-mail").fill(code);
        await p.getByRole("button", { name: "Continua" }).click();

        // 2. Who asks and why.
        await p.waitForURL(`${link}/informativa`);
        const notice = await p.locator("main").innerText();
        assert.match(notice, /ti chiede di completare la pratica ISEE/);
        assert.match(notice, /Completa la pratica ISEE entro venerdì\./);
        assert.match(notice, /CAF Demo/);
        assert.match(notice, /informativa privacy/);
        await check(p, "informativa");
        if (shots) await p.screenshot({ path: join(output, "persona-02-informativa.png"), fullPage: true });
        await p.getByRole("button", { name: "Ho letto, continua" }).click();

        // 3. The form: what the client gave is read-only; an invalid codice fiscale first.
        await p.waitForURL(`${link}/modulo`);
        const given = await p.locator("dl.given").innerText();
        assert.match(given, /Mario/);
        assert.match(given, /Rossi/);
        await check(p, "modulo");
        await p.getByLabel("CELLULARE").fill("3331234567");
        await p.getByLabel("CODICE FISCALE", { exact: true }).fill("RSSMRA85T10H501X");
        await p.getByLabel(/COPIA DOCUMENTO D`IDENTITÀ/).setInputFiles(pdfFile("carta-identita.pdf"));
        await p.getByLabel(/COPIA CODICE FISCALE/).setInputFiles(pdfFile("tessera-sanitaria.pdf"));
        await p.getByRole("button", { name: "Salva e continua" }).click();
        await p.locator("#errori").waitFor();
        assert.match(await p.locator("#c4-errore").innerText(), /Il codice fiscale non è valido/);
        assert.equal(await p.getByLabel("CODICE FISCALE", { exact: true }).inputValue(), "RSSMRA85T10H501X");
        assert.equal(await p.getByLabel("CELLULARE").inputValue(), "3331234567", "the values are kept");
        assert.equal(await p.getByLabel("CODICE FISCALE", { exact: true }).getAttribute("aria-invalid"), "true");
        // The files that passed were kept: they need not be chosen again.
        assert.match(await p.locator("#c5-salvato").innerText(), /carta-identita\.pdf/);
        await check(p, "modulo with errors");
        if (shots) await p.screenshot({ path: join(output, "persona-03-modulo-errori.png"), fullPage: true });
        await p.getByLabel("CODICE FISCALE", { exact: true }).fill(CF);
        await p.getByRole("button", { name: "Salva e continua" }).click();

        // 4. The mandate: accepted on screen, confirmed with a second code.
        await p.waitForURL(`${link}/mandato`);
        assert.match(await p.locator("#stato-mandato").innerText(), /Serve la firma a mano/);
        await check(p, "mandato");
        await p.getByLabel("Ho letto e accetto il mandato").check();
        await p.getByLabel("Il tuo nome e cognome").fill("Mario Rossi");
        await p.getByRole("button", { name: "Accetto: mandami il codice" }).click();
        await p.waitForURL(/\/mandato\?esito=codice/);
        await check(p, "mandato waiting for the code");
        const second = codeIn(await mailbox.next(email, /codice per accettare il mandato/));
        assert.match(second ?? "", /^\d{6}$/);
        await p.locator("#codice-mandato").fill(second);
        await p.getByRole("button", { name: "Conferma", exact: true }).click();
        await p.waitForURL(/\/mandato\?esito=accettato/);
        assert.match(await p.getByRole("status").innerText(), /Hai accettato il mandato/);
        assert.match(await p.locator("#stato-mandato").innerText(), /Mandato accettato qui il/);
        await check(p, "mandato accepted");
        if (shots) await p.screenshot({ path: join(output, "persona-04-mandato.png"), fullPage: true });
        await p.getByRole("link", { name: "Vai al riepilogo" }).click();

        // 5. The summary (the codice fiscale masked), then "Invia".
        await p.waitForURL(`${link}/riepilogo`);
        const summary = await p.locator("main").innerText();
        assert.ok(summary.includes(CF_MASKED), summary);
        assert.ok(!(await p.content()).includes(CF), "the codice fiscale is never shown in full");
        assert.match(summary, /carta-identita\.pdf/);
        assert.match(summary, /Mandato accettato online\. Il CAF ha bisogno anche della firma a mano/);
        await check(p, "riepilogo");
        if (shots) await p.screenshot({ path: join(output, "persona-05-riepilogo.png"), fullPage: true });
        await p.getByRole("button", { name: "Invia la pratica" }).click();
        await p.waitForURL(`${link}/pratica?inviata=1`);
        assert.match(await p.getByRole("status").innerText(), new RegExp(`Il numero della pratica è ${id}`));
        assert.match(await p.locator("dl.given").innerText(), /Inviata/);
        await check(p, "pratica just sent");

        // The client hears of it.
        const events = async () =>
          callbacks.filter((c) => c.body?.data?._id === id).map((c) => c.event);
        await until(`the callbacks of ${id}`, 20_000, async () => {
          const e = await events();
          return e.includes("request.submitted") && e.includes("request.invitation_completed");
        });
        const submitted = callbacks.find((c) => c.body.data._id === id && c.event === "request.submitted");
        assert.deepEqual(submitted.body.data.callback_data.data, { flusso: label });
        const after = await api("GET", `/richiesta/${id}`);
        assert.equal(after.json.data.stato_richiesta, "In erogazione");
        assert.equal(after.json.data.invito.stato, "completato");
        assert.ok(after.json.data.invito.timestamp_stati.aperto, JSON.stringify(after.json.data.invito));
        const consents = after.json.data.consensi.map((c) => `${c.tipo}/${c.metodo}`);
        assert.deepEqual(consents.sort(), ["informativa/codice_email", "mandato/codice_email"]);
        for (const c of after.json.data.consensi) {
          assert.match(c.sha256_testo, /^[0-9a-f]{64}$/);
          assert.ok(c.fornitore && c.versione >= 1 && c.timestamp > 0, JSON.stringify(c));
          assert.equal(c.ip, undefined);
        }

        // An operator claims it and asks for a document of the checklist and the signed mandate
        // (an on-screen acceptance is not enough for the demo CAF).
        await op.goto(`${base}/backoffice/richieste/${id}`);
        await op.getByRole("button", { name: "Prendi in carico" }).click();
        await op.locator("#avviso").waitFor();
        assert.match(await op.locator("#mandato-mancante").innerText(), /Mandato mancante/);
        await op.getByLabel("Messaggio per il cliente").fill("Servono i saldi dei conti e il mandato firmato a mano.");
        await op.locator('input[name="documenti"][value="saldi_giacenze"]').check();
        await op.locator('input[name="documenti"][value="mandato"]').check();
        await op.getByRole("button", { name: "Chiedi integrazione" }).click();
        await op.locator("#avviso").waitFor();
        assert.equal(await op.locator("#stato").innerText(), "In attesa di integrazione");

        // The person hears of it and supplies both through the same link.
        const asked = await mailbox.next(email, /Servono altri dati per la pratica: ISEE/);
        assert.equal(linkIn(asked), link);
        await p.goto(linkIn(asked));
        await p.waitForURL(`${link}/pratica`);
        const status = await p.locator("main").innerText();
        assert.match(status, /Servono altri dati/);
        assert.match(status, /Servono i saldi dei conti e il mandato firmato a mano\./);
        await check(p, "pratica with documents asked");
        if (shots) await p.screenshot({ path: join(output, "persona-06-pratica-richiesta.png"), fullPage: true });
        const upload = async (labelText, file) => {
          const form = p.locator("form").filter({ has: p.getByLabel(labelText) });
          await form.getByLabel(labelText).setInputFiles(file);
          await form.getByRole("button", { name: "Invia il documento" }).click();
          await p.waitForURL(`${link}/pratica?esito=documento`);
          assert.match(await p.getByRole("status").innerText(), /Documento ricevuto/);
        };
        await upload(/^Saldo al 31 dicembre/, pdfFile("saldi.pdf"));
        await check(p, "pratica with a document received");
        await upload(/^Mandato al CAF per la DSU/, pdfFile("mandato-firmato.pdf"));
        assert.match(await p.locator("dl.given").innerText(), /Inviata/);

        // The operator sees them, attaches a result and closes.
        await op.reload();
        assert.equal(await op.locator("#stato").innerText(), "In erogazione");
        assert.equal(await op.locator("#mandato-mancante").count(), 0);
        assert.match(await op.locator("#documenti").innerText(), /mandato-firmato\.pdf/);
        const result = pdf(`esito ${id}`);
        await op.locator("#file").setInputFiles({ name: "esito.pdf", mimeType: "application/pdf", buffer: result });
        await op.getByRole("button", { name: "Carica", exact: true }).click();
        await op.locator("#risultati").waitFor();
        await op.getByRole("button", { name: "Chiudi: visura evasa" }).click();
        await op.locator("#avviso").waitFor();
        assert.equal(await op.locator("#stato").innerText(), "Visura evasa");

        // The person downloads the result from the page.
        const done = await mailbox.next(email, /Pratica completata: ISEE/);
        assert.match(done.text, /Puoi scaricare il risultato/);
        await p.goto(linkIn(done));
        await p.waitForURL(`${link}/pratica`);
        assert.match(await p.locator("dl.given").innerText(), /Completata/);
        await check(p, "pratica completed");
        if (shots) await p.screenshot({ path: join(output, "persona-07-completata.png"), fullPage: true });
        const [download] = await Promise.all([
          p.waitForEvent("download"),
          p.getByRole("link", { name: "Scarica il risultato" }).click(),
        ]);
        const zip = readFileSync(await download.path());
        assert.ok(firstFileOfZip(zip).equals(result), "the person gets the operator's PDF");

        // What the person agreed to is on record, the hand-signed mandate included.
        const closed = await api("GET", `/richiesta/${id}`);
        assert.equal(closed.json.data.stato_richiesta, "Visura evasa");
        assert.equal(closed.json.data.invito.stato, "completato");
        assert.deepEqual(closed.json.data.consensi.map((c) => `${c.tipo}/${c.metodo}`).sort(), [
          "informativa/codice_email",
          "mandato/codice_email",
          "mandato/documento_firmato",
        ]);
      } finally {
        await context.close();
      }
      return id;
    }

    await personFlow({ js: true, email: "mario.rossi@example.com", shots: true });
    await personFlow({ js: false, email: "mario.rossi.senzajs@example.com", shots: false });

    // A link that does not open: unknown, then revoked.
    {
      const context = await browser.newContext({ javaScriptEnabled: false });
      const p = await context.newPage();
      const unknown = await p.goto(`${base}/compila/${"0".repeat(64)}`);
      assert.equal(unknown.status(), 404);
      assert.equal(await p.locator("h1").innerText(), "Link non valido");
      await checkAccessibility(p, "unknown link", checked, checker);
      const draft = await api("POST", "/richiesta", {
        hash_visura: ISEE,
        state: 0,
        json_visura: { $0: "Mario", $1: "Rossi" },
      });
      const id = draft.json.data._id;
      const byLink = await api("POST", `/richiesta/${id}/invito`, {
        email: "mario.rossi@example.com",
        consegna: "link",
      });
      assert.equal(byLink.status, 200, JSON.stringify(byLink.json));
      const url = byLink.json.data.invito.url;
      assert.match(url, /\/compila\/[0-9a-f]{64}$/);
      assert.equal((await api("DELETE", `/richiesta/${id}/invito`)).status, 200);
      const revoked = await p.goto(url);
      // A revoked link's hash is no longer stored: it reads as unknown, in words that cover it.
      assert.equal(revoked.status(), 404);
      assert.equal(await p.locator("h1").innerText(), "Link non valido");
      assert.match(await p.locator("main").innerText(), /non è valido o non lo è più/);
      await checkAccessibility(p, "revoked link", checked, checker);
      await context.close();
    }

    // Every back-office page, as the admin and as the operator.
    {
      const pages = [];
      const visit = async (page, who, path) => {
        await page.goto(`${base}${path}`);
        await checkAccessibility(page, `back office ${path} as ${who}`, checked);
        pages.push(`${who} ${path}`);
      };
      const anonymous = await browser.newContext();
      const anon = await anonymous.newPage();
      await visit(anon, "anonymous", "/backoffice/login");
      await anon.getByLabel("E-mail").fill(OPERATOR_EMAIL);
      await anon.getByLabel("Password", { exact: true }).fill("non-è-la-password");
      await anon.getByRole("button", { name: "Accedi" }).click();
      await anon.getByRole("alert").waitFor();
      await checkAccessibility(anon, "back office login refused", checked);
      await anonymous.close();

      const [closedId] = requests;
      const openDraft = await api("POST", "/richiesta", {
        hash_visura: ISEE,
        json_visura: {
          $0: "Mario",
          $1: "Rossi",
          $2: "mario.rossi@example.com",
          $3: "3331234567",
          $4: CF,
          $5: `documento.pdf|data:application/pdf;base64,${pdf("documento").toString("base64")}`,
          $6: `cf.pdf|data:application/pdf;base64,${pdf("cf").toString("base64")}`,
        },
      });
      assert.equal(openDraft.status, 200, JSON.stringify(openDraft.json));
      const openId = openDraft.json.data._id;
      for (const path of [
        "/backoffice/coda",
        `/backoffice/richieste/${openId}`,
        `/backoffice/richieste/${closedId}`,
        "/backoffice/account",
        "/backoffice/richieste/req_0000000000000000000000",
      ]) {
        await visit(op, "operator", path);
      }

      const adminContext = await browser.newContext();
      const admin = await adminContext.newPage();
      watchCsp(admin);
      await login(admin, adminEmail, adminPassword);
      for (const path of [
        "/backoffice/admin",
        "/backoffice/admin/operatori",
        "/backoffice/admin/clienti",
        "/backoffice/admin/riassegna",
        "/backoffice/admin/audit",
        "/backoffice/admin/sla",
        "/backoffice/admin/fornitori",
        "/backoffice/account",
        "/backoffice/coda",
      ]) {
        await visit(admin, "admin", path);
      }
      // Pages reached from the lists: a client's statement, a provider's page.
      await admin.goto(`${base}/backoffice/admin/clienti`);
      const statement = await admin.locator('a[href*="/estratto"]').first().getAttribute("href");
      assert.ok(statement, "the clients' page links each statement");
      await visit(admin, "admin", statement);
      await admin.goto(`${base}/backoffice/admin/fornitori`);
      const provider = await admin.locator('a[href^="/backoffice/admin/fornitori/prv_"]').first().getAttribute("href");
      assert.ok(provider, "the providers' page links each provider");
      await visit(admin, "admin", provider);
      // Pages that answer a form: a new token's secret shown once, the two-step setup.
      await admin.goto(`${base}/backoffice/admin/clienti`);
      await admin.getByRole("button", { name: "Crea un token" }).first().click();
      await admin.locator("#segreto").waitFor();
      await checkAccessibility(admin, "back office new token's secret as admin", checked);
      await admin.goto(`${base}/backoffice/account`);
      await admin.getByRole("button", { name: "Attiva la verifica in due passaggi" }).click();
      await admin.getByRole("button", { name: "Conferma e attiva" }).waitFor();
      await checkAccessibility(admin, "back office two-step setup as admin", checked);
      await visit(admin, "admin", `/backoffice/richieste/${closedId}`);
      await adminContext.close();
    }

    assert.deepEqual(cspViolations, [], "the pages work under the CSP");
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `e2e persona: ok (${requests.join(", ")}); ${checked.length} pages passed axe-core; ${seconds} s`,
    );
  } catch (e) {
    if (logs) console.error(`server log:\n${logs.slice(-4000)}`);
    throw e;
  } finally {
    await browser?.close().catch(() => {});
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((r) => (server.exitCode !== null ? r() : server.once("exit", r)));
    }
    smtp.kill("SIGTERM");
    receiver.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
