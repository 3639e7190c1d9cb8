#!/usr/bin/env python3
"""The whole flow with Python's standard library only and a test token: read the catalog, submit
a family status certificate that the sandbox's simulated operator will question (the magic value
`sandbox:integrazione`), answer its integration request, wait for the result, and download and
check it.

    SPORTELLO_URL=http://127.0.0.1:8080 SPORTELLO_TOKEN=spt_test_… python3 examples/python/flow.py
"""

import base64
import hashlib
import io
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile

URL = os.environ["SPORTELLO_URL"].rstrip("/")
TOKEN = os.environ["SPORTELLO_TOKEN"]
FAMIGLIA = "4c84e22bbabd5f25b0102bb3bfe82790"  # Certificato stato di famiglia


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}, error {body.get('error')}: {body.get('message')}")
        self.status = status
        self.code = body.get("error")
        self.details = body.get("details", [])


def call(method, path, body=None, headers=None):
    """One API call; returns the envelope's `data`, raises ApiError with the server's code."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)["data"]
    except urllib.error.HTTPError as e:
        raise ApiError(e.code, json.load(e)) from None


def wait_while(request_id, state, seconds=60):
    """Polls until the request leaves `state` (a callback would tell us instead of polling)."""
    for _ in range(seconds * 2):
        r = call("GET", f"/richiesta/{request_id}")
        if r["stato_richiesta"] != state:
            return r
        time.sleep(0.5)
    sys.exit(f"still {state} after {seconds} s")


def main():
    service = call("GET", f"/visure/{FAMIGLIA}")
    print(f"service: {service['nome_visura']}, €{service['prezzo_visura']}")
    fields = sorted(service["json_struttura"]["campi"].items(), key=lambda kv: int(kv[0][1:]))
    print("fields:", ", ".join(f"{k} {v['nome']}" for k, v in fields))

    form = {"$0": "sandbox:integrazione", "$1": "Rossi", "$2": "10-12-1985", "$3": "Italia",
            "$4": "Roma", "$5": "RM", "$6": "H501", "$7": "RSSMRA85T10H501A"}  # wrong check character
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

    waiting = wait_while(r["_id"], "In erogazione")
    print(f"operator asks: {waiting['stato_richiesta']} {waiting['integrazione']['campi']}")
    answered = call("PUT", f"/richiesta/{r['_id']}", {"json_visura.$0": "Mario"})
    print(f"answered: {answered['stato_richiesta']}")

    done = wait_while(r["_id"], "In erogazione")
    print(f"now: {done['stato_richiesta']}")
    doc = call("GET", f"/documento/{r['_id']}")
    archive = base64.b64decode(doc["file"])
    assert hashlib.sha256(archive).hexdigest() == doc["sha256"], "checksum mismatch"
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        names = z.namelist()
        assert z.read(names[0]).startswith(b"%PDF-"), "the document is not a PDF"
    print(f"documento: {doc['nome']}, {len(archive)} bytes, contains {names}")


if __name__ == "__main__":
    main()
