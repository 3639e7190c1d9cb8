#!/usr/bin/env bash
# The whole flow with curl and a test token: read the catalog, submit a family status
# certificate, wait for the sandbox's simulated operator to process it, download the result.
#
#   SPORTELLO_URL=http://127.0.0.1:8080 SPORTELLO_TOKEN=spt_test_… bash examples/curl.sh
#
# Needs curl and python3 (only to read fields out of JSON answers).
set -euo pipefail

: "${SPORTELLO_URL:?set SPORTELLO_URL, e.g. http://127.0.0.1:8080}"
: "${SPORTELLO_TOKEN:?set SPORTELLO_TOKEN to a client token}"
S=$SPORTELLO_URL
HASH=4c84e22bbabd5f25b0102bb3bfe82790   # Certificato stato di famiglia

# Reads one value out of the JSON on stdin: json data._id
json() { python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[int(k)] if isinstance(v,list) else v[k]
print(v)' "$1"; }
client()   { curl -sS --fail-with-body -H "Authorization: Bearer $SPORTELLO_TOKEN" "$@"; }

echo "catalog: $(client "$S/visure" | json data.0.nome_visura) and more"
echo "service: $(client "$S/visure/$HASH" | json data.nome_visura), €$(client "$S/visure/$HASH" | json data.prezzo_visura)"

# A mistake is answered 412 with the field that failed.
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SPORTELLO_TOKEN" \
  -H 'Content-Type: application/json' -d "{\"hash_visura\":\"$HASH\",\"json_visura\":{\"\$0\":\"Mario\"}}" \
  "$S/richiesta")
echo "incomplete form: HTTP $code"

ID=$(client -H 'Content-Type: application/json' -H "Idempotency-Key: example-$(date +%s%N)" \
  -d @- "$S/richiesta" <<JSON | json data._id
{"hash_visura": "$HASH",
 "json_visura": {"\$0": "Mario", "\$1": "Rossi", "\$2": "1985-12-10", "\$3": "Italia",
                 "\$4": "Roma", "\$5": "RM", "\$6": "H501", "\$7": "RSSMRA85T10H501O"}}
JSON
)
echo "submitted: $ID ($(client "$S/richiesta/$ID" | json data.stato_richiesta))"

# The sandbox works test requests by itself within seconds; a live request would wait for a CAF.
for _ in $(seq 60); do
  state=$(client "$S/richiesta/$ID" | json data.stato_richiesta)
  [ "$state" = "In erogazione" ] || break
  sleep 1
done
echo "now: $state"

# The result: a zip, streamed, with its SHA-256 in a header.
OUT=$(mktemp -d)
client -D "$OUT/headers" -o "$OUT/documento.zip" "$S/documento/$ID/download"
expected=$(grep -i '^x-checksum-sha256:' "$OUT/headers" | tr -d '\r' | awk '{print $2}')
actual=$(sha256sum "$OUT/documento.zip" | awk '{print $1}')
[ "$expected" = "$actual" ] || { echo "checksum mismatch" >&2; exit 1; }
echo "documento: $(wc -c < "$OUT/documento.zip") bytes, sha256 verified"
rm -rf "$OUT"
