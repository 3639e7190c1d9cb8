#!/usr/bin/env python3
"""The whole flow with Python's standard library only: read the catalog, submit a family status
certificate, play the CAF operator (claim, ask for integration, result, close), answer the
integration as the client, and download and check the result.

    SPORTELLO_URL=http://127.0.0.1:8080 SPORTELLO_TOKEN=spt_test_… \\
    SPORTELLO_OPERATOR_TOKEN=spt_op_… python3 examples/python/flow.py
"""

import base64
import hashlib
import io
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
import zipfile

URL = os.environ["SPORTELLO_URL"].rstrip("/")
TOKEN = os.environ["SPORTELLO_TOKEN"]
OPERATOR_TOKEN = os.environ["SPORTELLO_OPERATOR_TOKEN"]
FAMIGLIA = "4c84e22bbabd5f25b0102bb3bfe82790"  # Certificato stato di famiglia


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}, error {body.get('error')}: {body.get('message')}")
        self.status = status
        self.code = body.get("error")
        self.details = body.get("details", [])


def call(method, path, body=None, token=TOKEN, headers=None):
    """One API call; returns the envelope's `data`, raises ApiError with the server's code."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)["data"]
    except urllib.error.HTTPError as e:
        raise ApiError(e.code, json.load(e)) from None


def operator(request_id, action, body=None):
    return call("POST", f"/operator/requests/{request_id}/{action}", body or {}, OPERATOR_TOKEN)


def main():
    service = call("GET", f"/visure/{FAMIGLIA}")
    print(f"service: {service['nome_visura']}, €{service['prezzo_visura']}")
    fields = sorted(service["json_struttura"]["campi"].items(), key=lambda kv: int(kv[0][1:]))
    print("fields:", ", ".join(f"{k} {v['nome']}" for k, v in fields))

    form = {"$0": "Mario", "$1": "Rossi", "$2": "10-12-1985", "$3": "Italia", "$4": "Roma",
            "$5": "RM", "$6": "H501", "$7": "RSSMRA85T10H501A"}  # wrong check character
    try:
        call("POST", "/richiesta", {"hash_visura": FAMIGLIA, "json_visura": form})
        sys.exit("a wrong codice fiscale was accepted")
    except ApiError as e:
        print(f"refused: HTTP {e.status} error {e.code}:",
              ", ".join(f"{d['campo']} {d['codice']}" for d in e.details))

    form["$7"] = "RSSMRA85T10H501O"
    key = str(uuid.uuid4())  # a retry with the same key creates nothing twice
    body = {"hash_visura": FAMIGLIA, "json_visura": form}
    r = call("POST", "/richiesta", body, headers={"Idempotency-Key": key})
    again = call("POST", "/richiesta", body, headers={"Idempotency-Key": key})
    assert again["_id"] == r["_id"], "the retry created a second request"
    print(f"submitted: {r['_id']} ({r['stato_richiesta']}), retry answered the same id")

    operator(r["_id"], "claim")
    operator(r["_id"], "integration", {"messaggio": "Confermare il comune di nascita", "campi": ["$4"]})
    waiting = call("GET", f"/richiesta/{r['_id']}")
    print(f"operator asks: {waiting['integrazione']['messaggio']} {waiting['integrazione']['campi']}")
    answered = call("PUT", f"/richiesta/{r['_id']}", {"json_visura.$4": "Roma"})
    print(f"answered: {answered['stato_richiesta']}")

    pdf = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
           b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    operator(r["_id"], "results", {"nome": "certificato.pdf", "file": base64.b64encode(pdf).decode()})
    operator(r["_id"], "close", {"esito": {"codice": "0", "info": "OK"}})

    doc = call("GET", f"/documento/{r['_id']}")
    archive = base64.b64decode(doc["file"])
    assert hashlib.sha256(archive).hexdigest() == doc["sha256"], "checksum mismatch"
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        names = z.namelist()
        assert z.read(names[0]) == pdf, "the document is not the operator's file"
    print(f"documento: {doc['nome']}, {len(archive)} bytes, contains {names}")


if __name__ == "__main__":
    main()
