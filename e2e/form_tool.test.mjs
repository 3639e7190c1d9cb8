// The embeddable form, in a real browser: a client's page (served here by node, on its own
// origin, under a strict Content-Security-Policy: no inline script, no eval) includes
// GET /visura/formTool/{hash}.js from the real `sportello` binary for two services, one with file
// fields. The test types bad values and sees the browser-side errors, then good ones; the page's
// callback receives each json_visura, and the test (not the script, which never holds a token)
// submits it with POST /richiesta, which the server accepts.

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const output = join(here, "output");
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(root, process.env.CARGO_TARGET_DIR)
  : join(root, "target");
const binary = process.env.SPORTELLO_BIN ?? join(targetDir, "debug", "sportello");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
// Certificato stato di famiglia: eight text fields, all required.
const FAMIGLIA = "4c84e22bbabd5f25b0102bb3bfe82790";
// Domanda Assegno Unico: text fields and three files, the third optional.
const ASSEGNO = "224fcc49770edad354cdd9c480a7e50e";
const CF = "RSSMRA85T10H501O";

function pdf(tag) {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% ${tag}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
  );
}

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

/** The client's page: markup only; its own script is a file, as a strict CSP requires. */
function hostPage(base) {
  return `<!doctype html>
<html lang="it"><head><meta charset="utf-8"><title>Pratiche</title></head>
<body>
  <h1>Richiedi una pratica</h1>
  <section id="famiglia"></section>
  <section id="assegno"></section>
  <pre id="ricevuto"></pre>
  <script src="${base}/visura/formTool/${FAMIGLIA}.js"></script>
  <script src="${base}/visura/formTool/${ASSEGNO}.js"></script>
  <script src="/page.js"></script>
</body></html>`;
}

const PAGE_JS = `
window.received = {};
["${FAMIGLIA}", "${ASSEGNO}"].forEach(function (hash) {
  var target = hash === "${FAMIGLIA}" ? "#famiglia" : "#assegno";
  SportelloFormTool.render(target, {
    hash_visura: hash,
    onSubmit: function (jsonVisura, info) {
      window.received[info.hash_visura] = jsonVisura;
      document.getElementById("ricevuto").textContent = "ricevuto " + info.hash_visura;
    },
  });
});
document.addEventListener("securitypolicyviolation", function (e) {
  window.violations = (window.violations || []).concat(e.violatedDirective + " " + e.blockedURI);
});
`;

async function main() {
  assert.ok(existsSync(binary), `build the binary first (cargo build): ${binary} is missing`);
  assert.ok(existsSync(browserPath), `install Debian's chromium: ${browserPath} is missing`);
  mkdirSync(output, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "sportello-e2e-form-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { ...process.env, RUST_LOG: "warn" };
  for (const k of Object.keys(env)) if (k.startsWith("SPORTELLO_")) delete env[k];
  const server = spawn(
    binary,
    ["serve", "--data-dir", join(work, "data"), "--listen", `127.0.0.1:${port}`],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let printed = "";
  server.stdout.on("data", (d) => (printed += d));
  let logs = "";
  server.stderr.on("data", (d) => (logs += d));

  // The client's page, on another origin, under a CSP that allows only its own scripts and
  // Sportello's: the form must work without inline script, eval or inline styles.
  const host = createServer((req, res) => {
    const csp = `default-src 'none'; script-src 'self' ${base}; style-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'`;
    if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": csp });
      res.end(hostPage(base));
    } else if (req.url === "/page.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
      res.end(PAGE_JS);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((ok) => host.listen(0, "127.0.0.1", ok));
  const hostBase = `http://127.0.0.1:${host.address().port}`;

  let browser;
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (printed.includes("client token")) {
        const r = await fetch(`${base}/healthz`).catch(() => null);
        if (r?.ok) break;
      }
      assert.ok(Date.now() < deadline, `the server did not start:\n${printed}\n${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const clientToken = /client token \(test\):\s+(\S+)/.exec(printed)?.[1];
    assert.ok(clientToken, "the first start prints the demo client token");
    const submit = async (hash, jsonVisura) => {
      const r = await fetch(`${base}/richiesta`, {
        method: "POST",
        headers: { authorization: `Bearer ${clientToken}`, "content-type": "application/json" },
        body: JSON.stringify({ hash_visura: hash, json_visura: jsonVisura }),
      });
      return { status: r.status, json: await r.json() };
    };

    browser = await chromium.launchPersistentContext(join(work, "profile"), {
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
    const page = browser.pages()[0] ?? (await browser.newPage());
    const problems = [];
    page.on("console", (m) => {
      if (m.location()?.url?.endsWith("/favicon.ico")) return;
      if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(`${hostBase}/`);

    // --- Stato di famiglia: text fields, rendered in `ordine` with their istruzioni ----------
    const famiglia = page.locator("#famiglia form");
    await famiglia.waitFor();
    const labels = await famiglia.locator("label").allTextContents();
    assert.equal(labels.length, 8, labels.join(", "));
    assert.equal(labels[0], "Nome");
    assert.ok(labels.indexOf("Cognome") < labels.indexOf("Data di nascita"), labels.join(", "));
    assert.ok(
      (await famiglia.locator(".sportello-istruzioni").allTextContents()).includes(
        "Inserisci il cognome del richiedente",
      ),
    );
    const field = (form, label) => form.getByLabel(label, { exact: true });
    const errorOf = (form, key) => form.locator(`.sportello-campo[data-chiave="${key}"] .sportello-errore`);
    const send = (form) => form.getByRole("button", { name: "Conferma" }).click();

    // Nothing filled: every field is required, and the callback is not called.
    await send(famiglia);
    await assert.doesNotReject(
      famiglia.locator(".sportello-errore-generale", { hasText: "Mancano dati" }).waitFor(),
    );
    assert.equal(await errorOf(famiglia, "$0").textContent(), "Campo obbligatorio.");
    await page.screenshot({ path: join(output, "form-01-empty.png"), fullPage: true });

    // Bad shapes, caught in the browser by the JSON Schema's patterns.
    await field(famiglia, "Nome").fill("Mario");
    await field(famiglia, "Cognome").fill("Rossi");
    await field(famiglia, "Data di nascita").fill("10/12/1985");
    await field(famiglia, "Stato di nascita").fill("Italia");
    await field(famiglia, "Comune di nascita").fill("Roma");
    await field(famiglia, "Provincia di residenza").fill("Roma");
    await field(famiglia, "Comune di residenza").fill("H501");
    await famiglia.locator('input[name="$7"]').fill("RSSMRA85");
    await send(famiglia);
    await famiglia.locator(".sportello-errore-generale", { hasText: "Correggi" }).waitFor();
    assert.match(await errorOf(famiglia, "$2").textContent(), /AAAA-MM-GG/);
    assert.match(await errorOf(famiglia, "$5").textContent(), /provincia/);
    assert.match(await errorOf(famiglia, "$7").textContent(), /Codice fiscale/);
    assert.equal(await errorOf(famiglia, "$0").textContent(), "");
    assert.equal(await page.evaluate(() => Object.keys(window.received).length), 0);
    await page.screenshot({ path: join(output, "form-02-invalid.png"), fullPage: true });

    // Corrected: the callback gets the json_visura, the server accepts it.
    await field(famiglia, "Data di nascita").fill("1985-12-10");
    await field(famiglia, "Provincia di residenza").fill("RM");
    await famiglia.locator('input[name="$7"]').fill(CF);
    await send(famiglia);
    await page.locator("#ricevuto", { hasText: FAMIGLIA }).waitFor();
    assert.equal(await famiglia.locator(".sportello-errore-generale").textContent(), "");
    const fromFamiglia = await page.evaluate((h) => window.received[h], FAMIGLIA);
    assert.deepEqual(Object.keys(fromFamiglia).sort(), ["$0", "$1", "$2", "$3", "$4", "$5", "$6", "$7"]);
    assert.equal(fromFamiglia.$2, "1985-12-10");
    const created = await submit(FAMIGLIA, fromFamiglia);
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.data.hash_visura, FAMIGLIA);

    // --- Assegno Unico: files read as data: URLs; the third is optional ----------------------
    const assegno = page.locator("#assegno form");
    await field(assegno, "Nome").fill("Mario");
    await field(assegno, "COGNOME").fill("Rossi");
    await field(assegno, "Email").fill("mario.rossi@example");
    await field(assegno, "CELLULARE").fill("3331234567");
    await field(assegno, "CODICE FISCALE").fill(CF);
    const file = (key) => assegno.locator(`input[name="${key}"]`);
    assert.equal(await file("$5").getAttribute("type"), "file");
    await file("$5").setInputFiles({ name: "documento.pdf", mimeType: "application/pdf", buffer: pdf("documento") });
    await send(assegno);
    await assegno.locator(".sportello-errore-generale", { hasText: "Correggi" }).waitFor();
    assert.match(await errorOf(assegno, "$2").textContent(), /e-mail/);
    await field(assegno, "Email").fill("mario.rossi@example.com");
    await send(assegno);
    // The codice fiscale copy is missing.
    await assegno.locator(".sportello-errore-generale", { hasText: "Mancano dati" }).waitFor();
    assert.equal(await errorOf(assegno, "$6").textContent(), "Campo obbligatorio.");
    assert.equal(await errorOf(assegno, "$7").textContent(), "", "the mandate is optional");
    await page.screenshot({ path: join(output, "form-03-missing-file.png"), fullPage: true });
    await file("$6").setInputFiles({ name: "codice|fiscale.pdf", mimeType: "application/pdf", buffer: pdf("cf") });
    await send(assegno);
    await page.locator("#ricevuto", { hasText: ASSEGNO }).waitFor();
    const fromAssegno = await page.evaluate((h) => window.received[h], ASSEGNO);
    assert.deepEqual(Object.keys(fromAssegno).sort(), ["$0", "$1", "$2", "$3", "$4", "$5", "$6"]);
    assert.equal(
      fromAssegno.$5,
      `documento.pdf|data:application/pdf;base64,${pdf("documento").toString("base64")}`,
    );
    assert.ok(fromAssegno.$6.startsWith("codice_fiscale.pdf|data:application/pdf;base64,"), fromAssegno.$6);
    const withFiles = await submit(ASSEGNO, fromAssegno);
    assert.equal(withFiles.status, 200, JSON.stringify(withFiles.json));
    assert.equal(withFiles.json.data.hash_visura, ASSEGNO);
    await page.screenshot({ path: join(output, "form-04-done.png"), fullPage: true });

    // The page's CSP forbids inline script and eval: nothing was blocked, nothing failed.
    const violations = await page.evaluate(() => window.violations || []);
    assert.deepEqual(violations, []);
    assert.deepEqual(problems, []);
    console.log("e2e form tool: ok");
  } finally {
    await browser?.close().catch(() => {});
    host.close();
    server.kill("SIGTERM");
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
