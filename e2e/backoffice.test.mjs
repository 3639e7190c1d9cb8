// End to end, in a real browser: the real `sportello` binary on a temporary directory and a free
// port, Debian's Chromium driven headless by playwright-core (no browser is ever downloaded).
//
// A client submits an Assegno Unico request through the API; an operator logs in to the back
// office, finds it in the queue, claims it, asks for integration; the client answers with
// PUT /richiesta/{id}; the operator sees it back, uploads a PDF, closes the request; the client
// downloads that same PDF; the operator downloads the practice's file. Then the paperwork: a
// second request without the mandate is marked "Mandato mancante"; the operator asks for
// documents from the service's checklist, the client supplies them by API, the operator
// downloads one; the close is refused until the client uploads the mandate asked with one
// click. Then an admin edits the demo CAF's party data and privacy notice on its provider page.
// The new pages and states are checked with axe-core. Screenshots of the main pages go to
// e2e/output/ (git-ignored).

import { chromium } from "playwright-core";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
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
const ASSEGNO = "224fcc49770edad354cdd9c480a7e50e";
const OPERATOR_EMAIL = "operatore@example.invalid";
const OPERATOR_PASSWORD = "password-di-prova-e2e";

function pdf(tag) {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% ${tag}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
  );
}

const pdfField = (name) => `${name}|data:application/pdf;base64,${pdf(name).toString("base64")}`;

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
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

const axeSource = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");

/** Runs axe-core on the page (WCAG 2.x A and AA rules) and fails listing every violation. The
 * script is evaluated through the DevTools protocol, not added as a tag: the page's CSP
 * rightly refuses inline scripts. */
async function checkAccessibility(page, what) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(" ")).join("\n  ")}`,
  );
  assert.deepEqual(found, [], `${what}: accessibility violations`);
}

async function main() {
  assert.ok(existsSync(binary), `build the binary first (cargo build): ${binary} is missing`);
  assert.ok(existsSync(browserPath), `install Debian's chromium: ${browserPath} is missing`);
  mkdirSync(output, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "sportello-e2e-"));
  const dataDir = join(work, "data");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const global = ["--data-dir", dataDir, "--listen", `127.0.0.1:${port}`];
  const env = { ...process.env, RUST_LOG: "warn" };
  for (const k of Object.keys(env)) if (k.startsWith("SPORTELLO_")) delete env[k];

  const server = spawn(binary, ["serve", ...global], { env, stdio: ["ignore", "pipe", "pipe"] });
  let printed = "";
  server.stdout.on("data", (d) => (printed += d));
  let logs = "";
  server.stderr.on("data", (d) => (logs += d));
  let browser;
  try {
    // Ready when the first start has printed its tokens and the health check answers.
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (printed.includes("administrator password")) {
        const r = await fetch(`${base}/healthz`).catch(() => null);
        if (r?.ok) break;
      }
      assert.ok(Date.now() < deadline, `the server did not start:\n${printed}\n${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const clientToken = /client token \(live\):\s+(\S+)/.exec(printed)?.[1];
    assert.ok(clientToken, "the first start prints the demo client token");
    const adminEmail = /administrator e-mail:\s+(\S+)/.exec(printed)?.[1];
    const adminPassword = /administrator password:\s+(\S{12,})/.exec(printed)?.[1];
    assert.ok(adminEmail && adminPassword, "the first start prints the admin's credentials");

    // The demo operator gets a password through the CLI verb a newcomer would use.
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

    // The client submits a request.
    const created = await api("POST", "/richiesta", {
      hash_visura: ASSEGNO,
      json_visura: {
        $0: "Mario",
        $1: "Rossi",
        $2: "mario.rossi@example.com",
        $3: "3331234567",
        $4: "RSSMRA85T10H501O",
        $5: pdfField("documento.pdf"),
        $6: pdfField("codice_fiscale.pdf"),
        $7: pdfField("mandato.pdf"),
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const id = created.json.data._id;

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
    const violations = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });

    const login = async (email, password) => {
      await page.goto(`${base}/backoffice/login`);
      await page.getByLabel("E-mail").fill(email);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Accedi" }).click();
    };

    // The newcomer's path: the admin logs in with the printed password and creates an operator
    // of the demo CAF; the new password is shown once.
    await page.goto(`${base}/backoffice/login`);
    await page.screenshot({ path: join(output, "01-login.png"), fullPage: true });
    await login(adminEmail, adminPassword);
    await page.waitForURL(`${base}/backoffice/admin`);
    await page.getByRole("link", { name: "Operatori", exact: true }).first().click();
    await page.getByLabel("Fornitore").selectOption({ label: "CAF Demo" });
    await page.getByLabel("Nome").fill("Giulia Bianchi");
    await page.getByLabel("E-mail (per l'accesso)").fill("giulia@example.com");
    await page.getByRole("button", { name: "Crea l'operatore" }).click();
    const giuliaPassword = (await page.locator("#segreto").innerText()).trim();
    assert.ok(giuliaPassword.length >= 12);
    await page.screenshot({ path: join(output, "02-admin-operatore.png"), fullPage: true });
    await page.getByRole("button", { name: "Esci" }).click();
    await page.waitForURL(`${base}/backoffice/login`);

    // The demo operator's password was set with the CLI: it works too.
    await login(OPERATOR_EMAIL, OPERATOR_PASSWORD);
    await page.waitForURL(`${base}/backoffice/coda`);
    await page.getByRole("button", { name: "Esci" }).click();
    await page.waitForURL(`${base}/backoffice/login`);

    // The new operator logs in.
    await login("giulia@example.com", giuliaPassword);
    await page.waitForURL(`${base}/backoffice/coda`);

    // Find the request in the queue and open it.
    const row = page.locator(`tr[data-id="${id}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /In erogazione/);
    await page.screenshot({ path: join(output, "03-coda.png"), fullPage: true });
    await row.getByRole("link", { name: id }).click();
    await page.waitForURL(`${base}/backoffice/richieste/${id}`);
    assert.equal(await page.locator("#stato").innerText(), "In erogazione");

    // Claim it.
    await page.getByRole("button", { name: "Prendi in carico" }).click();
    await page.locator("#avviso").waitFor();
    assert.equal(await page.locator("#assegnata").innerText(), "a te");
    await page.screenshot({ path: join(output, "04-richiesta.png"), fullPage: true });

    // Ask for integration of the identity document ($5).
    await page.getByLabel("Messaggio per il cliente").fill("Il documento d'identità è illeggibile");
    await page.locator('input[name="campi"][value="$5"]').check();
    await page.getByRole("button", { name: "Chiedi integrazione" }).click();
    await page.locator("#avviso").waitFor();
    assert.equal(await page.locator("#stato").innerText(), "In attesa di integrazione");
    const asked = await api("GET", `/richiesta/${id}`);
    assert.equal(asked.json.data.stato_richiesta, "In attesa di integrazione");
    assert.deepEqual(asked.json.data.integrazione.campi, ["$5"]);

    // The client answers; the operator sees the request back in progress.
    const answered = await api("PUT", `/richiesta/${id}`, {
      "json_visura.$5": pdfField("documento-nuovo.pdf"),
    });
    assert.equal(answered.status, 200, JSON.stringify(answered.json));
    await page.reload();
    assert.equal(await page.locator("#stato").innerText(), "In erogazione");
    assert.match(await page.locator("#storia").innerText(), /integrazione fornita/);

    // Upload the result and close.
    const result = pdf(`esito ${id}`);
    await page.locator("#file").setInputFiles({
      name: "esito.pdf",
      mimeType: "application/pdf",
      buffer: result,
    });
    await page.getByRole("button", { name: "Carica", exact: true }).click();
    await page.locator("#risultati").waitFor();
    assert.match(await page.locator("#risultati").innerText(), /esito\.pdf/);
    await page.getByRole("button", { name: "Chiudi: visura evasa" }).click();
    await page.locator("#avviso").waitFor();
    assert.equal(await page.locator("#stato").innerText(), "Visura evasa");
    await page.screenshot({ path: join(output, "05-evasa.png"), fullPage: true });

    // The practice's file, for the provider's archive: a zip whose first entry is fascicolo.pdf.
    const [fascicolo] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Scarica fascicolo" }).click(),
    ]);
    assert.equal(fascicolo.suggestedFilename(), `fascicolo-${id}.zip`);
    const fascicoloZip = readFileSync(await fascicolo.path());
    assert.equal(firstFileOfZip(fascicoloZip).subarray(0, 5).toString(), "%PDF-");
    assert.deepEqual(violations, [], "the pages work under the CSP");

    // The client downloads the very same file.
    const download = await fetch(`${base}/documento/${id}/download`, {
      headers: { authorization: `Bearer ${clientToken}` },
    });
    assert.equal(download.status, 200);
    const zip = Buffer.from(await download.arrayBuffer());
    assert.ok(firstFileOfZip(zip).equals(result), "the client gets the uploaded PDF");

    // The paperwork. A second request comes without the signed mandate ($7): the queue and the
    // page say "Mandato mancante".
    const withoutMandate = await api("POST", "/richiesta", {
      hash_visura: ASSEGNO,
      json_visura: {
        $0: "Mario",
        $1: "Rossi",
        $2: "mario.rossi@example.com",
        $3: "3331234567",
        $4: "RSSMRA85T10H501O",
        $5: pdfField("documento.pdf"),
        $6: pdfField("codice_fiscale.pdf"),
      },
    });
    assert.equal(withoutMandate.status, 200, JSON.stringify(withoutMandate.json));
    const second = withoutMandate.json.data._id;
    await page.goto(`${base}/backoffice/coda`);
    const secondRow = page.locator(`tr[data-id="${second}"]`);
    await secondRow.waitFor();
    assert.match(await secondRow.innerText(), /Mandato mancante/);
    await checkAccessibility(page, "queue with a missing mandate");
    await secondRow.getByRole("link", { name: second }).click();
    await page.waitForURL(`${base}/backoffice/richieste/${second}`);
    const requestUrl = page.url();
    assert.match(await page.locator("#mandato-mancante").innerText(), /non può essere chiusa come evasa/);
    await page.getByRole("button", { name: "Prendi in carico" }).click();
    await page.locator("#avviso").waitFor();
    await checkAccessibility(page, "request page with a missing mandate and the checklist");
    await page.screenshot({ path: join(output, "08-mandato-mancante.png"), fullPage: true });

    // The operator asks for a checklist document and one of its own.
    await page.getByLabel("Messaggio per il cliente").fill("Servono l'ISEE e il contratto d'affitto.");
    await page.getByLabel("Attestazione ISEE valida").check();
    await page.getByLabel("Altro documento: codice").fill("contratto_locazione");
    await page.getByLabel("Altro documento: descrizione per il cliente").fill("Contratto di affitto registrato");
    await page.getByRole("button", { name: "Chiedi integrazione" }).click();
    await page.locator("#avviso").waitFor();
    assert.equal(await page.locator("#stato").innerText(), "In attesa di integrazione");
    const askedDocs = await page.locator("#documenti-chiesti").innerText();
    assert.match(askedDocs, /Contratto di affitto registrato/);
    assert.equal((askedDocs.match(/non ancora fornito/g) ?? []).length, 2, askedDocs);
    await checkAccessibility(page, "request page with documents asked");

    // The client supplies them by API, as JSON.
    const lease = pdf(`contratto ${second}`);
    for (const [codice, file] of [
      ["contratto_locazione", `contratto.pdf|data:application/pdf;base64,${lease.toString("base64")}`],
      ["isee", pdf("isee").toString("base64")],
    ]) {
      const supplied = await api("POST", `/richiesta/${second}/documenti`, { codice, file });
      assert.equal(supplied.status, 200, JSON.stringify(supplied.json));
    }

    // The operator sees them arrived, the request back in progress, and downloads the lease.
    await page.goto(requestUrl);
    assert.equal(await page.locator("#stato").innerText(), "In erogazione");
    assert.match(await page.locator("#documenti").innerText(), /contratto\.pdf/);
    assert.match(await page.locator("#storia").innerText(), /documento fornito dal cliente/);
    await checkAccessibility(page, "request page with documents supplied");
    await page.screenshot({ path: join(output, "09-documenti.png"), fullPage: true });
    const [downloaded] = await Promise.all([
      page.waitForEvent("download"),
      page.locator('#documenti tr[data-codice="contratto_locazione"] a').click(),
    ]);
    assert.ok(readFileSync(await downloaded.path()).equals(lease), "the operator gets the lease");

    // With a result but no mandate, the close is refused in Italian.
    await page.locator("#file").setInputFiles({
      name: "esito.pdf",
      mimeType: "application/pdf",
      buffer: pdf(`esito ${second}`),
    });
    await page.getByRole("button", { name: "Carica", exact: true }).click();
    await page.locator("#risultati").waitFor();
    await page.getByRole("button", { name: "Chiudi: visura evasa" }).click();
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").innerText(), /Mandato mancante: chiedi al cliente/);
    await checkAccessibility(page, "close refused without a mandate");

    // One click asks for the mandate; once the client uploads it, the practice closes.
    await page.goto(requestUrl);
    await page.getByRole("button", { name: "Chiedi il mandato al cliente" }).click();
    await page.locator("#avviso").waitFor();
    assert.equal(await page.locator("#stato").innerText(), "In attesa di integrazione");
    const mandateAsked = await api("GET", `/richiesta/${second}`);
    assert.equal(mandateAsked.json.data.integrazione.documenti[0].codice, "mandato");
    assert.match(await page.locator("#mandato-chiesto").innerText(), /già stato chiesto/);
    await checkAccessibility(page, "request page with the mandate asked");
    const mandate = await api("POST", `/richiesta/${second}/documenti`, {
      codice: "mandato",
      file: pdf("mandato firmato").toString("base64"),
    });
    assert.equal(mandate.status, 200, JSON.stringify(mandate.json));
    await page.goto(requestUrl);
    assert.equal(await page.locator("#mandato-mancante").count(), 0);
    await page.getByRole("button", { name: "Chiudi: visura evasa" }).click();
    await page.locator("#avviso").waitFor();
    assert.equal(await page.locator("#stato").innerText(), "Visura evasa");
    assert.deepEqual(violations, [], "the paperwork pages work under the CSP");

    // Logging out ends the session.
    await page.getByRole("button", { name: "Esci" }).click();
    await page.waitForURL(`${base}/backoffice/login`);
    await page.goto(`${base}/backoffice/coda`);
    await page.waitForURL(`${base}/backoffice/login`);

    // The admin edits the demo CAF on its provider page: the page passes axe-core's checks
    // (WCAG 2.1 A and AA) as shown, with errors next to the fields, and with the warnings of a
    // notice that lacks mandatory items.
    await login(adminEmail, adminPassword);
    await page.waitForURL(`${base}/backoffice/admin`);
    await page.getByRole("link", { name: "Fornitori", exact: true }).first().click();
    await page.waitForURL(`${base}/backoffice/admin/fornitori`);
    await page.getByRole("link", { name: "Dati, informativa e mandato di CAF Demo" }).click();
    await page.waitForURL(/\/backoffice\/admin\/fornitori\/prv_/);
    const providerPage = page.url();
    assert.equal(await page.getByLabel("Codice fiscale o partita IVA").inputValue(), "12345671205");
    await checkAccessibility(page, "provider page");

    await page.getByLabel("Codice fiscale o partita IVA").fill("12345678901");
    await page.getByLabel("Provincia").fill("Roma");
    await page.getByRole("button", { name: "Salva i dati" }).click();
    await page.locator("#errori").waitFor();
    assert.match(await page.locator("#errore-codice_fiscale").innerText(), /codice fiscale valido/);
    assert.match(await page.locator("#errore-provincia").innerText(), /sigla di una provincia/);
    assert.equal(await page.getByLabel("Provincia").inputValue(), "Roma", "the value is kept");
    await checkAccessibility(page, "provider page with errors");
    await page.screenshot({ path: join(output, "06-fornitore-errori.png"), fullPage: true });
    await page.getByLabel("Codice fiscale o partita IVA").fill("12345671205");
    await page.getByLabel("Provincia").fill("RM");
    await page.getByLabel("Telefono").fill("06 7654321");
    await page.getByRole("button", { name: "Salva i dati" }).click();
    await page.locator("#avviso").waitFor();
    assert.equal(await page.getByLabel("Telefono").inputValue(), "06 7654321");

    const notice = page.locator("#testo-informativa");
    await notice.fill("Titolare del trattamento: CAF Demo S.r.l., Via Roma 1, Roma.");
    await page
      .locator('form[action$="/informativa"]')
      .getByRole("button", { name: "Salva come nuova versione" })
      .click();
    await page.locator("#salvato-informativa").waitFor();
    const warnings = await page.locator("#avvisi-informativa").innerText();
    assert.match(warnings, /Garante/, "the missing items are named");
    assert.match(await page.locator("table").innerText(), /Informativa\s+2/);
    await checkAccessibility(page, "provider page with warnings");
    await page.screenshot({ path: join(output, "07-fornitore-avvisi.png"), fullPage: true });
    assert.ok(page.url().startsWith(providerPage));
    assert.deepEqual(violations, [], "the provider page works under the CSP");

    // The client reads the new notice.
    const provider = created.json.data.fornitore.id;
    const current = await api("GET", `/fornitori/${provider}/informativa`);
    assert.equal(current.json.data.versione, 2);

    console.log(`e2e: ok (request ${id}); screenshots in ${output}`);
  } finally {
    await browser?.close().catch(() => {});
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r() : server.once("exit", r)));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
